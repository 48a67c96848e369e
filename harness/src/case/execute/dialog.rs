//! What an actor knows of the dialog it is in, and how received messages
//! form and refresh it (RFC 3261 §12).

use picharness_wire::sip::{NameAddr, SipMessage};

use super::CaseRun;

/// What an actor knows of the dialog it is in (RFC 3261 §12.1): where to
/// send in-dialog requests and through which route set.
#[derive(Debug, Clone, Default)]
pub(super) struct DialogView {
    /// The remote target: the peer's Contact URI.
    pub(super) target: String,
    /// The route set, in the order Route headers carry it.
    pub(super) route: Vec<String>,
    /// The remote party's name-addr with its tag (From or To of the
    /// dialog-forming message).
    pub(super) remote: String,
}

impl DialogView {
    /// The view of a UAS that received a dialog-forming request, or of a UAC
    /// that received a 2xx to one; `None` when the message has no Contact.
    pub(super) fn from_message(message: &SipMessage) -> Option<Self> {
        let contact = message
            .headers
            .values("contact")
            .first()
            .and_then(|c| NameAddr::parse(c))?;
        let mut route: Vec<String> = message
            .headers
            .values("record-route")
            .iter()
            .map(|v| (*v).to_owned())
            .collect();
        let remote = if message.is_request() {
            message.headers.first("from")?.to_owned()
        } else {
            route.reverse();
            message.headers.first("to")?.to_owned()
        };
        Some(Self {
            target: contact.uri,
            route,
            remote,
        })
    }
}

impl CaseRun<'_> {
    /// Records the dialog a message formed or refreshed. A request inside an
    /// existing dialog (To tag present) refreshes only the remote target:
    /// the route set is fixed when the dialog forms (RFC 3261 §12.2.2).
    pub(super) fn update_dialog(&mut self, actor: &str, message: &SipMessage, dialog: DialogView) {
        let in_dialog = message.is_request()
            && message
                .headers
                .first("to")
                .and_then(NameAddr::parse)
                .is_some_and(|to| to.tag().is_some());
        match self.dialogs.get_mut(actor) {
            Some(existing) if in_dialog => existing.target = dialog.target,
            _ => {
                self.dialogs.insert(actor.to_owned(), dialog);
            }
        }
    }
}
