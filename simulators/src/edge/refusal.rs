//! Answers the reference Edge makes itself, sans-IO: a response to a
//! request with a To tag of the Edge's own and, for a refusal, a Warning
//! that says why.

use picharness_wire::sip::SipMessage;

/// A To tag of the Edge's own.
pub(super) fn new_tag() -> String {
    format!("edge{:08x}", rand::random::<u32>())
}

/// The Edge's `status` answer to `request`; `warning` (a sentence) goes
/// into a Warning header with code 399.
pub(super) fn refusal(
    request: &SipMessage,
    status: u16,
    reason: &str,
    warning: Option<&str>,
) -> SipMessage {
    let mut response = request.response(status, reason, Some(&new_tag()));
    if let Some(text) = warning {
        response.headers.prepend(
            "Warning",
            format!(
                "399 picharness-reference-edge \"{}\"",
                text.replace('"', "'")
            ),
        );
    }
    response
}
