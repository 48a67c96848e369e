//! What a run against a configured SUT will do, said before it starts:
//! the topology mode, which cases apply (and why the others are skipped)
//! and, for `--dry-run`, every address and port the harness would bind or
//! contact.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use libtest_mimic::{Arguments, Trial};

use crate::applicability::{Setting, missing_feature};
use crate::config::{DnsConfig, StagingConfig};
use crate::profile::ProviderProfile;
use crate::scenario::Case;
use crate::shard::Shard;
use crate::topology::{AvOptions, allowed_destinations};

/// The tag of the robustness family: hostile input meant to disturb the
/// Edge. A run includes these cases only when asked (`--include-robustness`).
pub const ROBUSTNESS_TAG: &str = "robustness";

/// Why a run leaves the robustness cases out, as the plan and the dry run say.
pub const ROBUSTNESS_EXCLUDED: &str = "robustness cases not run: they send hostile input meant to disturb the Edge (a staging Edge may stop serving real peers); --include-robustness runs them";

/// What a run will do with each case: the one plan both `--dry-run` and
/// the run itself follow.
pub struct CasePlan<'a> {
    /// The cases the run executes, in catalogue order.
    pub applying: Vec<&'a Case>,
    /// The cases the run records as `skipped`, with the reason.
    pub skipped: Vec<(&'a Case, String)>,
    /// How many cases the filter, `--skip` and `--shard` leave out (not in
    /// the report at all).
    pub left_out: usize,
    /// How many robustness cases the selection holds that the run leaves
    /// out because `--include-robustness` was not given (not in the report).
    pub robustness_excluded: usize,
}

/// Which cases the command line selects: `--shard` and libtest's filter,
/// `--exact`, `--skip` and `--ignored`.
pub struct Selection<'a> {
    pub shard: Option<Shard>,
    pub args: &'a Arguments,
    /// `--include-robustness`: run the robustness family too.
    pub include_robustness: bool,
}

impl Selection<'_> {
    fn selects(&self, case: &Case, in_shard: &BTreeSet<&str>) -> bool {
        // libtest-mimic's own rule, on a trial named like the run's.
        in_shard.contains(case.id.as_str())
            && !self
                .args
                .is_filtered_out(&Trial::test(case.id.clone(), || Ok(())))
    }

    /// The selection in words, for the message when it selects nothing.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(filter) = &self.args.filter {
            let exact = if self.args.exact { " (--exact)" } else { "" };
            parts.push(format!("filter {filter:?}{exact}"));
        }
        for skip in &self.args.skip {
            parts.push(format!("--skip {skip:?}"));
        }
        if self.args.ignored {
            parts.push("--ignored (no case is marked ignored)".to_owned());
        }
        if let Some(shard) = self.shard {
            parts.push(format!("--shard {shard}"));
        }
        if !self.include_robustness {
            parts.push("robustness cases need --include-robustness".to_owned());
        }
        if parts.is_empty() {
            "the scenario directory holds no case".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

impl<'a> CasePlan<'a> {
    /// Plans `cases` for a run with `selection` in `setting`; `profiles`
    /// are the provider profiles (their features decide some cases).
    pub fn new(
        cases: &'a [Case],
        selection: &Selection<'_>,
        setting: &Setting,
        profiles: &[ProviderProfile],
    ) -> Self {
        let sharded = selection.shard.map(|shard| shard.select(cases));
        let in_shard: BTreeSet<&str> = match &sharded {
            Some(selected) => cases
                .iter()
                .filter(|c| selected.iter().any(|s| s.id == c.id))
                .map(|c| c.id.as_str())
                .collect(),
            None => cases.iter().map(|c| c.id.as_str()).collect(),
        };
        let mut plan = Self {
            applying: Vec::new(),
            skipped: Vec::new(),
            left_out: 0,
            robustness_excluded: 0,
        };
        for case in cases {
            if !selection.selects(case, &in_shard) {
                plan.left_out += 1;
                continue;
            }
            if !selection.include_robustness && is_robustness(case) {
                plan.robustness_excluded += 1;
                continue;
            }
            match setting
                .skip_reason(case)
                .or_else(|| missing_feature(profiles, case))
            {
                Some(reason) => plan.skipped.push((case, reason)),
                None => plan.applying.push(case),
            }
        }
        plan
    }

    /// The plan's line about the robustness family, when it left some out.
    pub fn robustness_note(&self) -> Option<String> {
        (self.robustness_excluded > 0)
            .then(|| format!("{} {ROBUSTNESS_EXCLUDED}", self.robustness_excluded))
    }

    /// Whether the selection left no case at all.
    pub fn is_empty(&self) -> bool {
        self.applying.is_empty() && self.skipped.is_empty()
    }

    /// The planned skip reason of `id`, `None` when it runs.
    pub fn skip_reason(&self, id: &str) -> Option<&str> {
        self.skipped
            .iter()
            .find(|(case, _)| case.id == id)
            .map(|(_, reason)| reason.as_str())
    }

    /// Every selected case (applying or skipped), in catalogue order.
    pub fn selected(&self, cases: &'a [Case]) -> Vec<&'a Case> {
        cases
            .iter()
            .filter(|c| {
                self.applying.iter().any(|a| a.id == c.id)
                    || self.skipped.iter().any(|(s, _)| s.id == c.id)
            })
            .collect()
    }
}

/// Whether `case` belongs to the robustness family.
pub fn is_robustness(case: &Case) -> bool {
    case.tags.iter().any(|t| t == ROBUSTNESS_TAG)
}

/// The setting a run plays in: the configuration (embedded when `None`)
/// and the A/V flags. Each part names what set it: the configuration key
/// in its file, or the flag, only when the user passed it.
pub fn run_setting(config: Option<&StagingConfig>, av: &AvOptions) -> Setting {
    let mut setting =
        match config {
            Some(config) => {
                let file = config.source.display().to_string();
                let (dialects, origin) = match &config.av {
                    Some(av) => (
                        av.dialects,
                        format!("av.dialects in {file}; [\"ms-turn\"] when the key is absent"),
                    ),
                    None => (
                        crate::topology::AvDialects::BOTH,
                        format!("A/V is off in {file}"),
                    ),
                };
                crate::applicability::Setting {
                    has_pool: config.mode == crate::config::TopologyMode::Sandwich,
                    judges_dns: matches!(config.dns, DnsConfig::External { .. }),
                    providers: Some(config.providers.keys().cloned().collect()),
                    config_file: Some(file.clone()),
                    av_off: config.av.is_none().then(|| {
                        format!("there is no [av] table, or av.enabled = false, in {file}")
                    }),
                    dialects,
                    dialects_origin: origin,
                    pool_members: (config.sut.external.len(), format!("sut.external in {file}")),
                    crl_off: config.crl_listen.is_none().then(|| {
                        format!("there is no [crl] table with a listen address in {file}")
                    }),
                }
            }
            None => Setting::everything(),
        };
    if av.disabled {
        setting.av_off = Some("--no-av".to_owned());
    }
    if let Some(dialects) = av.dialects {
        setting.dialects = dialects;
        let name = match (dialects.standard, dialects.ms_turn) {
            (true, false) => "standard",
            (false, true) => "ms-turn",
            _ => "both",
        };
        setting.dialects_origin = format!("--av-dialect {name}");
    }
    setting
}

/// The header printed before a configured run: mode, SUT, DNS, and which
/// cases apply (`every_case`: one line per case, as `--dry-run` shows).
pub fn describe_plan(config: &StagingConfig, plan: &CasePlan<'_>, every_case: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "picharness: {} mode, configuration {}",
        config.mode.name(),
        config.source.display()
    );
    let externals: Vec<String> = config.sut.external.iter().map(|a| a.to_string()).collect();
    let _ = writeln!(
        out,
        "  SUT: Access Edge {} at {}; SIP domains {}",
        config.sut.access_edge_fqdn,
        externals.join(", "),
        config.sut.sip_domains.join(", ")
    );
    match &config.dns {
        DnsConfig::InProcess { listen } => {
            let _ = writeln!(
                out,
                "  DNS: the harness serves the zones itself on {listen} (edge.dns.* cases are skipped)"
            );
        }
        DnsConfig::External { server } => {
            let _ = writeln!(out, "  DNS: judged at {server}");
        }
    }
    let _ = writeln!(
        out,
        "  cases: {} apply, {} skipped, {} left out by the filter, --skip or --shard",
        plan.applying.len(),
        plan.skipped.len(),
        plan.left_out
    );
    if let Some(note) = plan.robustness_note() {
        let _ = writeln!(out, "    {note}");
    }
    if every_case {
        for case in &plan.applying {
            let _ = writeln!(out, "    run   {}", case.id);
        }
        for (case, reason) in &plan.skipped {
            let _ = writeln!(out, "    skip  {}: {reason}", case.id);
        }
    } else {
        let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, reason) in &plan.skipped {
            *by_reason.entry(reason.as_str()).or_default() += 1;
        }
        for (reason, count) in by_reason {
            let _ = writeln!(out, "    {count:>3} skipped: {reason}");
        }
    }
    out
}

/// Every address and port a run with `config` binds and may contact.
pub fn describe_addresses(config: &StagingConfig) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  the harness binds:");
    for (name, provider) in &config.providers {
        let _ = writeln!(
            out,
            "    {:<24} providers.{name} (TCP, TLS listener; connects out from this address; DNS name {} -> {})",
            provider.listen.to_string(),
            provider.profile.federation_fqdn,
            provider.advertise
        );
    }
    if let Some(pool) = &config.pool {
        let _ = writeln!(
            out,
            "    {:<24} pool ({}; TCP, TLS listener)",
            pool.listen.to_string(),
            pool.fqdn
        );
    }
    if let DnsConfig::InProcess { listen } = &config.dns {
        let _ = writeln!(
            out,
            "    {:<24} dns.listen (UDP and TCP)",
            listen.to_string()
        );
    }
    if let Some(listen) = &config.crl_listen {
        let _ = writeln!(
            out,
            "    {:<24} crl.listen (TCP, HTTP: the CRLs of the provider certificates)",
            listen.to_string()
        );
    }
    if let Some(av) = &config.av {
        let _ = writeln!(
            out,
            "    {:<24} av.client_ip (UDP/TCP, ephemeral ports)",
            av.client_ip.to_string()
        );
        let _ = writeln!(
            out,
            "    {:<24} av.media_peer_ip (UDP, ephemeral ports)",
            av.media_peer_ip.to_string()
        );
    }
    let _ = writeln!(
        out,
        "  the harness sends only to (anything else is refused before a packet is sent):"
    );
    for line in allowed_destinations(config).describe() {
        let _ = writeln!(out, "    {line}");
    }
    out
}
