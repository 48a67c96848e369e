//! The picharness run record and the files made from it.
//!
//! `model` is the versioned serde model of `summary.json`, a contract other
//! tools rely on. `evidence` holds what a case captured (TCP byte streams with
//! timestamps, datagrams, TLS key log lines, SIP transcript entries). The
//! writers turn those into `summary.json`, `junit.xml`, `trace.pcapng`,
//! `transcript.txt`, `messages.json` and `index.html` (whose ladder diagrams
//! `ladder` lays out); `keylog` picks the TLS secrets a trace needs. This crate depends on no other picharness crate.

pub mod bounds;
pub mod budget;
pub mod bundle;
pub mod diff;
pub mod evidence;
pub mod html;
pub mod junit;
pub mod keylog;
pub mod ladder;
pub mod load;
pub mod merge;
pub mod messages;
pub mod model;
pub mod pcapng;
pub mod schema;
pub mod summary;
pub mod text;
pub mod transcript;

pub use evidence::{
    CaseEvidence, Datagram, Direction, Omitted, Segment, TcpStream, TranscriptEntry,
};
pub use model::{
    Attempt, CaseRecord, EdgeLiveness, EvidenceFiles, Expected, Finding, FindingKind, Invocation,
    MergeInfo, RunRecord, SCHEMA_VERSION, SutInfo, ToolInfo, Totals, Verdict, redact_argv,
};
