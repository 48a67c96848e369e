//! End-to-end tests of the `picharness` binary: whole runs against the
//! embedded reference Edge, good and with each fault switch, and the
//! evidence they leave. One test binary with modules keeps linking cheap.

mod support;

mod av_coturn;
mod av_evidence;
mod bundle;
mod catalogue;
mod certificates;
mod chaos;
mod ci_pipelines;
mod dns_serve;
mod docs;
mod evidence;
mod expected;
mod faults;
mod good_run;
mod html_report;
mod input_files;
mod kamailio;
mod load;
mod load_presence;
mod profiles;
mod proxy_transactions;
mod report_diff;
mod retries;
mod scenario_errors;
mod shards;
mod sip_lint;
mod staging_config;
mod terminal;
mod variants;
