//! CERT-12: in an Access Edge pool every member presents a certificate with
//! the same subject, the same SAN set and the same EKUs. A peer probes the
//! external listener of each member the topology names (accepting whatever
//! certificate it gets, so a difference is reported as that difference) and
//! compares every member with the first. Each member's chain is kept as
//! evidence. With fewer than two members there is nothing to compare: the
//! case is skipped with that reason.

use picharness_simulators::tls::{CertificateSummary, describe_certificate};

use super::certificate::{fetch_server_chain_from, keep_chain};
use crate::case::execute::CaseRun;
use crate::case::outcome::Outcome;
use crate::scenario::Actor;
use picharness_reports::Verdict;

/// What CERT-12 compares, in a form that compares.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    subject: String,
    san: Vec<String>,
    ekus: Vec<&'static str>,
}

impl Identity {
    fn of(summary: &CertificateSummary) -> Self {
        let mut san: Vec<String> = summary
            .dns_names
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .collect();
        san.sort();
        san.dedup();
        let ekus = if summary.has_eku {
            [
                (summary.server_auth, "serverAuth"),
                (summary.client_auth, "clientAuth"),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect()
        } else {
            vec!["(no EKU extension)"]
        };
        Self {
            subject: summary.subject.clone(),
            san,
            ekus,
        }
    }

    /// How `other` differs from `self`, one phrase per property.
    fn differences(&self, other: &Self) -> Vec<String> {
        let mut out = Vec::new();
        if self.subject != other.subject {
            out.push(format!(
                "subject {:?} instead of {:?}",
                other.subject, self.subject
            ));
        }
        if self.san != other.san {
            out.push(format!(
                "SAN [{}] instead of [{}]",
                other.san.join(", "),
                self.san.join(", ")
            ));
        }
        if self.ekus != other.ekus {
            out.push(format!(
                "EKU [{}] instead of [{}]",
                other.ekus.join(", "),
                self.ekus.join(", ")
            ));
        }
        out
    }
}

pub(super) async fn check_pool_members(
    run: &mut CaseRun<'_>,
    actor: &Actor,
) -> Result<(), Outcome> {
    let members = run.topology.sut.pool_members.clone();
    if members.len() < 2 {
        return Err(Outcome::new(
            Verdict::Skipped,
            format!(
                "the topology names {} Access Edge pool member address(es); comparing certificates needs at least two",
                members.len()
            ),
        ));
    }
    let mut first: Option<(std::net::SocketAddr, Identity)> = None;
    let mut described = Vec::new();
    for (index, member) in members.iter().enumerate() {
        let chain = fetch_server_chain_from(run, actor, *member).await?;
        keep_chain(
            run,
            &format!("sut-server-chain-member-{}", index + 1),
            &chain,
        );
        let Some(leaf) = chain.first() else {
            return Err(Outcome::fail(format!(
                "pool member {member} presented an empty certificate chain"
            )));
        };
        let summary = describe_certificate(leaf).map_err(|e| {
            Outcome::fail(format!(
                "the certificate of pool member {member} cannot be parsed: {e}"
            ))
        })?;
        run.note(format!(
            "pool member {} ({member}) certificate:\n{}",
            index + 1,
            summary.to_text()
        ));
        let identity = Identity::of(&summary);
        described.push(member.to_string());
        match &first {
            None => first = Some((*member, identity)),
            Some((first_member, expected)) => {
                let differences = expected.differences(&identity);
                if !differences.is_empty() {
                    return Err(Outcome::fail(format!(
                        "pool member {member} presents a certificate unlike member {first_member}'s: {} (CERT-12)",
                        differences.join("; ")
                    )));
                }
            }
        }
    }
    let Some((_, identity)) = first else {
        return Err(Outcome::error("no pool member was probed"));
    };
    run.finding(format!(
        "all {} pool members ({}) present the subject {:?}, SAN [{}] and EKU [{}]",
        described.len(),
        described.join(", "),
        identity.subject,
        identity.san.join(", "),
        identity.ekus.join(", ")
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(dns: &[&str], client_auth: bool) -> CertificateSummary {
        CertificateSummary {
            subject_cn: Some("sip.contoso.test".into()),
            subject: "CN=sip.contoso.test".into(),
            issuer: "CN=root".into(),
            dns_names: dns.iter().map(|d| (*d).to_owned()).collect(),
            server_auth: true,
            client_auth,
            has_eku: true,
            not_before: String::new(),
            not_after: String::new(),
            key: "RSA 2048".into(),
            signature_algorithm: "sha256WithRSAEncryption".into(),
            crl_distribution_points: vec![],
        }
    }

    #[test]
    fn san_order_and_case_do_not_matter_but_names_and_ekus_do() {
        let a = Identity::of(&summary(&["sip.contoso.test", "contoso.test"], true));
        let b = Identity::of(&summary(&["CONTOSO.test", "sip.contoso.test"], true));
        assert!(a.differences(&b).is_empty());
        let c = Identity::of(&summary(&["sip.contoso.test"], false));
        let d = a.differences(&c);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("SAN [sip.contoso.test]"), "{d:?}");
        assert!(d[1].contains("EKU [serverAuth] instead of [serverAuth, clientAuth]"));
    }
}
