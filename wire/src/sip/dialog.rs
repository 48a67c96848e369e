//! Dialogs (RFC 3261 §12): created from the request and response that set
//! them up, with the route set built from Record-Route, requests inside the
//! dialog built and routed by that route set (loose and strict routing,
//! §12.2.1.1), and arriving in-dialog requests checked for CSeq order
//! (§12.2.2). Sans-IO: no transport, no clock.

use super::headers::Headers;
use super::message::{SipMessage, StartLine};
use super::uri::{NameAddr, SipUri};

/// Call-ID, local tag, remote tag (§12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

impl DialogId {
    /// The id a UAS sees on an arriving in-dialog request: local tag from
    /// To, remote tag from From.
    pub fn of_incoming_request(request: &SipMessage) -> Option<Self> {
        Some(Self {
            call_id: request.call_id()?.to_owned(),
            local_tag: request.to_addr()?.tag()?.to_owned(),
            remote_tag: request.from_addr()?.tag()?.to_owned(),
        })
    }

    /// The id a UAC sees on an arriving response: local tag from From,
    /// remote tag from To.
    pub fn of_incoming_response(response: &SipMessage) -> Option<Self> {
        Some(Self {
            call_id: response.call_id()?.to_owned(),
            local_tag: response.from_addr()?.tag()?.to_owned(),
            remote_tag: response.to_addr()?.tag()?.to_owned(),
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
    #[error("the request does not belong to this dialog (RFC 3261 §12.2.2)")]
    NotThisDialog,
}

/// The dialog state of §12.1: ids, sequence numbers, URIs, remote target
/// and route set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    /// The last CSeq this side used.
    pub local_seq: u32,
    /// The last CSeq the other side used, if it sent a request yet.
    pub remote_seq: Option<u32>,
    /// Our From (without tag) in requests we send.
    pub local_uri: String,
    /// Our To (without tag) in requests we send.
    pub remote_uri: String,
    /// Where in-dialog requests go: the peer's Contact URI.
    pub remote_target: String,
    /// Route URIs in the order requests must visit them.
    pub route_set: Vec<String>,
    /// Whether the dialog was set up over sips (§12.1.1).
    pub secure: bool,
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
            local_seq: request.cseq().ok_or(DialogError::Missing("CSeq"))?.0,
            remote_seq: None,
            local_uri: from.uri,
            remote_uri: to.uri,
            remote_target: contact_uri(response).ok_or(DialogError::Missing("Contact"))?,
            route_set,
            secure: request
                .request_uri()
                .is_some_and(|u| u.to_ascii_lowercase().starts_with("sips:")),
        })
    }

    /// The UAS side, from the request it received and the To tag it chose
    /// (§12.1.1): the route set is the request's Record-Route in order.
    pub fn as_uas(request: &SipMessage, local_tag: &str) -> Result<Self, DialogError> {
        let from = request.from_addr().ok_or(DialogError::Missing("From"))?;
        let to = request.to_addr().ok_or(DialogError::Missing("To"))?;
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
            local_seq: 0,
            remote_seq: Some(request.cseq().ok_or(DialogError::Missing("CSeq"))?.0),
            local_uri: to.uri,
            remote_uri: from.uri,
            remote_target: contact_uri(request).ok_or(DialogError::Missing("Contact"))?,
            route_set: record_route(request),
            secure: request
                .request_uri()
                .is_some_and(|u| u.to_ascii_lowercase().starts_with("sips:")),
        })
    }

    /// Builds the next request inside the dialog (§12.2.1.1), taking the
    /// next local CSeq. The caller adds its own Via (the transport knows the
    /// sent-by and branch). For the ACK of a 2xx use [`Dialog::ack`].
    pub fn request(&mut self, method: &str) -> SipMessage {
        self.local_seq = self.local_seq.saturating_add(1);
        self.build(method, self.local_seq)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_seq` (§13.2.2.4).
    pub fn ack(&self, invite_seq: u32) -> SipMessage {
        self.build("ACK", invite_seq)
    }

    fn build(&self, method: &str, seq: u32) -> SipMessage {
        let (uri, routes) = self.request_target();
        let mut headers = Headers::new();
        for route in routes {
            headers.push("Route", format!("<{route}>"));
        }
        headers.push("Max-Forwards", "70");
        headers.push(
            "From",
            format!("<{}>;tag={}", self.local_uri, self.id.local_tag),
        );
        headers.push(
            "To",
            format!("<{}>;tag={}", self.remote_uri, self.id.remote_tag),
        );
        headers.push("Call-ID", self.id.call_id.clone());
        headers.push("CSeq", format!("{seq} {method}"));
        headers.push("Content-Length", "0");
        SipMessage {
            start: StartLine::Request {
                method: method.to_owned(),
                uri,
                version: "SIP/2.0".to_owned(),
            },
            headers,
            body: Vec::new(),
            raw: Vec::new(),
        }
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

    /// Checks an arriving in-dialog request (§12.2.2): it must carry this
    /// dialog's id and a CSeq above the last one; a target refresh
    /// (re-INVITE, UPDATE) with a Contact updates the remote target.
    pub fn on_request(&mut self, request: &SipMessage) -> Result<(), DialogError> {
        if DialogId::of_incoming_request(request).as_ref() != Some(&self.id) {
            return Err(DialogError::NotThisDialog);
        }
        let (seq, _) = request.cseq().ok_or(DialogError::Missing("CSeq"))?;
        let method = request.method().unwrap_or_default();
        if method != "ACK" && method != "CANCEL" {
            if let Some(last) = self.remote_seq
                && seq <= last
            {
                return Err(DialogError::CseqOutOfOrder { got: seq, last });
            }
            self.remote_seq = Some(seq);
        }
        if matches!(method, "INVITE" | "UPDATE")
            && let Some(target) = contact_uri(request)
        {
            self.remote_target = target;
        }
        Ok(())
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

    #[test]
    fn uac_route_set_is_record_route_reversed() {
        let mut d = Dialog::as_uac(&invite(), &ok()).expect("dialog");
        assert_eq!(d.id.local_tag, "a1");
        assert_eq!(d.id.remote_tag, "b1");
        assert_eq!(
            d.route_set,
            vec![
                "sip:proxy.example.com;lr",
                "sip:sip.contoso.test;lr",
                "sip:edge-int.contoso.test;lr"
            ]
        );
        let bye = d.request("BYE");
        assert_eq!(
            bye.request_uri(),
            Some("sip:bob@pool.contoso.test;transport=tls")
        );
        assert_eq!(
            bye.headers.values("route"),
            vec![
                "<sip:proxy.example.com;lr>",
                "<sip:sip.contoso.test;lr>",
                "<sip:edge-int.contoso.test;lr>"
            ]
        );
        assert_eq!(bye.cseq(), Some((11, "BYE")));
        assert_eq!(
            bye.headers.first("from"),
            Some("<sip:alice@example.com>;tag=a1")
        );
        assert_eq!(
            bye.headers.first("to"),
            Some("<sip:bob@contoso.test>;tag=b1")
        );
        assert_eq!(d.ack(10).cseq(), Some((10, "ACK")));
    }

    #[test]
    fn uas_route_set_keeps_order_and_checks_cseq() {
        let mut d = Dialog::as_uas(&invite(), "b1").expect("dialog");
        assert_eq!(d.route_set[0], "sip:edge-int.contoso.test;lr");
        assert_eq!(d.remote_target, "sip:alice@alice.example.com;transport=tls");
        let mut bye = parse(
            "BYE sip:bob@pool.contoso.test SIP/2.0
Via: SIP/2.0/TLS alice.example.com;branch=z9hG4bK2
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@contoso.test>;tag=b1
Call-ID: dlg-1
CSeq: 9 BYE
Content-Length: 0

",
        );
        assert_eq!(
            d.on_request(&bye),
            Err(DialogError::CseqOutOfOrder { got: 9, last: 10 })
        );
        bye.headers.set("CSeq", "11 BYE");
        assert_eq!(d.on_request(&bye), Ok(()));
        assert_eq!(d.remote_seq, Some(11));
        bye.headers.set("To", "<sip:bob@contoso.test>;tag=other");
        assert_eq!(d.on_request(&bye), Err(DialogError::NotThisDialog));
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
