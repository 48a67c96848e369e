//! Which cases apply to the SUT a run is pointed at, and why the others do
//! not. A case that cannot be judged in this setting is `skipped` with the
//! reason, never guessed: in external-only mode nothing can see what the
//! Edge delivers inside, a provider the configuration disables has no peer,
//! and DNS the harness serves itself says nothing about the SUT.

use std::collections::BTreeSet;

use crate::profile::ProviderProfile;
use crate::scenario::{Action, Actor, Case, CheckKind};
use crate::topology::AvDialects;

/// What the run's setting offers the cases. Each part that can rule cases
/// out carries what set it (a configuration key in a file, or a flag the
/// user passed), so a skip reason names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The harness plays the internal pool (embedded, or sandwich mode).
    pub has_pool: bool,
    /// The DNS the peers use is the SUT's own (embedded reference zone or
    /// a real server), so the `edge.dns.*` checks judge something.
    pub judges_dns: bool,
    /// The provider peers the run has; `None` means every profile.
    pub providers: Option<BTreeSet<String>>,
    /// The configuration file the run reads, named in reasons.
    pub config_file: Option<String>,
    /// `Some(what turned it off)` when A/V is off.
    pub av_off: Option<String>,
    /// The dialects the A/V Edge is judged in.
    pub dialects: AvDialects,
    /// What chose `dialects` (a configuration key or a flag).
    pub dialects_origin: String,
    /// How many Access Edge pool member addresses the run knows, and where
    /// they are named.
    pub pool_members: (usize, String),
    /// `Some(why)` when the harness serves no CRL (no `[crl]` table), so
    /// the revocation cases cannot run.
    pub crl_off: Option<String>,
}

impl Setting {
    /// Everything available: the embedded topology.
    pub fn everything() -> Self {
        Self {
            has_pool: true,
            judges_dns: true,
            providers: None,
            config_file: None,
            av_off: None,
            dialects: AvDialects::BOTH,
            dialects_origin: "the embedded A/V Edge speaks both".to_owned(),
            pool_members: (2, "the embedded topology".to_owned()),
            crl_off: None,
        }
    }

    /// Why `case` does not apply here, or `None` when it does.
    pub fn skip_reason(&self, case: &Case) -> Option<String> {
        if let Some(enabled) = &self.providers
            && let Some(missing) = case.providers.iter().find(|p| !enabled.contains(*p))
        {
            let file = self.config_file.as_deref().unwrap_or("the configuration");
            return Some(format!(
                "not applicable: the {missing} peer is disabled in {file} (no [providers.{missing}] table, or enabled = false)"
            ));
        }
        if !self.has_pool && uses_pool(case) {
            return Some(
                "not applicable in external-only mode: the case needs the internal pool, which the real pool plays here"
                    .to_owned(),
            );
        }
        if !self.judges_dns && judges_dns(case) {
            return Some(
                "not applicable: the harness serves this DNS zone itself (dns.server = \"in-process\"); point dns.server at the real DNS to judge it"
                    .to_owned(),
            );
        }
        if uses_av(case)
            && let Some(off) = &self.av_off
        {
            return Some(format!("not applicable: A/V is off for this SUT ({off})"));
        }
        let (members, named_in) = &self.pool_members;
        if *members < 2 && has_check(case, CheckKind::CertificatePoolMembers) {
            return Some(format!(
                "not applicable: {named_in} names {members} Access Edge pool member address(es); comparing certificates needs at least two"
            ));
        }
        if let Some(off) = &self.crl_off
            && (has_check(case, CheckKind::RefusesRevokedPeer)
                || has_check(case, CheckKind::RefusesRevokedImpostor))
        {
            return Some(format!(
                "not applicable: the harness serves no CRL, so it cannot present a revoked certificate ({off})"
            ));
        }
        let (standard, ms_turn) = dialects_used(case);
        if standard && !self.dialects.standard {
            return Some(format!(
                "not applicable: the A/V Edge is judged in MS-TURN only, not standard TURN ({})",
                self.dialects_origin
            ));
        }
        if ms_turn && !self.dialects.ms_turn {
            return Some(format!(
                "not applicable: the A/V Edge is judged in standard TURN only, not MS-TURN ({})",
                self.dialects_origin
            ));
        }
        None
    }
}

/// Why `case` cannot run with these provider profiles: a profile it names
/// lacks a feature it needs.
pub fn missing_feature(profiles: &[ProviderProfile], case: &Case) -> Option<String> {
    case.providers.iter().find_map(|provider| {
        let profile = profiles.iter().find(|p| &p.name == provider)?;
        let missing = case.needs.iter().find(|need| !profile.has_feature(need))?;
        Some(format!(
            "not applicable: the {} profile does not list the {missing} feature this case needs",
            profile.display_name
        ))
    })
}

fn has_check(case: &Case, kind: CheckKind) -> bool {
    case.steps
        .iter()
        .any(|step| step.action == Action::Check(kind))
}

/// Whether the case's checks speak standard STUN/TURN and MS-TURN.
fn dialects_used(case: &Case) -> (bool, bool) {
    let mut standard = false;
    let mut ms_turn = false;
    for step in &case.steps {
        if let Action::Check(kind) = &step.action {
            match kind.av_dialect() {
                Some(AvDialect::Standard) => standard = true,
                Some(AvDialect::MsTurn) => ms_turn = true,
                None => {}
            }
        }
    }
    (standard, ms_turn)
}

/// The TURN dialect an A/V check speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvDialect {
    Standard,
    MsTurn,
}

impl CheckKind {
    /// The dialect this check speaks to the A/V Edge; `None` for checks
    /// that are not A/V.
    pub fn av_dialect(self) -> Option<AvDialect> {
        match self {
            Self::StunBindingUdp
            | Self::StunBindingTcp
            | Self::TurnAuthChallenge
            | Self::TurnRelayRange
            | Self::TurnRelayRoundtrip
            | Self::TurnRelayRoundtripTcp
            | Self::RtpStream
            | Self::StunUnknownAttribute
            | Self::TurnAllocationExpiry
            | Self::AvCallAllocate
            | Self::AvCallMedia
            | Self::AvMalformedStun
            | Self::AvAllocateFlood
            | Self::AvStrayTraffic
            | Self::AvLivenessProbe => Some(AvDialect::Standard),
            Self::MsTurnAuthChallenge
            | Self::MsTurnNoCookieIgnored
            | Self::MsTurnUnknownAttribute
            | Self::MsTurnAllocate
            | Self::MsTurnTcpPseudoTls
            | Self::MsTurnTcpNoCookieCloses
            | Self::MsTurnSendAndData
            | Self::MsTurnActiveDestination
            | Self::MsTurnTcpRelay => Some(AvDialect::MsTurn),
            // Listed one by one so a new check must be placed here.
            Self::DnsSrvExists
            | Self::DnsSrvPort
            | Self::DnsSrvTargetResolves
            | Self::DnsSrvTargetInSan
            | Self::DnsSrvTargetAddress
            | Self::DnsOverTcp
            | Self::ServerCertificate
            | Self::ClientCertificateEku
            | Self::CertificateSubject
            | Self::CertificateTrust
            | Self::CertificateValidity
            | Self::CertificateSignature
            | Self::CertificateCrlDistributionPoint
            | Self::CertificateKey
            | Self::CertificateSipDomains
            | Self::CertificatePoolMembers
            | Self::ClientCertificateProperties
            | Self::TlsVersions
            | Self::RefusesPeer(_)
            | Self::RefusesImpostor(_)
            | Self::RefusesRevokedPeer
            | Self::RefusesRevokedImpostor
            | Self::AcceptsLegacyPeer(_)
            | Self::LivenessProbe
            | Self::PipelinedMessages
            | Self::NothingRelayedOutward
            | Self::NothingMalformedInward => None,
        }
    }
}

fn uses_pool(case: &Case) -> bool {
    case.steps.iter().any(|step| step.actor == Actor::Pool)
}

fn uses_av(case: &Case) -> bool {
    case.steps.iter().any(|step| step.actor == Actor::Av)
}

fn judges_dns(case: &Case) -> bool {
    case.steps.iter().any(|step| {
        matches!(
            step.action,
            Action::Check(
                CheckKind::DnsSrvExists
                    | CheckKind::DnsSrvPort
                    | CheckKind::DnsSrvTargetResolves
                    | CheckKind::DnsSrvTargetInSan
                    | CheckKind::DnsSrvTargetAddress
                    | CheckKind::DnsOverTcp
            )
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_case;

    fn case(text: &str) -> Case {
        let providers = vec!["messenger".to_owned(), "aol".to_owned()];
        parse_case(std::path::Path::new("case.toml"), text, &providers).expect("valid case")
    }

    const INBOUND: &str = r#"id = "messenger.im.inbound"
title = "t"
requirements = ["IM-01"]
providers = ["messenger"]
[[steps]]
actor = "messenger"
send = "MESSAGE sip:{user.lync}@{sut.domain} SIP/2.0\r\nContent-Length: 0\r\n\r\n"
[[steps]]
actor = "pool"
expect = "request MESSAGE"
"#;

    const DNS: &str = r#"id = "edge.dns.srv-exists"
title = "t"
requirements = ["DNS-01"]
providers = []
[[steps]]
actor = "dns"
check = "dns-srv-exists"
"#;

    #[test]
    fn everything_applies_in_the_embedded_setting() {
        let setting = Setting::everything();
        assert_eq!(setting.skip_reason(&case(INBOUND)), None);
        assert_eq!(setting.skip_reason(&case(DNS)), None);
    }

    #[test]
    fn each_missing_part_of_the_setting_skips_exactly_its_cases() {
        let no_pool = Setting {
            has_pool: false,
            ..Setting::everything()
        };
        let reason = no_pool.skip_reason(&case(INBOUND)).expect("skipped");
        assert!(reason.contains("external-only"), "{reason}");
        assert_eq!(no_pool.skip_reason(&case(DNS)), None);

        let own_dns = Setting {
            judges_dns: false,
            ..Setting::everything()
        };
        assert!(own_dns.skip_reason(&case(DNS)).is_some());
        assert_eq!(own_dns.skip_reason(&case(INBOUND)), None);

        let only_aol = Setting {
            providers: Some(BTreeSet::from(["aol".to_owned()])),
            ..Setting::everything()
        };
        let reason = only_aol.skip_reason(&case(INBOUND)).expect("skipped");
        assert!(reason.contains("messenger peer is disabled"), "{reason}");
    }
}
