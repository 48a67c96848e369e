//! End-to-end tests of the `picharness` binary: whole runs against the
//! embedded reference Edge, good and with each fault switch, and the
//! evidence they leave. One test binary with modules keeps linking cheap.

mod support;

mod av_coturn;
mod av_evidence;
mod catalogue;
mod evidence;
mod faults;
mod good_run;
mod scenario_errors;
