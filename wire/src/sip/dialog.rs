//! Dialogs (RFC 3261 §12) as a user agent keeps them: made from the request
//! and response that set them up, with the route set built from
//! Record-Route; where requests inside the dialog go (remote target and
//! route set, loose and strict routing, §12.2.1.1); and arriving in-dialog
//! requests checked against the dialog's id and CSeq order (§12.2.2), a
//! target refresh updating the remote target. Sans-IO: no transport, no
//! clock. Requests themselves are written by the caller (the harness renders
//! them from scenario templates), so the dialog keeps what those need.

use super::message::SipMessage;
use super::uri::{NameAddr, SipUri};

/// Whether a request of `method` creates a dialog when answered with
/// 101-299: INVITE (RFC 3261 §12.1) and SUBSCRIBE (RFC 6665).
pub fn creates_dialog(method: &str) -> bool {
    matches!(method, "INVITE" | "SUBSCRIBE")
}

/// Whether a request claims to be inside a dialog: its To carries a tag
/// (RFC 3261 §12.2.2).
pub fn is_in_dialog(request: &SipMessage) -> bool {
    request.to_addr().is_some_and(|to| to.tag().is_some())
}

/// Whether a request of `method` refreshes the remote target from its
/// Contact: re-INVITE and UPDATE (RFC 3261 §12.2, RFC 3311), SUBSCRIBE and
/// NOTIFY (RFC 6665).
fn refreshes_target(method: &str) -> bool {
    matches!(method, "INVITE" | "UPDATE" | "SUBSCRIBE" | "NOTIFY")
}

/// Call-ID, local tag, remote tag (§12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

/// The part of a dialog id an arriving request got wrong, named as the
/// request carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdPart {
    /// The Call-ID.
    CallId,
    /// The remote tag, in the request's From.
    FromTag,
    /// The local tag, in the request's To.
    ToTag,
}

impl std::fmt::Display for IdPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::CallId => "Call-ID",
            Self::FromTag => "From tag",
            Self::ToTag => "To tag",
        })
    }
}

/// Why a dialog could not be made or a request was refused by it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    #[error("{0} is missing or has no tag, so no dialog can be identified (RFC 3261 §12.1)")]
    MissingTag(&'static str),
    #[error("{0} is missing (RFC 3261 §12.1)")]
    Missing(&'static str),
    #[error("the response {0} does not create a dialog (only 101-299 do, RFC 3261 §12.1)")]
    NoDialogResponse(u16),
    #[error("CSeq {got} is not above the last remote CSeq {last}: answer 500 (RFC 3261 §12.2.2)")]
    CseqOutOfOrder { got: u32, last: u32 },
    #[error(
        "the request's {part} is {}, not this dialog's {expected}: it does not belong to this dialog (RFC 3261 §12.2.2)",
        got.as_deref().unwrap_or("(none)")
    )]
    NotThisDialog {
        part: IdPart,
        got: Option<String>,
        expected: String,
    },
}

/// The dialog state of §12.1 a user agent needs to send inside the dialog
/// and to judge what arrives in it: ids, the remote CSeq, the remote URI,
/// remote target and route set. (The local URI and CSeq live in the
/// requests the caller writes.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    /// The last CSeq the other side used, if it sent a request yet.
    pub remote_seq: Option<u32>,
    /// Our To (without tag) in requests we send.
    pub remote_uri: String,
    /// Where in-dialog requests go: the peer's Contact URI.
    pub remote_target: String,
    /// Route URIs in the order requests must visit them.
    pub route_set: Vec<String>,
}

impl Dialog {
    /// The UAC side, from the request it sent and a 101-299 response
    /// (§12.1.2): the route set is the response's Record-Route reversed.
    pub fn as_uac(request: &SipMessage, response: &SipMessage) -> Result<Self, DialogError> {
        let code = response.status().unwrap_or(0);
        if !(101..=299).contains(&code) {
            return Err(DialogError::NoDialogResponse(code));
        }
        let from = request.from_addr().ok_or(DialogError::Missing("From"))?;
        let to = response.to_addr().ok_or(DialogError::Missing("To"))?;
        let mut route_set = record_route(response);
        route_set.reverse();
        Ok(Self {
            id: DialogId {
                call_id: request
                    .call_id()
                    .ok_or(DialogError::Missing("Call-ID"))?
                    .to_owned(),
                local_tag: from
                    .tag()
                    .ok_or(DialogError::MissingTag("From"))?
                    .to_owned(),
                remote_tag: to.tag().ok_or(DialogError::MissingTag("To"))?.to_owned(),
            },
            remote_seq: None,
            remote_uri: to.uri,
            remote_target: contact_uri(response).ok_or(DialogError::Missing("Contact"))?,
            route_set,
        })
    }

    /// The UAS side, from the request it received and the To tag it chose
    /// (§12.1.1): the route set is the request's Record-Route in order.
    pub fn as_uas(request: &SipMessage, local_tag: &str) -> Result<Self, DialogError> {
        let from = request.from_addr().ok_or(DialogError::Missing("From"))?;
        Ok(Self {
            id: DialogId {
                call_id: request
                    .call_id()
                    .ok_or(DialogError::Missing("Call-ID"))?
                    .to_owned(),
                local_tag: local_tag.to_owned(),
                remote_tag: from
                    .tag()
                    .ok_or(DialogError::MissingTag("From"))?
                    .to_owned(),
            },
            remote_seq: Some(request.cseq().ok_or(DialogError::Missing("CSeq"))?.0),
            remote_uri: from.uri,
            remote_target: contact_uri(request).ok_or(DialogError::Missing("Contact"))?,
            route_set: record_route(request),
        })
    }

    /// The To of requests sent inside the dialog: the remote URI with the
    /// remote tag (§12.2.1.1).
    pub fn remote_name_addr(&self) -> String {
        format!("<{}>;tag={}", self.remote_uri, self.id.remote_tag)
    }

    /// Request-URI and Route values (§12.2.1.1): no route set, the remote
    /// target and no Route; a loose first route (`lr`), the remote target
    /// and the whole route set; a strict first route, that route as the
    /// Request-URI and the rest plus the remote target as Route.
    pub fn request_target(&self) -> (String, Vec<String>) {
        let Some(first) = self.route_set.first() else {
            return (self.remote_target.clone(), Vec::new());
        };
        let loose = SipUri::parse(first).is_ok_and(|u| u.is_loose_router());
        if loose {
            return (self.remote_target.clone(), self.route_set.clone());
        }
        // A strict router's URI becomes the Request-URI, minus any headers
        // component, which a Request-URI must not carry (§19.1.1).
        let strict_uri = SipUri::parse(first).map_or_else(
            |_| first.clone(),
            |mut u| {
                u.headers.clear();
                u.to_string()
            },
        );
        let mut routes: Vec<String> = self.route_set[1..].to_vec();
        routes.push(self.remote_target.clone());
        (strict_uri, routes)
    }

    /// Judges an arriving in-dialog request without taking it (§12.2.2):
    /// it must carry this dialog's Call-ID, the remote tag in From and the
    /// local tag in To (checked in that order), and, unless it is an ACK
    /// or CANCEL, a CSeq above the last remote one.
    pub fn check_request(&self, request: &SipMessage) -> Result<(), DialogError> {
        let parts = [
            (
                IdPart::CallId,
                request.call_id().map(str::to_owned),
                &self.id.call_id,
            ),
            (
                IdPart::FromTag,
                request.from_addr().and_then(|a| a.tag().map(str::to_owned)),
                &self.id.remote_tag,
            ),
            (
                IdPart::ToTag,
                request.to_addr().and_then(|a| a.tag().map(str::to_owned)),
                &self.id.local_tag,
            ),
        ];
        for (part, got, expected) in parts {
            if got.as_ref() != Some(expected) {
                return Err(DialogError::NotThisDialog {
                    part,
                    got,
                    expected: expected.clone(),
                });
            }
        }
        let (seq, _) = request.cseq().ok_or(DialogError::Missing("CSeq"))?;
        let method = request.method().unwrap_or_default();
        if method != "ACK"
            && method != "CANCEL"
            && let Some(last) = self.remote_seq
            && seq <= last
        {
            return Err(DialogError::CseqOutOfOrder { got: seq, last });
        }
        Ok(())
    }

    /// Takes an arriving in-dialog request that [`Dialog::check_request`]
    /// accepts: its CSeq becomes the last remote one, and a target refresh
    /// with a Contact updates the remote target. A refused request changes
    /// nothing.
    pub fn on_request(&mut self, request: &SipMessage) -> Result<(), DialogError> {
        self.check_request(request)?;
        let method = request.method().unwrap_or_default();
        if method != "ACK"
            && method != "CANCEL"
            && let Some((seq, _)) = request.cseq()
        {
            self.remote_seq = Some(seq);
        }
        if refreshes_target(method)
            && let Some(target) = contact_uri(request)
        {
            self.remote_target = target;
        }
        Ok(())
    }

    /// Takes the answer to a request this side sent inside the dialog: a
    /// 2xx to a target refresh with a Contact updates the remote target
    /// (§12.2.1.2). The route set stays as the dialog formed it.
    pub fn on_refresh_answered(&mut self, request: &SipMessage, response: &SipMessage) {
        let accepted = response.status().is_some_and(|s| (200..300).contains(&s));
        if accepted
            && request.call_id() == Some(self.id.call_id.as_str())
            && request.method().is_some_and(refreshes_target)
            && let Some(target) = contact_uri(response)
        {
            self.remote_target = target;
        }
    }
}

/// Every Record-Route URI in order, across lines and commas.
fn record_route(message: &SipMessage) -> Vec<String> {
    message
        .headers
        .values("record-route")
        .into_iter()
        .filter_map(NameAddr::parse)
        .map(|a| a.uri)
        .collect()
}

fn contact_uri(message: &SipMessage) -> Option<String> {
    let first = *message.headers.values("contact").first()?;
    NameAddr::parse(first).map(|a| a.uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> SipMessage {
        SipMessage::parse(text.replace('\n', "\r\n").as_bytes()).expect("test message parses")
    }

    fn invite() -> SipMessage {
        parse(
            "INVITE sip:bob@contoso.test SIP/2.0
Via: SIP/2.0/TLS alice.example.com;branch=z9hG4bK1
Max-Forwards: 70
From: \"Alice\" <sip:alice@example.com>;tag=a1
To: <sip:bob@contoso.test>
Call-ID: dlg-1
CSeq: 10 INVITE
Contact: <sip:alice@alice.example.com;transport=tls>
Record-Route: <sip:edge-int.contoso.test;lr>
Record-Route: <sip:sip.contoso.test;lr>, <sip:proxy.example.com;lr>
Content-Length: 0

",
        )
    }

    fn ok() -> SipMessage {
        let mut r = invite().response(200, "OK", Some("b1"));
        r.headers
            .push("Contact", "<sip:bob@pool.contoso.test;transport=tls>");
        r
    }

    /// A request from Alice inside the dialog Bob answered as UAS, its
    /// method that of `cseq`.
    fn bye(cseq: &str) -> SipMessage {
        let method = cseq.split(' ').nth(1).unwrap_or("BYE");
        parse(&format!(
            "{method} sip:bob@pool.contoso.test SIP/2.0
Via: SIP/2.0/TLS alice.example.com;branch=z9hG4bK2
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@contoso.test>;tag=b1
Call-ID: dlg-1
CSeq: {cseq}
Content-Length: 0

"
        ))
    }

    #[test]
    fn uac_route_set_is_record_route_reversed() {
        let d = Dialog::as_uac(&invite(), &ok()).expect("dialog");
        assert_eq!(d.id.local_tag, "a1");
        assert_eq!(d.id.remote_tag, "b1");
        assert_eq!(d.remote_seq, None);
        assert_eq!(
            d.route_set,
            vec![
                "sip:proxy.example.com;lr",
                "sip:sip.contoso.test;lr",
                "sip:edge-int.contoso.test;lr"
            ]
        );
        let (uri, routes) = d.request_target();
        assert_eq!(uri, "sip:bob@pool.contoso.test;transport=tls");
        assert_eq!(routes, d.route_set);
        assert_eq!(d.remote_name_addr(), "<sip:bob@contoso.test>;tag=b1");
    }

    #[test]
    fn uas_route_set_keeps_order_and_checks_cseq() {
        let mut d = Dialog::as_uas(&invite(), "b1").expect("dialog");
        assert_eq!(d.route_set[0], "sip:edge-int.contoso.test;lr");
        assert_eq!(d.remote_target, "sip:alice@alice.example.com;transport=tls");
        assert_eq!(d.remote_name_addr(), "<sip:alice@example.com>;tag=a1");
        assert_eq!(
            d.on_request(&bye("9 BYE")),
            Err(DialogError::CseqOutOfOrder { got: 9, last: 10 })
        );
        assert_eq!(d.remote_seq, Some(10), "a refused request changes nothing");
        assert_eq!(d.on_request(&bye("11 BYE")), Ok(()));
        assert_eq!(d.remote_seq, Some(11));
        assert_eq!(
            d.check_request(&bye("10 ACK")),
            Ok(()),
            "an ACK keeps the INVITE's CSeq"
        );
    }

    #[test]
    fn each_part_of_the_id_is_named_in_the_order_call_id_from_to() {
        let d = Dialog::as_uas(&invite(), "b1").expect("dialog");
        let refused = |change: fn(&mut SipMessage)| {
            let mut request = bye("11 BYE");
            change(&mut request);
            d.check_request(&request).expect_err("refused")
        };
        assert_eq!(
            refused(|r| {
                r.headers.set("Call-ID", "dlg-2");
                r.headers.set("To", "<sip:bob@contoso.test>");
            }),
            DialogError::NotThisDialog {
                part: IdPart::CallId,
                got: Some("dlg-2".to_owned()),
                expected: "dlg-1".to_owned()
            }
        );
        assert_eq!(
            refused(|r| r.headers.set("From", "<sip:alice@example.com>")),
            DialogError::NotThisDialog {
                part: IdPart::FromTag,
                got: None,
                expected: "a1".to_owned()
            }
        );
        let other = refused(|r| r.headers.set("To", "<sip:bob@contoso.test>;tag=other"));
        assert_eq!(
            other.to_string(),
            "the request's To tag is other, not this dialog's b1: it does not belong to this dialog (RFC 3261 §12.2.2)"
        );
        assert_eq!(
            refused(|r| r.headers.remove_all("CSeq")),
            DialogError::Missing("CSeq")
        );
    }

    #[test]
    fn strict_first_route_becomes_the_request_uri() {
        let mut d = Dialog::as_uac(&invite(), &ok()).expect("dialog");
        d.route_set = vec![
            "sip:strict.example.com".to_owned(),
            "sip:next.example.com;lr".to_owned(),
        ];
        let (uri, routes) = d.request_target();
        assert_eq!(uri, "sip:strict.example.com");
        assert_eq!(
            routes,
            vec![
                "sip:next.example.com;lr",
                "sip:bob@pool.contoso.test;transport=tls"
            ]
        );
    }

    #[test]
    fn target_refresh_updates_remote_target() {
        let mut d = Dialog::as_uas(&invite(), "b1").expect("dialog");
        let mut reinvite = invite();
        reinvite.headers.set("To", "<sip:bob@contoso.test>;tag=b1");
        reinvite.headers.set("CSeq", "12 INVITE");
        reinvite
            .headers
            .set("Contact", "<sip:alice@new.example.com>");
        d.on_request(&reinvite).expect("in dialog");
        assert_eq!(d.remote_target, "sip:alice@new.example.com");
        let mut message = bye("13 MESSAGE");
        message
            .headers
            .set("Contact", "<sip:alice@other.example.com>");
        d.on_request(&message).expect("in dialog");
        assert_eq!(
            d.remote_target, "sip:alice@new.example.com",
            "a MESSAGE refreshes no target"
        );
        assert!(refreshes_target("NOTIFY") && refreshes_target("SUBSCRIBE"));
        let mut uac = Dialog::as_uac(&invite(), &ok()).expect("dialog");
        let mut refresh = invite();
        refresh.headers.set("To", "<sip:bob@contoso.test>;tag=b1");
        let mut answer = ok();
        answer
            .headers
            .set("Contact", "<sip:bob@moved.contoso.test>");
        answer.headers.remove_all("Record-Route");
        uac.on_refresh_answered(&refresh, &refresh.response(486, "Busy Here", Some("b1")));
        assert_eq!(uac.remote_target, "sip:bob@pool.contoso.test;transport=tls");
        uac.on_refresh_answered(&refresh, &answer);
        assert_eq!(uac.remote_target, "sip:bob@moved.contoso.test");
        assert_eq!(uac.route_set.len(), 3, "the route set stays");
    }

    #[test]
    fn which_requests_create_or_claim_a_dialog() {
        assert!(creates_dialog("INVITE") && creates_dialog("SUBSCRIBE"));
        assert!(!creates_dialog("MESSAGE"));
        assert!(!is_in_dialog(&invite()));
        assert!(is_in_dialog(&bye("11 BYE")));
    }

    #[test]
    fn provisional_100_and_failures_make_no_dialog() {
        let trying = invite().response(100, "Trying", None);
        assert_eq!(
            Dialog::as_uac(&invite(), &trying),
            Err(DialogError::NoDialogResponse(100))
        );
        let mut untagged = ok();
        untagged.headers.set("To", "<sip:bob@contoso.test>");
        assert_eq!(
            Dialog::as_uac(&invite(), &untagged),
            Err(DialogError::MissingTag("To"))
        );
    }
}
