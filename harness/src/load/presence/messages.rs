//! The presence messages the harness sends, built from a subscription's
//! parties and dialogs (RFC 6665, RFC 3856): the initial SUBSCRIBE, the
//! in-dialog refresh and unsubscribe (Expires: 0), the notifier's 200 with
//! the granted Expires, the NOTIFY carrying a PIDF document (RFC 3863), and
//! the watcher's 200 to it. Also the few header readings the state machine
//! needs from what arrives.

use picharness_wire::sip::SipMessage;
use picharness_wire::sip::dialog::{Dialog, DialogError};

use super::naming::{Party, branch};

/// What a NOTIFY tells the watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotifyState {
    /// The subscription holds for `expires` more seconds; the presentity is
    /// online (`open`) or not.
    Active { expires: u32, open: bool },
    /// The subscription has ended (after an unsubscribe).
    Terminated,
}

fn via(run_id: &str, party: &Party, index: u32, side: char, cseq: u32) -> String {
    format!(
        "SIP/2.0/TLS {}:5061;branch={}",
        party.fqdn,
        branch(run_id, index, side, cseq)
    )
}

fn add_subscribe_headers(message: &mut SipMessage, watcher: &Party, expires: u32) {
    message.headers.push("Contact", watcher.contact());
    message.headers.push("Event", "presence");
    message.headers.push("Accept", "application/pidf+xml");
    message.headers.push("Expires", expires.to_string());
}

/// The SUBSCRIBE that sets subscription `index` up (CSeq 1, no To tag).
pub(super) fn initial_subscribe(
    run_id: &str,
    index: u32,
    call_id: &str,
    watcher: &Party,
    presentity: &Party,
    watcher_tag: &str,
    expires: u32,
) -> SipMessage {
    let mut m = SipMessage::request("SUBSCRIBE", &presentity.aor());
    m.headers.push("Via", via(run_id, watcher, index, 'w', 1));
    m.headers.push("Max-Forwards", "70");
    m.headers
        .push("From", format!("<{}>;tag={watcher_tag}", watcher.aor()));
    m.headers.push("To", format!("<{}>", presentity.aor()));
    m.headers.push("Call-ID", call_id);
    m.headers.push("CSeq", "1 SUBSCRIBE");
    add_subscribe_headers(&mut m, watcher, expires);
    m.headers.push("Content-Length", "0");
    m
}

/// A request inside `dialog` from `local` (tag `local_tag`) with CSeq
/// `cseq` (RFC 3261 §12.2.1.1): Request-URI and Route from the dialog's
/// remote target and route set, To with the remote tag.
fn in_dialog(
    method: &str,
    dialog: &Dialog,
    local: &Party,
    local_tag: &str,
    cseq: u32,
    via_value: String,
) -> SipMessage {
    let (uri, routes) = dialog.request_target();
    let mut m = SipMessage::request(method, &uri);
    m.headers.push("Via", via_value);
    for route in routes {
        m.headers.push("Route", format!("<{route}>"));
    }
    m.headers.push("Max-Forwards", "70");
    m.headers
        .push("From", format!("<{}>;tag={local_tag}", local.aor()));
    m.headers.push("To", dialog.remote_name_addr());
    m.headers.push("Call-ID", dialog.id.call_id.clone());
    m.headers.push("CSeq", format!("{cseq} {method}"));
    m
}

/// A SUBSCRIBE inside the watcher's dialog with CSeq `cseq`: a refresh,
/// or with `expires` 0 the unsubscribe.
pub(super) fn in_dialog_subscribe(
    run_id: &str,
    index: u32,
    dialog: &Dialog,
    watcher: &Party,
    cseq: u32,
    expires: u32,
) -> SipMessage {
    let via_value = via(run_id, watcher, index, 'w', cseq);
    let mut m = in_dialog(
        "SUBSCRIBE",
        dialog,
        watcher,
        &dialog.id.local_tag,
        cseq,
        via_value,
    );
    add_subscribe_headers(&mut m, watcher, expires);
    m.headers.push("Content-Length", "0");
    m
}

/// The notifier's 200 to a SUBSCRIBE: its To tag, Contact and the Expires
/// it grants (RFC 6665 §4.2.1.1).
pub(super) fn subscribe_ok(
    request: &SipMessage,
    notifier: &Party,
    notifier_tag: &str,
    granted: u32,
) -> SipMessage {
    let mut m = request.response(200, "OK", Some(notifier_tag));
    m.headers.push("Contact", notifier.contact());
    m.headers.push("Expires", granted.to_string());
    m
}

/// The status and reason of a refusal.
pub(super) type Refusal = (u16, &'static str);

/// No such subscription (RFC 6665 §4.1.3, §4.2.1.2).
pub(super) const GONE: Refusal = (481, "Call/Transaction Does Not Exist");

pub(super) const BAD_REQUEST: Refusal = (400, "Bad Request");

/// The refusal for a request its dialog does not take (RFC 3261 §12.2.2).
pub(super) fn refusal_for(error: DialogError) -> Refusal {
    match error {
        DialogError::CseqOutOfOrder { .. } => (500, "CSeq Out Of Order"),
        DialogError::NotThisDialog { .. } => GONE,
        _ => BAD_REQUEST,
    }
}

/// A refusal without a dialog (the request reached the wrong side or
/// broke the subscription's rules).
pub(super) fn refusal(request: &SipMessage, code: u16, reason: &str) -> SipMessage {
    request.response(code, reason, None)
}

/// The PIDF document of `entity` (RFC 3863 §4.1).
pub(super) fn pidf(entity: &str, open: bool) -> Vec<u8> {
    let basic = if open { "open" } else { "closed" };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
         <presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"{entity}\">\
         <tuple id=\"t1\"><status><basic>{basic}</basic></status></tuple></presence>\r\n"
    )
    .into_bytes()
}

/// A NOTIFY inside the notifier's dialog with CSeq `cseq`.
pub(super) fn notify(
    run_id: &str,
    index: u32,
    dialog: &Dialog,
    notifier: &Party,
    cseq: u32,
    state: NotifyState,
) -> SipMessage {
    let via_value = via(run_id, notifier, index, 'n', cseq);
    let mut m = in_dialog(
        "NOTIFY",
        dialog,
        notifier,
        &dialog.id.local_tag,
        cseq,
        via_value,
    );
    m.headers.push("Contact", notifier.contact());
    m.headers.push("Event", "presence");
    let (subscription_state, open) = match state {
        NotifyState::Active { expires, open } => (format!("active;expires={expires}"), open),
        NotifyState::Terminated => ("terminated;reason=timeout".to_owned(), false),
    };
    m.headers.push("Subscription-State", subscription_state);
    m.headers.push("Content-Type", "application/pidf+xml");
    m.set_body(pidf(&notifier.aor(), open));
    m
}

/// The watcher's 200 to a NOTIFY.
pub(super) fn notify_ok(request: &SipMessage) -> SipMessage {
    request.response(200, "OK", None)
}

/// The Expires header's value in seconds.
pub(super) fn expires(message: &SipMessage) -> Option<u32> {
    message.headers.first("expires")?.trim().parse().ok()
}

/// Whether the Event header names the presence package (RFC 3856 §6.2;
/// parameters such as `;id=` do not change the package).
pub(super) fn is_presence_event(message: &SipMessage) -> bool {
    message
        .headers
        .first("event")
        .and_then(|e| e.split(';').next())
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("presence"))
}

/// What a NOTIFY's Subscription-State says: active (or pending, which a
/// watcher treats alike, RFC 6665 §4.1.3), or terminated.
pub(super) fn notify_state(message: &SipMessage) -> Option<NotifyState> {
    let value = message.headers.first("subscription-state")?;
    let mut parts = value.split(';');
    let state = parts.next()?.trim().to_ascii_lowercase();
    let expires = parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("expires"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    match state.as_str() {
        "active" | "pending" => Some(NotifyState::Active {
            expires,
            open: false,
        }),
        "terminated" => Some(NotifyState::Terminated),
        _ => None,
    }
}

/// Whether a NOTIFY's body is the presentity's PIDF document: the PIDF
/// content type, and `entity` naming the user subscribed to.
pub(super) fn carries_pidf_of(message: &SipMessage, entity: &str) -> bool {
    let typed = message
        .headers
        .first("content-type")
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/pidf+xml"));
    let needle = format!("entity=\"{entity}\"");
    typed
        && std::str::from_utf8(&message.body)
            .is_ok_and(|b| b.contains(&needle) && b.contains("<basic>"))
}
