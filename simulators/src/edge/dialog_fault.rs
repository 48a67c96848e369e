//! The faults that break a dialog's identity in a request relayed inside
//! it: an in-dialog MESSAGE of an IM session is relayed with CSeq 1
//! (`renumber-in-dialog`), with a Call-ID of its own
//! (`new-call-id-in-dialog`) or with another To tag (`retag-in-dialog`).
//! The receiver can no longer match it to the INVITE's dialog (IM-05,
//! RFC 3261 §12.2.2). Every other request passes untouched.

use picharness_wire::sip::SipMessage;

use super::fault::{Fault, FaultSet};

/// Applies the switched-on dialog faults to `request`, a MESSAGE that
/// carries a To tag (one sent inside a dialog).
pub(super) fn rewrite_dialog_ids(faults: &FaultSet, request: &mut SipMessage) {
    let is_in_dialog_message = request.method() == Some("MESSAGE")
        && request.to_addr().is_some_and(|to| to.tag().is_some());
    if !is_in_dialog_message {
        return;
    }
    if faults.has(Fault::RenumberInDialog) {
        request.headers.set("CSeq", "1 MESSAGE");
    }
    if faults.has(Fault::NewCallIdInDialog)
        && let Some(call_id) = request.headers.first("call-id")
    {
        let other = format!("edge-{}", call_id.trim());
        request.headers.set("Call-ID", other);
    }
    if faults.has(Fault::RetagInDialog)
        && let Some(to) = request.headers.first("to")
        && let Some(other) = retagged(to)
    {
        request.headers.set("To", other);
    }
}

/// `to` (a To header value) with `x` appended to its tag; `None` without
/// a tag.
fn retagged(to: &str) -> Option<String> {
    let lower = to.to_ascii_lowercase();
    let start = lower.find(";tag=")? + ";tag=".len();
    let end = to[start..]
        .find([';', ' ', '\t'])
        .map_or(to.len(), |n| start + n);
    Some(format!("{}x{}", &to[..end], &to[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_gains_a_letter_wherever_it_stands() {
        assert_eq!(
            retagged("<sip:a@b.test>;tag=abc").as_deref(),
            Some("<sip:a@b.test>;tag=abcx")
        );
        assert_eq!(
            retagged("\"A\" <sip:a@b.test>;TAG=abc;x=1").as_deref(),
            Some("\"A\" <sip:a@b.test>;TAG=abcx;x=1")
        );
        assert_eq!(retagged("<sip:a@b.test>"), None);
    }
}
