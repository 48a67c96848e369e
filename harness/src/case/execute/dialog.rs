//! The dialog each actor of a case is in, as `wire::sip::dialog::Dialog`
//! keeps it (RFC 3261 §12): the runner plays the actors as user agents, so
//! their dialogs are the wire's, formed and taken the way a UA does.
//!
//! - A UAS dialog forms when the actor answers a dialog-creating request
//!   (INVITE, SUBSCRIBE) outside a dialog with 101-299 ([`CaseRun::reply`]).
//! - A UAC dialog forms when the actor accepts a 101-299 to such a request it
//!   sent, made from that request (matched by its client transaction key)
//!   and the response; a 2xx to a target refresh it sent inside the dialog
//!   updates the remote target.
//! - An in-dialog request the actor accepts is taken by the dialog (CSeq,
//!   target refresh); one the dialog refuses changes nothing, as a UA
//!   would answer it 481 or 500 and keep its state. Whether it belonged is
//!   judged by the `same_dialog_as` rule, with the dialog as it stood
//!   before the request.
//!
//! What differs from a UA: the runner keeps one dialog per actor (a case
//! plays one session at a time for each actor), and the requests sent in
//! it are rendered from the scenario's templates, which write their own
//! From, Call-ID and CSeq; the dialog supplies the Request-URI, Route and
//! To (`{dialog.target}`, `{dialog.route}`, `{dialog.remote}`).

use picharness_wire::sip::SipMessage;
use picharness_wire::sip::dialog::{Dialog, creates_dialog, is_in_dialog};

use super::CaseRun;

/// An actor's dialog and, when the actor is its UAS, the request that
/// formed it (method and CSeq), which the `same_dialog_as` rule names.
#[derive(Debug, Clone)]
pub(crate) struct ActorDialog {
    pub(crate) dialog: Dialog,
    pub(crate) received: Option<(String, u32)>,
}

impl ActorDialog {
    /// The template variables of a request sent in the dialog: target
    /// (Request-URI), the Route header line (empty without a route set),
    /// and the remote party with its tag (To).
    pub(super) fn template_values(&self) -> (String, String, String) {
        let (target, routes) = self.dialog.request_target();
        let route = if routes.is_empty() {
            String::new()
        } else {
            let values: Vec<String> = routes.iter().map(|r| format!("<{r}>")).collect();
            format!("Route: {}", values.join(", "))
        };
        (target, route, self.dialog.remote_name_addr())
    }
}

impl CaseRun<'_> {
    /// The actor answers `request` with `status` under its own tag: a
    /// 101-299 to a dialog-creating request outside a dialog forms its
    /// UAS dialog.
    pub(super) fn answered(&mut self, actor: &str, request: &SipMessage, status: u16) {
        let Some(method) = request.method().filter(|m| creates_dialog(m)) else {
            return;
        };
        if !(101..=299).contains(&status) || is_in_dialog(request) {
            return;
        }
        let tag = self.tag_of(actor);
        if let (Ok(dialog), Some((seq, _))) = (Dialog::as_uas(request, &tag), request.cseq()) {
            let received = Some((method.to_owned(), seq));
            self.dialogs
                .insert(actor.to_owned(), ActorDialog { dialog, received });
        }
    }

    /// Takes a message the actor accepted into its dialog state.
    pub(super) fn take_into_dialog(&mut self, actor: &str, message: &SipMessage) {
        if message.is_request() {
            if is_in_dialog(message)
                && let Some(current) = self.dialogs.get_mut(actor)
            {
                let _ = current.dialog.on_request(message);
            }
            return;
        }
        let Some(request) = self.sent_requests.request_answered_by(actor, message) else {
            return;
        };
        if is_in_dialog(request) {
            if let Some(current) = self.dialogs.get_mut(actor) {
                current.dialog.on_refresh_answered(request, message);
            }
        } else if request.method().is_some_and(creates_dialog)
            && let Ok(dialog) = Dialog::as_uac(request, message)
        {
            self.dialogs.insert(
                actor.to_owned(),
                ActorDialog {
                    dialog,
                    received: None,
                },
            );
        }
    }
}
