//! Presence as the load engine sees it: `presence` in `--mix` (a scenario
//! that drives its own connections, see `driver`), and on the answering
//! side the SUBSCRIBEs and NOTIFYs the Edge relays to the pool and the
//! provider peers, handed to the presence machine for the endpoint whose
//! listener they reached.

use std::sync::Arc;
use std::time::Instant;

use picharness_wire::sip::SipMessage;

use super::driver::Shared;
use super::messages;
use crate::load::scenario::{Origin, RequestContext, Scenario};

/// The name in `--mix` and in the results.
pub const PRESENCE: &str = "presence";

/// `presence` in the mix before the run starts it.
#[derive(Debug, Default)]
pub struct PresenceMix;

impl Scenario for PresenceMix {
    fn name(&self) -> &'static str {
        PRESENCE
    }

    fn origin(&self) -> Origin {
        Origin::Own
    }

    fn write_request(&self, _ctx: &RequestContext<'_>, _out: &mut Vec<u8>) {}
}

/// The running presence scenario on the answering side.
pub struct PresenceAnswers(pub(super) Arc<Shared>);

impl Scenario for PresenceAnswers {
    fn name(&self) -> &'static str {
        PRESENCE
    }

    fn origin(&self) -> Origin {
        Origin::Own
    }

    fn write_request(&self, _ctx: &RequestContext<'_>, _out: &mut Vec<u8>) {}

    fn answer(&self, role: &str, request: &SipMessage, out: &mut Vec<u8>) -> bool {
        if !self.0.owns(request) {
            return false;
        }
        let reply = match self.0.endpoint_of(role) {
            Some(at) => self.0.handle(at, request, Instant::now()),
            None => Some(messages::refusal(request, 404, "Not Found")),
        };
        if let Some(reply) = reply {
            out.extend_from_slice(&reply.to_bytes());
        }
        self.0.wake.notify_one();
        true
    }
}

impl super::driver::PresenceRun {
    /// The scenario that takes presence requests on the answering side.
    pub fn answers(&self) -> Arc<dyn Scenario> {
        Arc::new(PresenceAnswers(self.shared.clone()))
    }
}
