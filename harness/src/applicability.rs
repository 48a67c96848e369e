//! Which cases apply to the SUT a run is pointed at, and why the others do
//! not. A case that cannot be judged in this setting is `skipped` with the
//! reason, never guessed: in external-only mode nothing can see what the
//! Edge delivers inside, a provider the configuration disables has no peer,
//! and DNS the harness serves itself says nothing about the SUT.

use std::collections::BTreeSet;

use crate::scenario::{Action, Actor, Case, CheckKind};

/// What the run's setting offers the cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The harness plays the internal pool (embedded, or sandwich mode).
    pub has_pool: bool,
    /// The DNS the peers use is the SUT's own (embedded reference zone or
    /// a real server), so the `edge.dns.*` checks judge something.
    pub judges_dns: bool,
    /// The provider peers the run has; `None` means every profile.
    pub providers: Option<BTreeSet<String>>,
    /// A/V is on.
    pub av: bool,
}

impl Setting {
    /// Everything available: the embedded topology.
    pub fn everything() -> Self {
        Self {
            has_pool: true,
            judges_dns: true,
            providers: None,
            av: true,
        }
    }

    /// Why `case` does not apply here, or `None` when it does.
    pub fn skip_reason(&self, case: &Case) -> Option<String> {
        if let Some(enabled) = &self.providers
            && let Some(missing) = case.providers.iter().find(|p| !enabled.contains(*p))
        {
            return Some(format!(
                "not applicable: the {missing} peer is disabled in the configuration"
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
        if !self.av && uses_av(case) {
            return Some("not applicable: A/V is off for this SUT".to_owned());
        }
        None
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
