//! The reference Edge's defences against slow and many clients, and the
//! fault switches that take each away:
//!
//! - `connection-slots`: the external listener serves at most
//!   [`CONNECTION_SLOTS`] connections that have not yet delivered a complete
//!   message, with no handshake timeout: idle, silent or slow clients take
//!   every slot and a good peer is never accepted. (The good Edge has no
//!   such cap and gives up on a handshake after its handshake timeout.)
//! - `serialised-handshakes`: one TLS handshake at a time, with no timeout,
//!   so one client that stalls its handshake blocks every other.
//! - `blocking-reads`: requests from outside are taken one at a time across
//!   all external connections, and while any of them holds an incomplete
//!   message the Edge waits for it to finish, with no timeout: one slow
//!   sender stalls every peer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::FaultSet;
use super::fault::Fault;
use crate::sip_conn::ConnHandle;

/// Connections the `connection-slots` fault lets wait for their first
/// complete message at once.
pub(super) const CONNECTION_SLOTS: usize = 8;
/// The handshake "timeout" of the faults that have none.
const NO_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// How often a blocked reader looks again.
const BLOCKED_POLL: Duration = Duration::from_millis(20);

/// The external listener's handling of slow clients, as the faults make it.
pub(super) struct SlowClients {
    slots: Option<Arc<Semaphore>>,
    serialised_handshakes: bool,
    blocking_reads: bool,
    /// The external connections, for `blocking-reads`.
    open: Mutex<Vec<ConnHandle>>,
}

impl SlowClients {
    pub(super) fn new(faults: &FaultSet) -> Self {
        Self {
            slots: faults
                .has(Fault::ConnectionSlots)
                .then(|| Arc::new(Semaphore::new(CONNECTION_SLOTS))),
            serialised_handshakes: faults.has(Fault::SerialisedHandshakes),
            blocking_reads: faults.has(Fault::BlockingReads),
            open: Mutex::new(Vec::new()),
        }
    }

    /// Waits for a free slot before accepting (`connection-slots`); `None`
    /// when there is no cap.
    pub(super) async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        let slots = self.slots.clone()?;
        slots.acquire_owned().await.ok()
    }

    /// How long an external handshake may take.
    pub(super) fn handshake_timeout(&self, normal: Duration) -> Duration {
        if self.slots.is_some() || self.serialised_handshakes {
            NO_TIMEOUT
        } else {
            normal
        }
    }

    /// Whether the accept loop runs each external handshake itself, one at
    /// a time.
    pub(super) fn serialised_handshakes(&self) -> bool {
        self.serialised_handshakes
    }

    /// Notes an external connection (for `blocking-reads`).
    pub(super) fn opened(&self, handle: &ConnHandle) {
        if !self.blocking_reads {
            return;
        }
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.retain(|c| !c.is_closed());
        open.push(handle.clone());
    }

    /// Under `blocking-reads`, waits while another external connection
    /// holds an incomplete message; at once otherwise.
    pub(super) async fn wait_turn(&self, own: u64) {
        if !self.blocking_reads {
            return;
        }
        loop {
            let blocked = {
                let open = self
                    .open
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                open.iter()
                    .any(|c| c.id != own && !c.is_closed() && c.unframed().total > 0)
            };
            if !blocked {
                return;
            }
            tokio::time::sleep(BLOCKED_POLL).await;
        }
    }
}
