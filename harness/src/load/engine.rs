//! The engine: starts the answering listeners and the originating
//! connections on the load runtime, drives the offered rate (ramp and
//! hold, closed-loop users, or the find-max steps), collects the events
//! into one row per second with a progress line, and stops cleanly on
//! the duration, the end of the search or Ctrl-C (a second Ctrl-C
//! abandons what is still outstanding).
//!
//! How connections are shared: each provider peer opens `connections`
//! MTLS connections to the Edge's external listener and the pool as many
//! to its internal listener; a scenario's share of the rate (its weight
//! over the mix's total) is split evenly over the connections of its
//! origin, and each connection takes its scenarios in weighted turns.
//! The Edge's own connections (to the pool, to each provider) are its
//! business; the answering listeners take whatever it opens.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use picharness_reports::load::presence::PresenceSummary;
use picharness_reports::load::{FindMaxStep, FindMaxSummary, SecondRow};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use super::answer::serve_answers;
use super::capture::Capture;
use super::collect::{Collector, RunFigures};
use super::control::Control;
use super::cpu::{CpuSample, sample};
use super::event::Event;
use super::find_max::{FindMax, backlog_allowance, criterion_text};
use super::mix::MixEntry;
use super::originate::{Originator, Shared, run_originator};
use super::presence::{DriverContext, PresenceSettings, start_presence};
use super::progress::progress_line;
use super::scenario::{Origin, Scenario};
use super::world::World;

/// How the offered load is set.
#[derive(Debug, Clone, Copy)]
pub enum Drive {
    /// An open loop at `rate`/s, reached linearly over `ramp`.
    Rate { rate: f64, ramp: Duration },
    /// A closed loop: each of `users` keeps one transaction outstanding.
    Users(u32),
    /// The find-max search.
    FindMax(FindMaxSettings),
}

/// The find-max search's settings.
#[derive(Debug, Clone, Copy)]
pub struct FindMaxSettings {
    pub start: f64,
    pub cap: f64,
    pub step: Duration,
    /// The interval at which the search ends, as a fraction of the rate.
    pub resolution: f64,
    /// The attempts a step needs, as a fraction of rate x step.
    pub min_offered: f64,
}

/// What the engine needs.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub mix: Vec<MixEntry>,
    pub drive: Drive,
    pub duration: Duration,
    pub connections: u32,
    pub users: u32,
    pub timeout: Duration,
    /// Print the progress line on stderr once a second.
    pub progress: bool,
    /// Capture the first N seconds (0: none).
    pub pcap_seconds: u32,
    /// `--subscriptions` and `--refresh`, when the mix has presence.
    pub presence: Option<PresenceSettings>,
}

/// What a run produced.
#[derive(Debug)]
pub struct EngineResult {
    pub rows: Vec<SecondRow>,
    pub figures: RunFigures,
    pub cpu_start: CpuSample,
    pub cpu_end: CpuSample,
    pub find_max: Option<FindMaxSummary>,
    pub stopped: String,
    pub notes: Vec<String>,
    pub max_open_connections: u64,
    /// Seconds from the start to the end of sending.
    pub sending_s: f64,
    pub capture: Arc<Capture>,
    /// What the presence scenario did, when the mix had it.
    pub presence: Option<PresenceSummary>,
}

/// Runs the load on a runtime of its own; `world` stays up meanwhile.
pub fn run_engine(world: &mut World, settings: &EngineSettings) -> Result<EngineResult, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("pich-load")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = runtime.block_on(drive(world, settings));
    runtime.shutdown_background();
    result
}

async fn drive(world: &mut World, settings: &EngineSettings) -> Result<EngineResult, String> {
    let cpu_start = sample();
    let control = Arc::new(Control::new(Instant::now()));
    let capture = Arc::new(Capture::new(control.start, settings.pcap_seconds));
    let (events_tx, mut events_rx) = mpsc::unbounded_channel::<Vec<Event>>();
    let total_weight: u32 = settings.mix.iter().map(|m| m.weight).sum();

    // A scenario that drives its own connections (presence) starts here.
    let mut presence = None;
    let mut own_tasks = Vec::new();
    for (i, m) in settings.mix.iter().enumerate() {
        if m.scenario.origin() != Origin::Own {
            continue;
        }
        let Some(presence_settings) = settings.presence else {
            return Err(format!("{} needs its settings", m.scenario.name()));
        };
        let (run, task) = start_presence(
            world,
            presence_settings,
            DriverContext {
                control: control.clone(),
                events: events_tx.clone(),
                kind: u8::try_from(i).unwrap_or(u8::MAX),
                share: f64::from(m.weight) / f64::from(total_weight.max(1)),
                connections: settings.connections,
                timeout: settings.timeout,
                capture: capture.clone(),
            },
        )?;
        own_tasks.push(task);
        presence = Some(run);
    }
    let all: Arc<Vec<Arc<dyn Scenario>>> = Arc::new(
        settings
            .mix
            .iter()
            .map(|m| match (&presence, m.scenario.origin()) {
                (Some(run), Origin::Own) => run.answers(),
                _ => m.scenario.clone(),
            })
            .collect(),
    );

    // The answering listeners.
    let mut background = Vec::new();
    for role in std::iter::once(&world.pool).chain(world.peers.iter()) {
        let listener = role
            .listener
            .try_clone()
            .and_then(tokio::net::TcpListener::from_std)
            .map_err(|e| format!("{}: cannot listen: {e}", role.name))?;
        background.push(tokio::spawn(serve_answers(
            listener,
            TlsAcceptor::from(role.server.clone()),
            role.name.clone(),
            all.clone(),
            control.clone(),
            capture.clone(),
        )));
    }

    // The originating connections.
    let shared = Arc::new(Shared {
        control: control.clone(),
        providers: world.providers(),
        sut_domain: world.sut.sip_domain.clone(),
        users: settings.users,
        timeout: settings.timeout,
        nonce: format!("{:06x}", rand::random::<u32>() & 0x00ff_ffff),
        events: events_tx,
        capture: capture.clone(),
    });
    let of_origin = |origin: Origin| -> Vec<(u8, Arc<dyn Scenario>, u32)> {
        settings
            .mix
            .iter()
            .enumerate()
            .filter(|(_, m)| m.scenario.origin() == origin)
            .map(|(i, m)| {
                (
                    u8::try_from(i).unwrap_or(u8::MAX),
                    m.scenario.clone(),
                    m.weight,
                )
            })
            .collect()
    };
    let mut originators = Vec::new();
    let mut next_id = 0u32;
    let sides = [
        (Origin::Provider, world.peers.iter().collect::<Vec<_>>()),
        (Origin::Pool, vec![&world.pool]),
    ];
    for (origin, roles) in sides {
        let scenarios = of_origin(origin);
        if scenarios.is_empty() {
            continue;
        }
        let weight: u32 = scenarios.iter().map(|s| s.2).sum();
        let fraction = f64::from(weight) / f64::from(total_weight.max(1));
        let count = roles.len() as u32 * settings.connections.max(1);
        let (remote, server_name) = match origin {
            Origin::Provider => (world.sut.external, world.sut.access_edge_fqdn.clone()),
            Origin::Pool | Origin::Own => (world.sut.internal, world.sut.internal_fqdn.clone()),
        };
        let window = match settings.drive {
            Drive::Users(users) => {
                let side_users = (f64::from(users) * fraction).round() as u32;
                Some(side_users.div_ceil(count).max(1))
            }
            _ => None,
        };
        let first_id = next_id;
        for role in roles {
            let local_ip = role
                .listener
                .local_addr()
                .map_err(|e| format!("{}: {e}", role.name))?
                .ip();
            for _ in 0..settings.connections.max(1) {
                let index = next_id - first_id;
                next_id += 1;
                originators.push(tokio::spawn(run_originator(
                    shared.clone(),
                    Originator {
                        id: next_id,
                        local_fqdn: role.fqdn.clone(),
                        provider: role.users.clone(),
                        local_ip,
                        remote,
                        server_name: server_name.clone(),
                        tls: role.client.clone(),
                        scenarios: scenarios.clone(),
                        fraction,
                        index,
                        count,
                        window,
                    },
                )));
            }
        }
    }
    drop(shared);

    // Ctrl-C: the first stops, the second abandons.
    let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let control = control.clone();
        let interrupted = interrupted.clone();
        background.push(tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, std::sync::atomic::Ordering::Relaxed);
                control.stop();
                eprintln!("\npicharness: stopping (Ctrl-C); waiting for outstanding transactions, Ctrl-C again to abandon them");
                if tokio::signal::ctrl_c().await.is_ok() {
                    control.abandon();
                }
            }
        }));
    }

    let kinds: Vec<&'static str> = settings.mix.iter().map(|m| m.scenario.name()).collect();
    let mut state = Loop {
        collector: Collector::new(kinds),
        rows: Vec::new(),
        next_second: 0,
        last_cpu: cpu_start,
        control: control.clone(),
        progress: settings.progress,
        users_mode: matches!(settings.drive, Drive::Users(_)),
    };
    let mut find_max_summary = None;
    let stopped;
    match settings.drive {
        Drive::Rate { rate, ramp } => {
            control.set_step(1);
            loop {
                let elapsed = control.elapsed();
                if control.is_stopping() || elapsed >= settings.duration {
                    break;
                }
                let ramped = if ramp.is_zero() {
                    rate
                } else {
                    rate * (elapsed.as_secs_f64() / ramp.as_secs_f64()).min(1.0)
                };
                control.set_rate(ramped);
                state.tick(&mut events_rx).await;
            }
            stopped = if interrupted.load(std::sync::atomic::Ordering::Relaxed) {
                "interrupted (Ctrl-C)"
            } else {
                "duration reached"
            };
        }
        Drive::Users(_) => {
            control.set_step(1);
            while !control.is_stopping() && control.elapsed() < settings.duration {
                state.tick(&mut events_rx).await;
            }
            stopped = if interrupted.load(std::sync::atomic::Ordering::Relaxed) {
                "interrupted (Ctrl-C)"
            } else {
                "duration reached"
            };
        }
        Drive::FindMax(fm) => {
            let (summary, why) = find_max(&mut state, &mut events_rx, fm, settings).await;
            find_max_summary = Some(summary);
            stopped = why;
        }
    }
    let sending_s = control.elapsed().as_secs_f64();
    control.set_rate(0.0);
    control.stop();
    // Wait for the originators to settle what is outstanding (each gives
    // up after the timeout); ticking keeps the rows and the progress going.
    let presence_running = !own_tasks.is_empty();
    originators.extend(own_tasks);
    // Presence tears its subscriptions down at no less than its minimum
    // pace: the longest that can take.
    let teardown = settings
        .presence
        .filter(|_| presence_running)
        .map_or(Duration::ZERO, |p| p.teardown_time(0.0));
    let settle_by = Instant::now() + settings.timeout + Duration::from_secs(2) + teardown;
    while originators.iter().any(|o| !o.is_finished()) {
        if Instant::now() >= settle_by {
            control.abandon();
        }
        if Instant::now() >= settle_by + Duration::from_secs(2) {
            break;
        }
        state.tick(&mut events_rx).await;
    }
    for o in &originators {
        o.abort();
    }
    for task in &background {
        task.abort();
    }
    while let Ok(batch) = events_rx.try_recv() {
        state.collector.absorb(&batch);
    }
    state.close_until(u32::MAX);
    let cpu_end = sample();
    Ok(EngineResult {
        figures: state.collector.run_figures(),
        rows: state.rows,
        cpu_start,
        cpu_end,
        find_max: find_max_summary,
        stopped: stopped.to_owned(),
        notes: control.notes(),
        max_open_connections: control.max_open_connections(),
        sending_s,
        capture,
        presence: presence.map(|p| p.summary()),
    })
}

/// How long find-max warms the Edge up before its first step.
const WARM_UP: Duration = Duration::from_secs(2);

/// The controller's bookkeeping between ticks.
struct Loop {
    collector: Collector,
    rows: Vec<SecondRow>,
    next_second: u32,
    last_cpu: CpuSample,
    control: Arc<Control>,
    progress: bool,
    users_mode: bool,
}

/// How long after a second ends its row is closed: the connections hand
/// over their events every 100 ms.
const ROW_LAG: Duration = Duration::from_millis(300);

impl Loop {
    /// Waits 50 ms, takes in the events, closes the seconds that are over.
    async fn tick(&mut self, events: &mut mpsc::UnboundedReceiver<Vec<Event>>) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        while let Ok(batch) = events.try_recv() {
            self.collector.absorb(&batch);
        }
        let elapsed = self.control.elapsed().saturating_sub(ROW_LAG);
        let done = u32::try_from(elapsed.as_secs()).unwrap_or(u32::MAX);
        self.close_until(done);
    }

    /// Closes every second before `end` (only those with traffic when
    /// `end` is `u32::MAX`, at the end of the run).
    fn close_until(&mut self, end: u32) {
        let end = if end == u32::MAX {
            let last = self.collector.run_figures().last_ms / 1000 + 1;
            last.max(self.next_second)
        } else {
            end
        };
        while self.next_second < end {
            let t = self.next_second;
            let cpu = sample();
            let world = cpu.world_us.saturating_sub(self.last_cpu.world_us);
            let process = cpu.process_us.saturating_sub(self.last_cpu.process_us);
            self.last_cpu = cpu;
            let offered = if self.users_mode {
                f64::NAN
            } else {
                self.control.rate()
            };
            let mut row = self.collector.close_second(
                t,
                offered,
                self.control.open_connections(),
                process.saturating_sub(world),
                Some(world),
            );
            if self.users_mode {
                row.offered = row.attempts as f64;
            }
            if self.progress {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{}", progress_line(&row, self.collector.outstanding()));
            }
            self.rows.push(row);
            self.next_second += 1;
        }
    }
}

/// Runs the find-max steps.
async fn find_max(
    state: &mut Loop,
    events: &mut mpsc::UnboundedReceiver<Vec<Event>>,
    fm: FindMaxSettings,
    settings: &EngineSettings,
) -> (FindMaxSummary, &'static str) {
    let control = state.control.clone();
    let mut search = FindMax::new(fm.start, fm.cap, fm.resolution);
    let mut steps = Vec::new();
    let mut step_id: u16 = 0;
    let mut why = "find-max done";
    // A warm-up, not judged (step 0): the Edge opens its connections to
    // the pool and the providers before the first step counts, as a cold
    // Edge may queue or refuse what arrives while it connects.
    control.set_step(0);
    control.set_rate((fm.start / 10.0).clamp(1.0, 100.0));
    let warm_until = Instant::now() + WARM_UP;
    while Instant::now() < warm_until && !control.is_stopping() {
        state.tick(events).await;
    }
    control.set_rate(0.0);
    let settle_by = Instant::now() + settings.timeout;
    while Instant::now() < settle_by && !state.collector.step(0).settled() {
        state.tick(events).await;
    }
    while let Some(rate) = search.next_rate() {
        let needed = fm.step + settings.timeout + Duration::from_secs(2);
        if control.elapsed() + needed > settings.duration {
            control.note(format!(
                "find-max stopped at the duration limit of {} s; raise --duration (and --max-duration) for a narrower result",
                settings.duration.as_secs()
            ));
            why = "duration reached during find-max";
            break;
        }
        step_id += 1;
        control.set_step(step_id);
        let start_ms = control.ms(Instant::now());
        control.set_rate(rate);
        let step_end = Instant::now() + fm.step;
        while Instant::now() < step_end && !control.is_stopping() {
            state.tick(events).await;
        }
        control.set_rate(0.0);
        let settle_by = Instant::now() + settings.timeout + Duration::from_secs(1);
        while Instant::now() < settle_by && !state.collector.step(step_id).settled() {
            state.tick(events).await;
        }
        let figures = state.collector.step(step_id);
        let span_s = (f64::from(figures.last_outcome_ms.saturating_sub(start_ms)) / 1000.0)
            .max(fm.step.as_secs_f64());
        let achieved = figures.successes as f64 / span_s;
        let allowance = fm.step + backlog_allowance(fm.step);
        let kept_up = u64::from(figures.last_outcome_ms.saturating_sub(start_ms))
            <= u64::try_from(allowance.as_millis()).unwrap_or(u64::MAX);
        let passed = figures.settled()
            && figures.failures == 0
            && figures.attempts as f64 >= fm.min_offered * rate * fm.step.as_secs_f64()
            && kept_up;
        if control.is_stopping() {
            why = "interrupted (Ctrl-C)";
            break;
        }
        if state.progress {
            eprintln!(
                "find-max step {step_id}: offered {rate:.0}/s, achieved {achieved:.0}/s, {} failures: {}",
                figures.failures,
                if passed { "pass" } else { "fail" }
            );
        }
        steps.push(FindMaxStep {
            offered: rate,
            attempts: figures.attempts,
            successes: figures.successes,
            failures: figures.failures,
            achieved,
            passed,
        });
        search.record(rate, passed);
        // A quiet second between steps (RFC 7502 §4.1).
        let quiet = Instant::now() + Duration::from_secs(1);
        while Instant::now() < quiet {
            state.tick(events).await;
        }
    }
    (
        FindMaxSummary {
            criterion: criterion_text(fm.step, fm.min_offered),
            steps,
            max_rate: search.max_rate(),
        },
        why,
    )
}
