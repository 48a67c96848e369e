//! What reached an actor from the SUT, in arrival order, for a while: the
//! robustness checks read it to tell whether anything of a hostile input
//! reached the internal pool, including requests no case was routed to
//! (answered 404 by the actor) and bytes that were not SIP at all.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::SystemTime;

use picharness_wire::sip::SipMessage;

use crate::sip_conn::ConnEvent;

/// How many arrivals are kept; older ones are forgotten first.
const KEPT: usize = 256;

/// One arrival.
#[derive(Debug, Clone)]
pub struct IntakeEntry {
    pub at: SystemTime,
    /// Where it came from (the SUT's side of the connection).
    pub remote: SocketAddr,
    pub what: IntakeKind,
}

#[derive(Debug, Clone)]
pub enum IntakeKind {
    /// A complete, parsed message.
    Message(SipMessage),
    /// Bytes that could not be framed or parsed as SIP.
    Garbage { bytes: Vec<u8>, error: String },
}

/// The actor's recent arrivals.
#[derive(Debug, Default)]
pub struct Intake {
    entries: Mutex<VecDeque<IntakeEntry>>,
}

impl Intake {
    /// Keeps `event` when it is a message or garbage.
    pub fn record(&self, remote: SocketAddr, event: &ConnEvent) {
        let (at, what) = match event {
            ConnEvent::Message { message, at } => (*at, IntakeKind::Message(message.clone())),
            ConnEvent::Garbage { bytes, error, at } => (
                *at,
                IntakeKind::Garbage {
                    bytes: bytes.clone(),
                    error: error.clone(),
                },
            ),
            ConnEvent::Closed { .. } | ConnEvent::KeepAlive { .. } => return,
        };
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() == KEPT {
                entries.pop_front();
            }
            entries.push_back(IntakeEntry { at, remote, what });
        }
    }

    /// Every kept arrival at or after `from`, oldest first.
    pub fn since(&self, from: SystemTime) -> Vec<IntakeEntry> {
        self.entries
            .lock()
            .map(|entries| entries.iter().filter(|e| e.at >= from).cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn garbage(at: SystemTime) -> ConnEvent {
        ConnEvent::Garbage {
            bytes: b"\x00junk".to_vec(),
            error: "not SIP".to_owned(),
            at,
        }
    }

    #[test]
    fn keeps_messages_and_garbage_since_a_time_and_forgets_the_oldest() {
        let intake = Intake::default();
        let remote: SocketAddr = "127.0.0.1:5061".parse().expect("address");
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        intake.record(remote, &garbage(start - Duration::from_secs(1)));
        intake.record(
            remote,
            &ConnEvent::KeepAlive {
                ping: true,
                at: start,
            },
        );
        for i in 0..KEPT {
            intake.record(remote, &garbage(start + Duration::from_secs(i as u64)));
        }
        let since = intake.since(start);
        assert_eq!(since.len(), KEPT);
        assert!(matches!(since[0].what, IntakeKind::Garbage { .. }));
        assert!(
            intake
                .since(start + Duration::from_secs(KEPT as u64))
                .is_empty()
        );
    }
}
