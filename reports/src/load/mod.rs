//! The record of a `picharness load` run (`load.json`): what was asked,
//! one row per second, the totals, and the find-max steps. The types are
//! the contract; `results` holds them and their reader and writer.

pub mod html;
mod html_plot;
pub mod presence;
pub mod results;

pub use results::{
    FailureCounts, FindMaxStep, FindMaxSummary, LOAD_SCHEMA, LatencySummary, LoadCpu, LoadRecord,
    LoadSettings, LoadTotals, MixWeight, SecondRow, read_load_json, write_load_json,
};
