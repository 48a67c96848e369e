//! The expect step: waiting for what the SUT sends, matching it against
//! the step's expectation, and logging every arrival once.

use picharness_simulators::actor::{ActorEvent, ActorEventKind};
use picharness_simulators::sip_conn::FLOOD_CLOSE_PREFIX;
use picharness_wire::sip::SipMessage;

use super::super::matching::{
    RuleContext, body_difference, describe, header_problem, is_expected_kind, observations,
};
use super::super::outcome::Outcome;
use super::super::preview::{REASON_PREVIEW, escaped_preview};
use super::super::sip_validity::{validity_problem, validity_warnings};
use super::CaseRun;
use super::sent_requests::Answers;
use crate::scenario::{Actor, HeaderExpectation, MessageExpectation};

/// How the expectation judges connection reuse: `Some(false)` requires it,
/// `Some(true)` only observes it (SIP-14 says "record either"), `None`
/// leaves it alone.
fn same_connection_rule(expectation: &MessageExpectation) -> Option<bool> {
    let rules = match expectation {
        MessageExpectation::Request { headers, .. }
        | MessageExpectation::Response { headers, .. }
        | MessageExpectation::Refusal { headers } => headers,
        MessageExpectation::Pong
        | MessageExpectation::PongWithin(_)
        | MessageExpectation::RefusalOrSilence(_) => return None,
    };
    if rules.contains(&HeaderExpectation::SameConnection) {
        Some(false)
    } else if rules.contains(&HeaderExpectation::Observe(Box::new(
        HeaderExpectation::SameConnection,
    ))) {
        Some(true)
    } else {
        None
    }
}

/// Whether a framing error is the harness's own size cap on what it reads
/// (the stream decoder's `TooLarge`), not something the Edge did wrong.
pub(crate) fn is_reader_limit(error: &str) -> bool {
    let too_large = picharness_wire::sip::FramingError::TooLarge { limit: 0 }.to_string();
    let marker = too_large.split("0-byte").nth(1).unwrap_or("-byte limit");
    error.contains(marker)
}

/// " (Warning: ...)" when a message explains itself in a Warning header.
pub(crate) fn warning_note(message: &SipMessage) -> String {
    message
        .headers
        .first("warning")
        .map(|w| format!(" (Warning: {w})"))
        .unwrap_or_default()
}

impl CaseRun<'_> {
    pub(super) async fn expect(
        &mut self,
        actor: &Actor,
        expectation: &MessageExpectation,
    ) -> Result<(), Outcome> {
        if let MessageExpectation::PongWithin(within) = expectation {
            let wait = Box::pin(self.expect(actor, &MessageExpectation::Pong));
            return match tokio::time::timeout(*within, wait).await {
                Ok(result) => result,
                Err(_) => {
                    self.observe(format!(
                        "no CRLF keep-alive pong reached {} within {} ms (SIP-13: Lync support unverified, recorded rather than required)",
                        actor.name(),
                        within.as_millis()
                    ));
                    Ok(())
                }
            };
        }
        if let MessageExpectation::RefusalOrSilence(within) = expectation {
            let refusal = MessageExpectation::Refusal {
                headers: Vec::new(),
            };
            // The answer to a malformed request may lack what the request
            // lacked (a 400 to a request without Call-ID has none): it is
            // judged by its status, not by the validator.
            self.answering_hostile = true;
            let wait = Box::pin(self.expect(actor, &refusal));
            let waited = tokio::time::timeout(*within, wait).await;
            self.answering_hostile = false;
            return match waited {
                Ok(result) => result,
                Err(_) => {
                    self.note(format!(
                        "nothing came back to {} within {} ms: the Edge discarded the input (SIP-10 allows a malformed request to be discarded)",
                        actor.name(),
                        within.as_millis()
                    ));
                    Ok(())
                }
            };
        }
        let wanted = actor.name();
        let what = describe(expectation);
        loop {
            let event = match self.deferred.iter().position(|e| e.actor == wanted) {
                Some(index) => match self.deferred.remove(index) {
                    Some(event) => event,
                    None => continue,
                },
                None => {
                    let Some(event) = self.inbox.recv().await else {
                        return Err(Outcome::error("the case inbox closed unexpectedly"));
                    };
                    self.log_event(&event);
                    if event.actor != wanted && self.upcoming.contains(&event.actor) {
                        self.deferred.push_back(event);
                        continue;
                    }
                    event
                }
            };
            match event.kind {
                ActorEventKind::Message(message) => {
                    // Provisional responses are informational and a stateful
                    // proxy may add its own hop-by-hop 100 Trying (RFC 3261
                    // §16.2): one the step does not ask for is passed over.
                    let wanted_provisional = message.status().is_some_and(|code| {
                        code < 200
                            && matches!(expectation, MessageExpectation::Response { status, .. } if status.matches(code))
                    });
                    if message.status().is_some_and(|code| code < 200) && !wanted_provisional {
                        self.note(format!(
                            "{} at {}: passed over while {wanted} waited for {what}",
                            message.summary(),
                            event.actor
                        ));
                        continue;
                    }
                    if !message.is_request()
                        && self.sent_requests.answers(&event.actor, &message) == Answers::No
                    {
                        self.note(format!(
                            "{} at {}: answers no request {} sent (Via branch {}, CSeq {}); passed over, as a UA discards a response that matches no transaction (RFC 3261 §17.1.3)",
                            message.summary(),
                            event.actor,
                            event.actor,
                            message.top_via_branch().unwrap_or("none"),
                            message
                                .headers
                                .first("cseq")
                                .unwrap_or("none")
                        ));
                        continue;
                    }
                    if event.actor != wanted {
                        return Err(Outcome::fail(format!(
                            "{}{} arrived at {} while {wanted} waited for {what}",
                            message.summary(),
                            warning_note(&message),
                            event.actor
                        )));
                    }
                    if !is_expected_kind(expectation, &message) {
                        return Err(Outcome::fail(format!(
                            "{wanted} expected {what} but received {}{}",
                            message.summary(),
                            warning_note(&message)
                        )));
                    }
                    let edge_hosts = self.edge_hosts();
                    let branch_of = |method: &str| {
                        self.last_request_by_method
                            .get(&(wanted.to_owned(), method.to_owned()))
                            .and_then(|(request, _)| request.top_via_branch().map(str::to_owned))
                    };
                    let dialog_of = |method: &str| {
                        self.dialogs
                            .get(wanted)
                            .filter(|d| {
                                d.received
                                    .as_ref()
                                    .is_some_and(|(formed_by, _)| formed_by == method)
                            })
                            .cloned()
                    };
                    let context = RuleContext {
                        vars: &self.vars,
                        edge_hosts: &edge_hosts,
                        branch_of: &branch_of,
                        dialog_of: &dialog_of,
                    };
                    if let Some(problem) = header_problem(expectation, &message, wanted, &context) {
                        return Err(Outcome::fail(problem));
                    }
                    let observed = observations(expectation, &message, wanted, &context);
                    for observation in observed {
                        self.observe(observation);
                    }
                    if let Some(problem) = self.body_problem(expectation, &message, wanted) {
                        return Err(Outcome::fail(problem));
                    }
                    if let Some(problem) = validity_problem(&message, wanted) {
                        if !self.answering_hostile {
                            return Err(Outcome::fail(problem));
                        }
                        self.note(format!(
                            "the answer to the hostile input is itself not valid SIP (not judged): {problem}"
                        ));
                    }
                    for warning in validity_warnings(&message) {
                        self.note(format!("{} at {wanted}: {warning}", message.summary()));
                    }
                    let previous = self
                        .last_connection
                        .insert(event.actor.clone(), event.connection.clone())
                        .map(|c| c.id);
                    if let Some(observe_only) = same_connection_rule(expectation)
                        && previous.is_some_and(|id| id != event.connection.id)
                    {
                        let problem = format!(
                            "{} reached {wanted} on a new connection from {} instead of the one its previous message used",
                            message.summary(),
                            event.connection.remote
                        );
                        if !observe_only {
                            return Err(Outcome::fail(problem));
                        }
                        self.observe(problem);
                    }
                    self.take_into_dialog(&event.actor, &message);
                    if !message.is_request()
                        && let Some(to) = message.headers.first("to")
                    {
                        self.last_response_to
                            .insert(event.actor.clone(), to.to_owned());
                    }
                    let answers_invite = message.status().is_some_and(|s| (200..300).contains(&s))
                        && message.cseq().is_some_and(|(_, m)| m == "INVITE");
                    if answers_invite {
                        self.invite_answer = Some(message.clone());
                    }
                    if message.is_request() {
                        let method = message.method().unwrap_or_default().to_owned();
                        self.last_request_by_method.insert(
                            (event.actor.clone(), method),
                            (message.clone(), event.connection.clone()),
                        );
                        self.last_request
                            .insert(event.actor.clone(), (message, event.connection));
                    }
                    return Ok(());
                }
                ActorEventKind::Garbage { error, .. } if is_reader_limit(&error) => {
                    // The harness's own reader stopped, not the Edge: what
                    // reached a peer cannot be judged; a message that long
                    // reaching the pool was forwarded inward all the same.
                    return Err(if event.actor == "pool" {
                        Outcome::fail(format!(
                            "a message over the harness's reader limit arrived at pool ({error}) while {wanted} waited for {what}"
                        ))
                    } else {
                        Outcome::inconclusive(format!(
                            "{} received a message over the harness's own reader limit ({error}) while {wanted} waited for {what}: the harness cannot read it, so it is not judged as the Edge's answer",
                            event.actor
                        ))
                    });
                }
                ActorEventKind::Garbage { error, bytes } => {
                    return Err(Outcome::fail(format!(
                        "{} received bytes that are not a SIP message ({error}) while {wanted} waited for {what}: {}",
                        event.actor,
                        escaped_preview(&bytes, REASON_PREVIEW)
                    )));
                }
                ActorEventKind::KeepAlive { ping } => {
                    if !ping
                        && event.actor == wanted
                        && matches!(expectation, MessageExpectation::Pong)
                    {
                        return Ok(());
                    }
                }
                ActorEventKind::Closed { reason } if reason.starts_with(FLOOD_CLOSE_PREFIX) => {
                    return Err(Outcome::inconclusive(format!(
                        "{reason}; {wanted}'s wait for {what} cannot be judged after the harness closed {}'s connection itself",
                        event.actor
                    )));
                }
                ActorEventKind::Closed { reason }
                    if event.actor == wanted
                        && matches!(expectation, MessageExpectation::Refusal { .. }) =>
                {
                    let _ = reason;
                    return Ok(());
                }
                ActorEventKind::Closed { reason } => {
                    return Err(Outcome::fail(format!(
                        "the Edge closed {}'s connection ({reason}) while {wanted} waited for {what}",
                        event.actor
                    )));
                }
            }
        }
    }

    /// The `body_as_sent_by` rule: the body must be byte-identical to the
    /// body the named actor last sent.
    fn body_problem(
        &self,
        expectation: &MessageExpectation,
        message: &SipMessage,
        wanted: &str,
    ) -> Option<String> {
        let rules = match expectation {
            MessageExpectation::Request { headers, .. }
            | MessageExpectation::Response { headers, .. }
            | MessageExpectation::Refusal { headers } => headers,
            MessageExpectation::Pong
            | MessageExpectation::PongWithin(_)
            | MessageExpectation::RefusalOrSilence(_) => return None,
        };
        rules.iter().find_map(|rule| {
            let HeaderExpectation::BodyAsSentBy(sender) = rule else {
                return None;
            };
            let Some(sent) = self.last_sent_body.get(sender) else {
                return Some(format!(
                    "{} reached {wanted}, but {sender} has sent nothing to compare its body with",
                    message.summary()
                ));
            };
            body_difference(sent, &message.body).map(|difference| {
                format!(
                    "{} reached {wanted} with a body that is not the one {sender} sent: {difference}",
                    message.summary()
                )
            })
        })
    }

    /// Puts an event into the transcript when it arrives (once, even if its
    /// step comes later).
    pub(super) fn log_event(&mut self, event: &ActorEvent) {
        let (local, remote) = (event.connection.local, event.connection.remote);
        match &event.kind {
            ActorEventKind::Message(message) => {
                let text = String::from_utf8_lossy(&message.raw).into_owned();
                self.log_message(&event.actor, "received", &event.connection, text);
            }
            ActorEventKind::Garbage { bytes, error } => {
                let text = format!("{error}\n{}", String::from_utf8_lossy(bytes));
                self.log_message(&event.actor, "received", &event.connection, text);
            }
            ActorEventKind::KeepAlive { ping } => {
                let what = if *ping {
                    "a CRLF keep-alive ping"
                } else {
                    "a CRLF keep-alive pong"
                };
                self.note(format!(
                    "{} received {what} on {local} <- {remote}",
                    event.actor
                ));
            }
            ActorEventKind::Closed { reason } => {
                self.remember_connection(&event.connection.record, event.connection.id);
                self.note(format!(
                    "{}'s connection {local} -> {remote} closed: {reason}",
                    event.actor
                ));
            }
        }
    }
}
