//! `picharness load`: federation traffic at a chosen rate (or number of
//! users) through the Edge, measured per second, with the harness's own
//! CPU time per transaction; `--find-max` searches the highest rate with
//! no failure. Against the embedded reference Edge (no configuration) or a
//! staging sandwich configuration, with the same destination allow-list as
//! `run`. Writes `load.json` in the report directory. See docs/load.md.
//!
//! Parts: `scenario` (the interface a scenario implements), `message`
//! (the MESSAGE scenarios), `mix`, `world` (the topology), `originate`
//! and `answer` (the connections), `control` (rate and stop), `event`,
//! `collect` (rows and totals), `find_max` (the search), `cpu`,
//! `progress`, `engine` (the whole run), `record` (load.json); `presence`
//! (the presence scenario: subscriptions, refreshes, NOTIFYs).

pub mod answer;
pub mod capture;
pub mod collect;
pub mod control;
pub mod cpu;
pub mod dial;
pub mod engine;
pub mod event;
pub mod find_max;
pub mod message;
pub mod mix;
pub mod originate;
pub mod presence;
pub mod progress;
pub mod record;
pub mod scenario;
pub mod world;

pub use answer::write_response;
pub use engine::{Drive, EngineSettings, FindMaxSettings};
pub use find_max::FindMax;
pub use mix::{MixEntry, known_scenarios, parse_mix};

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use picharness_simulators::destinations::restrict_destinations;
use picharness_simulators::tls::install_crypto_provider;

use crate::catalogue::load_catalogue;
use crate::config::load_config;
use crate::run::report_problems;
use crate::run::{EXIT_CANNOT_START, EXIT_FAILURES, EXIT_OK};
use crate::topology::allowed_destinations;

/// The highest rate a run may ask for unless `--max-rate` raises it.
pub const DEFAULT_MAX_RATE: f64 = 20_000.0;
/// The longest run unless `--max-duration` raises it (10 minutes).
pub const DEFAULT_MAX_DURATION_S: u64 = 600;

/// What `picharness load` was asked to do.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub scenarios_dir: PathBuf,
    pub report_dir: PathBuf,
    pub config: Option<PathBuf>,
    pub embedded_base: Ipv4Addr,
    /// `--mix` as given.
    pub mix: String,
    pub rate: Option<f64>,
    pub users: Option<u32>,
    pub ramp_s: f64,
    pub duration_s: f64,
    pub connections: u32,
    pub user_population: u32,
    pub timeout_ms: u64,
    pub find_max: bool,
    pub step_s: u64,
    pub resolution_percent: f64,
    pub max_rate: f64,
    pub max_duration_s: u64,
    pub pcap_seconds: u32,
    pub quiet: bool,
    /// `--subscriptions` and `--refresh` (seconds), for presence.
    pub subscriptions: u32,
    pub refresh_s: u64,
}

/// Checks the options against each other and the caps; the engine's
/// settings, or the sentence saying what is wrong.
pub fn settings(options: &LoadOptions) -> Result<EngineSettings, String> {
    let mix = parse_mix(&options.mix)?;
    if options.max_rate <= 0.0 || !options.max_rate.is_finite() {
        return Err("--max-rate must be a positive number".to_owned());
    }
    if options.duration_s <= 0.0 || !options.duration_s.is_finite() {
        return Err("--duration must be more than 0 seconds".to_owned());
    }
    if options.duration_s > options.max_duration_s as f64 {
        return Err(format!(
            "--duration {} s is above the cap of {} s; raise it explicitly with --max-duration {}",
            options.duration_s,
            options.max_duration_s,
            options.duration_s.ceil()
        ));
    }
    if !(0.0..=options.duration_s).contains(&options.ramp_s) {
        return Err(format!(
            "--ramp {} s must be between 0 and the duration ({} s)",
            options.ramp_s, options.duration_s
        ));
    }
    if !(1..=64).contains(&options.connections) {
        return Err("--connections must be 1 to 64 per provider".to_owned());
    }
    if options.user_population == 0 {
        return Err("--user-population must be at least 1".to_owned());
    }
    if !(100..=64_000).contains(&options.timeout_ms) {
        return Err("--timeout must be 100 to 64000 ms".to_owned());
    }
    let rate_ok = |rate: f64, flag: &str| -> Result<f64, String> {
        if !rate.is_finite() || rate <= 0.0 {
            return Err(format!(
                "{flag} must be more than 0 transactions per second"
            ));
        }
        if rate > options.max_rate {
            return Err(format!(
                "{flag} {rate} is above the cap of {}/s; raise it explicitly with --max-rate {}",
                options.max_rate,
                rate.ceil()
            ));
        }
        Ok(rate)
    };
    let drive = match (options.find_max, options.rate, options.users) {
        (_, Some(_), Some(_)) => return Err("give --rate or --users, not both".to_owned()),
        (true, _, Some(_)) => {
            return Err("--find-max steps the offered rate; it cannot run with --users".to_owned());
        }
        (true, rate, None) => {
            if !(1..=600).contains(&options.step_s) {
                return Err("--step must be 1 to 600 seconds".to_owned());
            }
            if !(0.1..=50.0).contains(&options.resolution_percent) {
                return Err("--resolution must be 0.1 to 50 percent".to_owned());
            }
            Drive::FindMax(FindMaxSettings {
                start: rate_ok(rate.unwrap_or(1000.0_f64.min(options.max_rate)), "--rate")?,
                cap: options.max_rate,
                step: Duration::from_secs(options.step_s),
                resolution: options.resolution_percent / 100.0,
                min_offered: 0.99,
            })
        }
        (false, Some(rate), None) => Drive::Rate {
            rate: rate_ok(rate, "--rate")?,
            ramp: Duration::from_secs_f64(options.ramp_s),
        },
        (false, None, Some(users)) => {
            if !(1..=100_000).contains(&users) {
                return Err("--users must be 1 to 100000".to_owned());
            }
            Drive::Users(users)
        }
        (false, None, None) => {
            return Err(
                "give --rate N (transactions per second), --users N or --find-max".to_owned(),
            );
        }
    };
    let presence = presence_settings(options, &mix, &drive)?;
    Ok(EngineSettings {
        mix,
        drive,
        duration: Duration::from_secs_f64(options.duration_s),
        connections: options.connections,
        users: options.user_population,
        timeout: Duration::from_millis(options.timeout_ms),
        progress: !options.quiet,
        pcap_seconds: options.pcap_seconds,
        presence,
    })
}

/// The most subscriptions a run may hold.
pub const MAX_SUBSCRIPTIONS: u32 = 1_000_000;

/// Presence's settings when the mix has it, checked against the drive.
fn presence_settings(
    options: &LoadOptions,
    mix: &[MixEntry],
    drive: &Drive,
) -> Result<Option<presence::PresenceSettings>, String> {
    if !mix.iter().any(|m| m.scenario.name() == presence::PRESENCE) {
        return Ok(None);
    }
    match drive {
        Drive::Rate { .. } => {}
        Drive::Users(_) => {
            return Err(
                "presence sets its subscriptions up at its share of --rate; it cannot run with --users"
                    .to_owned(),
            );
        }
        Drive::FindMax(_) => {
            return Err(
                "presence traffic follows --subscriptions and --refresh, not the offered rate; it cannot run with --find-max"
                    .to_owned(),
            );
        }
    }
    if !(1..=MAX_SUBSCRIPTIONS).contains(&options.subscriptions) {
        return Err(format!("--subscriptions must be 1 to {MAX_SUBSCRIPTIONS}"));
    }
    if !(1..=3600).contains(&options.refresh_s) {
        return Err("--refresh must be 1 to 3600 seconds".to_owned());
    }
    Ok(Some(presence::PresenceSettings {
        subscriptions: options.subscriptions,
        refresh: Duration::from_secs(options.refresh_s),
    }))
}

/// Runs `picharness load`; returns the exit code: 0 when every transaction
/// succeeded, 1 when some failed, 2 when the run could not start.
pub fn load(options: LoadOptions) -> u8 {
    let settings = match settings(&options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("picharness: {e}; nothing was sent");
            return EXIT_CANNOT_START;
        }
    };
    install_crypto_provider();
    let catalogue = match load_catalogue(&options.scenarios_dir) {
        Ok(c) => c,
        Err(errors) => {
            report_problems(&errors, "scenario files", "sent");
            return EXIT_CANNOT_START;
        }
    };
    let config = match &options.config {
        Some(path) => match load_config(path, &catalogue.profiles) {
            Ok(config) => Some(config),
            Err(errors) => {
                report_problems(&errors, "configuration", "sent");
                return EXIT_CANNOT_START;
            }
        },
        None => None,
    };
    if let Some(config) = &config {
        restrict_destinations(allowed_destinations(config));
    }
    if let Err(e) = std::fs::create_dir_all(&options.report_dir) {
        eprintln!(
            "picharness: report directory {}: {e}; nothing was sent",
            options.report_dir.display()
        );
        return EXIT_CANNOT_START;
    }
    let mut world =
        match world::World::start(config.as_ref(), catalogue.profiles, options.embedded_base) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("picharness: {e}; nothing was sent");
                return EXIT_CANNOT_START;
            }
        };
    let started_at = SystemTime::now();
    let sut_kind = world.kind;
    let sut_address = world.sut.external.to_string();
    let result = engine::run_engine(&mut world, &settings);
    let key_log = world.key_log.clone();
    world.stop();
    let result = match result {
        Ok(result) => result,
        Err(e) => {
            eprintln!("picharness: {e}");
            return EXIT_CANNOT_START;
        }
    };
    let record = record::load_record(
        &options,
        &settings,
        &result,
        started_at,
        sut_kind,
        &sut_address,
    );
    let mut record = record;
    let pcap = options.report_dir.join("load.pcapng");
    match result.capture.write(&pcap, &key_log) {
        Ok(true) => record.notes.push(format!(
            "the first {} s of the harness's connections are in {} (TLS keys inside)",
            options.pcap_seconds,
            pcap.display()
        )),
        Ok(false) => {}
        Err(e) => record.notes.push(e),
    }
    let path = options.report_dir.join("load.json");
    if let Err(e) = picharness_reports::load::write_load_json(&path, &record) {
        eprintln!("picharness: cannot write {}: {e}", path.display());
        return EXIT_CANNOT_START;
    }
    if let Err(e) = picharness_reports::load::html::write_load_html(&options.report_dir, &record) {
        eprintln!("picharness: {e}");
        return EXIT_CANNOT_START;
    }
    eprintln!("{}", record::closing_summary(&record, &path));
    if record.totals.failures.total > 0 {
        EXIT_FAILURES
    } else {
        EXIT_OK
    }
}
