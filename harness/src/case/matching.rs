//! Judging a received message against a step's expectation, with reasons
//! that name the symptom.

use picharness_wire::sip::dialog::{DialogError, IdPart};
use picharness_wire::sip::{NameAddr, SipMessage, SipUri, Via};

use super::execute::ActorDialog;

use crate::scenario::template_substitute;
use crate::scenario::{HeaderExpectation, MessageExpectation, TemplateVars};

/// Whether `message` is the kind of message the expectation waits for
/// (method or status), ignoring header rules.
pub(crate) fn is_expected_kind(expectation: &MessageExpectation, message: &SipMessage) -> bool {
    match expectation {
        MessageExpectation::Request { method, .. } => message.method() == Some(method.as_str()),
        MessageExpectation::Response { status, .. } => {
            message.status().is_some_and(|s| status.matches(s))
        }
        MessageExpectation::Refusal { .. } => message.status().is_some_and(|s| s >= 300),
        MessageExpectation::Pong
        | MessageExpectation::PongWithin(_)
        | MessageExpectation::RefusalOrSilence(_) => false,
    }
}

/// What a rule needs to know besides the message.
pub(crate) struct RuleContext<'a> {
    pub(crate) vars: &'a TemplateVars,
    /// The Edge's names and listener addresses (`names_edge`).
    pub(crate) edge_hosts: &'a [String],
    /// The topmost Via branch of the latest request of a method the actor
    /// received (`same_branch_as`).
    pub(crate) branch_of: &'a dyn Fn(&str) -> Option<String>,
    /// The actor's dialog, when it formed as the actor answered a request
    /// of the method (`same_dialog_as`).
    pub(crate) dialog_of: &'a dyn Fn(&str) -> Option<ActorDialog>,
}

fn rules_of(expectation: &MessageExpectation) -> &[HeaderExpectation] {
    match expectation {
        MessageExpectation::Request { headers, .. }
        | MessageExpectation::Response { headers, .. }
        | MessageExpectation::Refusal { headers } => headers,
        MessageExpectation::Pong
        | MessageExpectation::PongWithin(_)
        | MessageExpectation::RefusalOrSilence(_) => &[],
    }
}

/// Checks the header rules the requirement makes; returns the first broken
/// one as a sentence. `observe` rules are left to [`observations`].
pub(crate) fn header_problem(
    expectation: &MessageExpectation,
    message: &SipMessage,
    actor: &str,
    context: &RuleContext<'_>,
) -> Option<String> {
    rules_of(expectation)
        .iter()
        .find_map(|rule| rule_problem(rule, message, actor, context))
}

/// The `observe` rules (other than connection reuse, which the runner
/// judges) that do not hold, each as a sentence.
pub(crate) fn observations(
    expectation: &MessageExpectation,
    message: &SipMessage,
    actor: &str,
    context: &RuleContext<'_>,
) -> Vec<String> {
    rules_of(expectation)
        .iter()
        .filter_map(|rule| match rule {
            HeaderExpectation::Observe(inner) => rule_problem(inner, message, actor, context),
            _ => None,
        })
        .collect()
}

/// The host a header value names: a Via's sent-by host, or the host of the
/// URI of a name-addr (Record-Route, Route, Contact) or of a bare URI.
pub(crate) fn host_of(name: &str, value: &str) -> Option<String> {
    if name.eq_ignore_ascii_case("via") || name.eq_ignore_ascii_case("v") {
        return Via::parse(value).ok().map(|via| via.host);
    }
    let uri = NameAddr::parse(value).map_or_else(|| value.trim().to_owned(), |n| n.uri);
    SipUri::parse(&uri).ok().map(|uri| uri.host)
}

/// Whether a name-addr's URI is secure: the `sips` scheme, or a
/// `transport=tls` URI parameter. A parameter after the angle brackets
/// belongs to the header, not the URI, so it does not count. A value without
/// angle brackets is read whole as the URI: a bare addr-spec where RFC 3261
/// wants a name-addr is the SIP validity check's to report, by its name.
fn is_secure_uri(value: &str) -> bool {
    let value = value.trim();
    let uri = if value.contains('<') {
        NameAddr::parse(value).map_or_else(|| value.to_owned(), |n| n.uri)
    } else {
        value.to_owned()
    };
    SipUri::parse(&uri).is_ok_and(|uri| {
        uri.scheme.eq_ignore_ascii_case("sips")
            || uri
                .param("transport")
                .flatten()
                .is_some_and(|t| t.eq_ignore_ascii_case("tls"))
    })
}

fn rule_problem(
    rule: &HeaderExpectation,
    message: &SipMessage,
    actor: &str,
    context: &RuleContext<'_>,
) -> Option<String> {
    let what = message.summary();
    let vars = context.vars;
    match rule {
        HeaderExpectation::Present(name) if message.headers.count(name) == 0 => {
            Some(format!("{what} reached {actor} without a {name} header"))
        }
        HeaderExpectation::Absent(name) if message.headers.count(name) > 0 => Some(format!(
            "{what} reached {actor} with a {name} header it must not carry"
        )),
        HeaderExpectation::Contains { name, needle } => {
            let needle = template_substitute(needle, vars);
            let values = message.headers.values(name);
            if values.is_empty() {
                return Some(format!(
                    "{what} reached {actor} without a {name} header (expected one containing {needle:?})"
                ));
            }
            (!values.iter().any(|v| v.contains(&needle))).then(|| {
                format!(
                    "{what} reached {actor} with {name}: {} (expected a value containing {needle:?})",
                    values.join(", ")
                )
            })
        }
        HeaderExpectation::FirstContains { name, needle } => {
            let needle = template_substitute(needle, vars);
            match message.headers.values(name).first() {
                None => Some(format!(
                    "{what} reached {actor} without a {name} header (expected the topmost to contain {needle:?})"
                )),
                Some(top) if !top.contains(&needle) => Some(format!(
                    "{what} reached {actor} with topmost {name}: {top} (expected it to contain {needle:?})"
                )),
                Some(_) => None,
            }
        }
        HeaderExpectation::Count { name, count } => {
            let values = message.headers.values(name);
            (values.len() != *count).then(|| {
                format!(
                    "{what} reached {actor} with {} {name} value(s) [{}], expected {count}",
                    values.len(),
                    values.join(", ")
                )
            })
        }
        HeaderExpectation::BodyContains(needle) => {
            let needle = template_substitute(needle, vars);
            let body = String::from_utf8_lossy(&message.body);
            (!body.contains(&needle)).then(|| {
                let shown: String = body.chars().take(120).collect();
                format!(
                    "{what} reached {actor} with a body lacking {needle:?} (body starts {shown:?})"
                )
            })
        }
        HeaderExpectation::NamesEdge(name) => {
            let Some(top) = message
                .headers
                .values(name)
                .first()
                .map(|v| (*v).to_owned())
            else {
                return Some(format!(
                    "{what} reached {actor} without a {name} header (expected one naming the Edge)"
                ));
            };
            let host = host_of(name, &top);
            let names_edge = host.as_ref().is_some_and(|host| {
                context
                    .edge_hosts
                    .iter()
                    .any(|edge| edge.eq_ignore_ascii_case(host))
            });
            (!names_edge).then(|| {
                format!(
                    "{what} reached {actor} with topmost {name}: {top} (expected its host to be the Edge: one of {})",
                    context.edge_hosts.join(", ")
                )
            })
        }
        HeaderExpectation::SecureUri(name) => {
            let Some(top) = message
                .headers
                .values(name)
                .first()
                .map(|v| (*v).to_owned())
            else {
                return Some(format!(
                    "{what} reached {actor} without a {name} header (expected one with transport=tls or sips)"
                ));
            };
            (!is_secure_uri(&top)).then(|| {
                format!(
                    "{what} reached {actor} with topmost {name}: {top} (expected its URI to carry transport=tls or the sips scheme)"
                )
            })
        }
        HeaderExpectation::FirstHost { name, host } => {
            let wanted = template_substitute(host, vars);
            let Some(top) = message
                .headers
                .values(name)
                .first()
                .map(|v| (*v).to_owned())
            else {
                return Some(format!(
                    "{what} reached {actor} without a {name} header (expected the topmost to name {wanted})"
                ));
            };
            let found = host_of(name, &top);
            (!found.as_ref().is_some_and(|h| h.eq_ignore_ascii_case(&wanted))).then(|| {
                format!(
                    "{what} reached {actor} with topmost {name}: {top}, naming {} rather than {wanted}",
                    found.as_deref().unwrap_or("no host")
                )
            })
        }
        HeaderExpectation::SameBranchAs(method) => {
            let Some(original) = (context.branch_of)(method) else {
                return Some(format!(
                    "{what} reached {actor}, but {actor} has received no {method} whose branch it could share"
                ));
            };
            match message.top_via_branch() {
                Some(branch) if branch == original => None,
                found => Some(format!(
                    "{what} reached {actor} with Via branch {} (expected {original}, the branch of the {method} it belongs to)",
                    found.unwrap_or("(none)")
                )),
            }
        }
        HeaderExpectation::SameDialogAs(method) => {
            let Some(dialog) = (context.dialog_of)(method) else {
                return Some(format!(
                    "{what} reached {actor}, but {actor} has received no {method} whose dialog it could belong to"
                ));
            };
            dialog_problem(&dialog, message, method).map(|problem| {
                format!("{what} reached {actor} {problem} (IM-05: a request in a dialog keeps its Call-ID and tags, and its CSeq increases)")
            })
        }
        HeaderExpectation::AtMost { name, max } => {
            let Some(value) = message.headers.first(name) else {
                return Some(format!(
                    "{what} reached {actor} without a {name} header (expected a value of at most {max})"
                ));
            };
            match value.trim().parse::<u64>() {
                Ok(n) if n <= *max => None,
                _ => Some(format!(
                    "{what} reached {actor} with {name}: {value} (expected at most {max})"
                )),
            }
        }
        _ => None,
    }
}

/// How `message` departs from the actor's `dialog`, formed by a `method`
/// request it received: the wire's judgement of an arriving in-dialog
/// request (RFC 3261 §12.2.2), said against what formed the dialog.
fn dialog_problem(dialog: &ActorDialog, message: &SipMessage, method: &str) -> Option<String> {
    let error = dialog.dialog.check_request(message).err()?;
    let none = || "(none)".to_owned();
    Some(match error {
        DialogError::NotThisDialog {
            part: IdPart::ToTag,
            got,
            expected,
        } => format!(
            "with To tag {} (expected {expected}, the tag given to the dialog)",
            got.unwrap_or_else(none)
        ),
        DialogError::NotThisDialog {
            part,
            got,
            expected,
        } => format!(
            "with {part} {} (expected {expected}, the {method}'s)",
            got.unwrap_or_else(none)
        ),
        DialogError::CseqOutOfOrder { .. } | DialogError::Missing("CSeq") => {
            let last = dialog.dialog.remote_seq.unwrap_or_default();
            let whose = match &dialog.received {
                Some((_, formed)) if *formed == last => format!("the {method}'s"),
                _ => "the latest CSeq in the dialog".to_owned(),
            };
            format!(
                "with CSeq {} (expected a number above {last}, {whose})",
                message
                    .cseq()
                    .map_or_else(none, |(n, m)| format!("{n} {m}"))
            )
        }
        other => other.to_string(),
    })
}

/// How an arrived body differs from the sent one, naming the first line
/// that differs; `None` when they are byte-identical.
pub(crate) fn body_difference(sent: &[u8], arrived: &[u8]) -> Option<String> {
    if sent == arrived {
        return None;
    }
    let sent_text = String::from_utf8_lossy(sent);
    let arrived_text = String::from_utf8_lossy(arrived);
    let mut sent_lines = sent_text.split('\n');
    let mut arrived_lines = arrived_text.split('\n');
    for number in 1.. {
        match (sent_lines.next(), arrived_lines.next()) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                return Some(format!(
                    "line {number} was sent as {:?} and arrived as {:?}",
                    a.trim_end_matches('\r'),
                    b.trim_end_matches('\r')
                ));
            }
            (Some(a), None) => {
                return Some(format!(
                    "line {number} {:?} and what follows it never arrived",
                    a.trim_end_matches('\r')
                ));
            }
            (None, Some(b)) => {
                return Some(format!(
                    "line {number} {:?} arrived but was never sent",
                    b.trim_end_matches('\r')
                ));
            }
            (None, None) => break,
        }
    }
    Some(format!(
        "{} bytes were sent and {} arrived",
        sent.len(),
        arrived.len()
    ))
}

/// Describes an expectation for reasons: "request MESSAGE", "response 200".
pub(crate) fn describe(expectation: &MessageExpectation) -> String {
    match expectation {
        MessageExpectation::Request { method, .. } => format!("request {method}"),
        MessageExpectation::Response { status, .. } => format!("response {status}"),
        MessageExpectation::Refusal { .. } => {
            "a refusal (a final response of 300 or more, or the connection closed)".to_owned()
        }
        MessageExpectation::Pong | MessageExpectation::PongWithin(_) => {
            "a CRLF keep-alive pong".to_owned()
        }
        MessageExpectation::RefusalOrSilence(_) => {
            "a refusal (a final response of 300 or more, or the connection closed) or silence"
                .to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use picharness_wire::sip::dialog::Dialog;

    const ACK: &[u8] = b"ACK sip:bob@pool.contoso.test SIP/2.0\r\n\
Via: SIP/2.0/TLS 127.80.0.11:5061;branch=z9hG4bK-edge-1\r\n\
Record-Route: <sip:127.80.0.11:5061;transport=tls;lr>\r\n\
Max-Forwards: 70\r\n\
From: <sip:al@hotmail.com>;tag=a1\r\n\
To: <sip:bob@contoso.test>;tag=p\r\n\
Call-ID: c1\r\n\
CSeq: 7 ACK\r\n\
Content-Length: 0\r\n\r\n";

    fn judge(rule: HeaderExpectation, branch: Option<&str>) -> Option<String> {
        let message = SipMessage::parse(ACK).expect("parses");
        let edge_hosts = [
            "sip.contoso.test".to_owned(),
            "edge-int.contoso.test".to_owned(),
            "127.80.0.10".to_owned(),
            "127.80.0.11".to_owned(),
        ];
        let mut vars = TemplateVars::default();
        vars.set("sut.internal_fqdn", "edge-int.contoso.test");
        let branch_of = |_: &str| branch.map(str::to_owned);
        let dialog_of = |_: &str| None;
        let context = RuleContext {
            vars: &vars,
            edge_hosts: &edge_hosts,
            branch_of: &branch_of,
            dialog_of: &dialog_of,
        };
        rule_problem(&rule, &message, "pool", &context)
    }

    #[test]
    fn a_record_route_is_secure_with_transport_tls_or_sips_only() {
        assert_eq!(
            judge(
                HeaderExpectation::SecureUri("Record-Route".to_owned()),
                None
            ),
            None
        );
        for (value, secure) in [
            ("<sips:edge.contoso.test;lr>", true),
            ("<sip:edge.contoso.test:5061;TRANSPORT=TLS;lr>", true),
            ("<sip:edge.contoso.test:5061;lr>", false),
            ("<sip:edge.contoso.test:5061;transport=tcp;lr>", false),
            ("<sip:edge.contoso.test:5061;lr>;transport=tls", false),
            ("sip:edge.contoso.test:5061;transport=tls;lr", true),
        ] {
            assert_eq!(is_secure_uri(value), secure, "{value}");
        }
    }

    #[test]
    fn an_edge_named_by_address_is_the_edge_but_not_its_fqdn() {
        for name in ["Via", "Record-Route"] {
            assert_eq!(
                judge(HeaderExpectation::NamesEdge(name.to_owned()), None),
                None
            );
            let problem = judge(
                HeaderExpectation::FirstHost {
                    name: name.to_owned(),
                    host: "{sut.internal_fqdn}".to_owned(),
                },
                None,
            )
            .expect("an address is not the FQDN");
            assert!(
                problem.contains("naming 127.80.0.11 rather than edge-int.contoso.test"),
                "{problem}"
            );
        }
    }

    #[test]
    fn a_hop_by_hop_ack_is_judged_by_its_branch_not_its_host() {
        let rule = || HeaderExpectation::SameBranchAs("INVITE".to_owned());
        assert_eq!(judge(rule(), Some("z9hG4bK-edge-1")), None);
        let other = judge(rule(), Some("z9hG4bK-other")).expect("another branch");
        assert!(other.contains("expected z9hG4bK-other"), "{other}");
        assert!(judge(rule(), None).is_some(), "no INVITE to compare with");
    }

    #[test]
    fn a_request_in_a_dialog_keeps_its_call_id_and_tags_and_raises_its_cseq() {
        const MESSAGE: &str = "MESSAGE sip:lync@pool.contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS edge:5061;branch=z9hG4bK-1\r\nFrom: <sip:peer@messenger.test>;tag=peer-1\r\nTo: <sip:lync@contoso.test>;tag=pool-1\r\nCall-ID: call-1\r\nCSeq: 2 MESSAGE\r\nContent-Length: 0\r\n\r\n";
        let message = SipMessage::parse(MESSAGE.as_bytes()).expect("parses");
        const INVITE: &str = "INVITE sip:lync@pool.contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS edge:5061;branch=z9hG4bK-0\r\nFrom: <sip:peer@messenger.test>;tag=peer-1\r\nTo: <sip:lync@contoso.test>\r\nCall-ID: call-1\r\nCSeq: 1 INVITE\r\nContact: <sip:peer@messenger.test>\r\nContent-Length: 0\r\n\r\n";
        let invite = SipMessage::parse(INVITE.as_bytes()).expect("parses");
        let dialog = ActorDialog {
            dialog: Dialog::as_uas(&invite, "pool-1").expect("a dialog"),
            received: Some(("INVITE".to_owned(), 1)),
        };
        assert_eq!(dialog_problem(&dialog, &message, "INVITE"), None);
        let with = |change: fn(&mut ActorDialog)| {
            let mut other = dialog.clone();
            change(&mut other);
            dialog_problem(&other, &message, "INVITE").expect("a departure")
        };
        assert!(
            with(|d| d.dialog.id.call_id = "call-2".to_owned())
                .contains("Call-ID call-1 (expected call-2")
        );
        assert!(with(|d| d.dialog.id.remote_tag = "peer-2".to_owned()).contains("From tag peer-1"));
        assert!(with(|d| d.dialog.id.local_tag = "pool-2".to_owned()).contains("To tag pool-1"));
        assert!(
            with(|d| d.dialog.remote_seq = Some(2)).contains(
                "CSeq 2 MESSAGE (expected a number above 2, the latest CSeq in the dialog)"
            )
        );
        assert!(
            with(|d| {
                d.dialog.remote_seq = Some(2);
                d.received = Some(("INVITE".to_owned(), 2));
            })
            .contains("CSeq 2 MESSAGE (expected a number above 2, the INVITE's)")
        );
    }

    #[test]
    fn at_most_accepts_lower_values_only() {
        let rule = |max| HeaderExpectation::AtMost {
            name: "Max-Forwards".to_owned(),
            max,
        };
        assert_eq!(judge(rule(70), None), None);
        assert!(judge(rule(69), None).is_some());
    }
}
