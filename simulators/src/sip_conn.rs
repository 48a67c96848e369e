//! One SIP connection over a byte stream (TLS in practice): a task that
//! frames incoming bytes into messages and writes outgoing ones, answering
//! CRLF keep-alive pings itself. Owners talk to it through channels, so a
//! slow or hostile peer can never block them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use picharness_wire::sip::{Frame, SipMessage, StreamDecoder};
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::tls::ConnectionRecord;

mod flood;

use flood::FloodGate;
pub use flood::{FLOOD_CLOSE_PREFIX, FLOOD_FRAMES_PER_WINDOW, FLOOD_WINDOW};

/// What a connection task reports to its owner.
#[derive(Debug)]
pub enum ConnEvent {
    /// A complete, parsed message.
    Message { message: SipMessage, at: SystemTime },
    /// Bytes that could not be framed or parsed; the connection is closed
    /// after this, as the stream is out of sync. Also the start of a message
    /// the peer never finished before it closed the connection. At most
    /// [`MAX_GARBAGE_KEPT`] bytes are kept; `error` then says how many
    /// arrived.
    Garbage {
        bytes: Vec<u8>,
        error: String,
        at: SystemTime,
    },
    /// The connection ended (peer closed, reset, TLS alert, local close).
    Closed { reason: String, at: SystemTime },
    /// A CRLF keep-alive arrived: a double-CRLF ping (`ping: true`) or a
    /// single-CRLF pong (RFC 5626 §3.5.1).
    KeepAlive { ping: bool, at: SystemTime },
}

/// How much of the bytes received but not yet framed a handle shows.
pub const UNFRAMED_SHOWN: usize = 1024;

/// Bytes received on a connection that do not yet make a complete message
/// (a message still arriving, or one the peer stopped sending halfway).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unframed {
    /// How many bytes are waiting.
    pub total: usize,
    /// The first of them, at most [`UNFRAMED_SHOWN`].
    pub head: Vec<u8>,
}

/// The owner's handle on a running connection. Cloning it is cheap; the
/// connection stays open until every handle is dropped or the peer closes.
#[derive(Debug, Clone)]
pub struct ConnHandle {
    pub id: u64,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub record: ConnectionRecord,
    /// The certificate chain the remote side presented, leaf first.
    pub peer_chain: Arc<Vec<CertificateDer<'static>>>,
    outgoing: mpsc::UnboundedSender<Vec<u8>>,
    /// Turns `true` when the connection task has read the peer's close (or
    /// failed) and ended, before its `Closed` event is sent.
    finished: tokio::sync::watch::Receiver<bool>,
    /// What has arrived but is not yet a complete message.
    unframed: Arc<Mutex<Unframed>>,
}

/// The connection has ended; nothing more can be sent on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the connection is closed")]
pub struct ConnClosed;

impl ConnHandle {
    /// Queues bytes for sending.
    pub fn send(&self, bytes: Vec<u8>) -> Result<(), ConnClosed> {
        if bytes.is_empty() {
            // An empty write is the private close signal (see `close`).
            return if self.is_closed() {
                Err(ConnClosed)
            } else {
                Ok(())
            };
        }
        self.outgoing.send(bytes).map_err(|_| ConnClosed)
    }

    /// Closes the connection in order: sends TLS close_notify and FIN, then
    /// waits (up to `within`) for the peer to close its side too, so that
    /// afterwards the peer no longer uses it. Returns whether it closed.
    pub async fn close(&self, within: std::time::Duration) -> bool {
        let _ = self.outgoing.send(Vec::new());
        let mut finished = self.finished.clone();
        tokio::time::timeout(within, finished.wait_for(|done| *done))
            .await
            .is_ok_and(|waited| waited.is_ok())
    }

    /// Whether the connection has ended. True before its `Closed` event
    /// reaches the owner, so an owner that saw the event never picks it.
    pub fn is_closed(&self) -> bool {
        self.outgoing.is_closed() || *self.finished.borrow()
    }

    /// The bytes received that do not (yet) make a complete message.
    pub fn unframed(&self) -> Unframed {
        self.unframed.lock().map(|u| u.clone()).unwrap_or_default()
    }
}

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// How many events a connection holds for its owner before it stops
/// reading: a peer that sends faster than the owner takes its messages is
/// slowed down by TCP instead of growing a queue.
pub const EVENTS_QUEUED: usize = 256;

/// The most bytes of junk kept from one connection (64 KiB): enough to show
/// what the peer sent, little enough that a peer streaming megabytes cannot
/// blow up memory or the report.
pub const MAX_GARBAGE_KEPT: usize = 64 * 1024;

/// A Garbage event for `bytes`, keeping at most [`MAX_GARBAGE_KEPT`] of them
/// and saying so in the error when it cut.
fn garbage(bytes: &[u8], error: String) -> ConnEvent {
    let (bytes, error) = if bytes.len() > MAX_GARBAGE_KEPT {
        (
            bytes[..MAX_GARBAGE_KEPT].to_vec(),
            format!(
                "{error} (truncated: the first {MAX_GARBAGE_KEPT} of {} bytes kept)",
                bytes.len()
            ),
        )
    } else {
        (bytes.to_vec(), error)
    };
    ConnEvent::Garbage {
        bytes,
        error,
        at: SystemTime::now(),
    }
}

/// Where a connection ends up and what it knows about its peer.
pub struct ConnectionInfo {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub record: ConnectionRecord,
    pub peer_chain: Vec<CertificateDer<'static>>,
    pub max_message_size: usize,
    /// Whether a double-CRLF ping is answered with a CRLF pong.
    pub answer_pings: bool,
}

/// Starts the task that owns `stream`. Events arrive on the returned
/// receiver; the last one is always `Closed`.
pub fn spawn_connection<S>(
    stream: S,
    info: ConnectionInfo,
) -> (ConnHandle, mpsc::Receiver<ConnEvent>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::channel(EVENTS_QUEUED);
    let (finished_tx, finished_rx) = tokio::sync::watch::channel(false);
    let unframed = Arc::new(Mutex::new(Unframed::default()));
    let handle = ConnHandle {
        id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        local: info.local,
        remote: info.remote,
        record: info.record.clone(),
        peer_chain: Arc::new(info.peer_chain),
        outgoing: out_tx.clone(),
        finished: finished_rx,
        unframed: unframed.clone(),
    };
    let pong = info.answer_pings.then_some(out_tx);
    tokio::spawn(async move {
        let reason = run_connection(
            stream,
            out_rx,
            pong,
            &event_tx,
            info.record,
            info.max_message_size,
            &unframed,
        )
        .await;
        finished_tx.send_replace(true);
        let _ = event_tx
            .send(ConnEvent::Closed {
                reason,
                at: SystemTime::now(),
            })
            .await;
    });
    (handle, event_rx)
}

/// Keeps the handle's view of the unframed bytes up to date (cheaply: at
/// most [`UNFRAMED_SHOWN`] bytes are copied).
fn show_unframed(view: &Mutex<Unframed>, pending: &[u8]) {
    let Ok(mut view) = view.lock() else {
        return;
    };
    view.total = pending.len();
    view.head = pending[..pending.len().min(UNFRAMED_SHOWN)].to_vec();
}

/// Whether unframed bytes are the start of a message rather than stray
/// line breaks between messages.
fn is_message_start(pending: &[u8]) -> bool {
    pending.iter().any(|b| !matches!(b, b'\r' | b'\n'))
}

/// Serves the connection until it ends; returns why it ended.
async fn run_connection<S>(
    stream: S,
    mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
    pong: Option<mpsc::UnboundedSender<Vec<u8>>>,
    events: &mpsc::Sender<ConnEvent>,
    record: ConnectionRecord,
    max_message_size: usize,
    unframed: &Mutex<Unframed>,
) -> String
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    // The pong sender is held by the reader half only; dropping it with the
    // reader lets the writer finish once every owner handle is gone.
    let writer_task = tokio::spawn(async move {
        while let Some(bytes) = outgoing.recv().await {
            if bytes.is_empty() {
                break;
            }
            if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let mut decoder = StreamDecoder::new(max_message_size);
    let mut buffer = vec![0u8; 16 * 1024];
    // Set when the bytes left over were already reported as garbage.
    let mut out_of_sync = false;
    let mut flood = FloodGate::new(Instant::now());
    let reason = loop {
        let read = tokio::select! {
            read = reader.read(&mut buffer) => read,
            _ = events.closed() => break "owner went away".to_owned(),
        };
        let n = match read {
            Ok(0) => break "peer closed the connection".to_owned(),
            Ok(n) => n,
            Err(e) => break format!("read failed: {e}"),
        };
        decoder.push(&buffer[..n]);
        let drained = drain_frames(&mut decoder, events, pong.as_ref(), &mut flood).await;
        show_unframed(unframed, decoder.pending());
        if let Err(reason) = drained {
            out_of_sync = true;
            break reason;
        }
    };
    let pending = decoder.pending();
    if !out_of_sync && is_message_start(pending) {
        // The peer stopped halfway through a message: what it sent is
        // evidence, and is not a message.
        let _ = events
            .send(garbage(
                pending,
                format!(
                    "an incomplete message ({} bytes) before the connection ended ({reason})",
                    pending.len()
                ),
            ))
            .await;
    }
    drop(pong);
    record.mark_closed();
    writer_task.abort();
    reason
}

async fn drain_frames(
    decoder: &mut StreamDecoder,
    events: &mpsc::Sender<ConnEvent>,
    pong: Option<&mpsc::UnboundedSender<Vec<u8>>>,
    flood: &mut FloodGate,
) -> Result<(), String> {
    loop {
        let frame = decoder.next_frame();
        if matches!(frame, Ok(Some(_))) {
            flood.admit(Instant::now())?;
        }
        match frame {
            Ok(None) => return Ok(()),
            Ok(Some(Frame::Ping)) => {
                if let Some(pong) = pong {
                    let _ = pong.send(b"\r\n".to_vec());
                }
                let _ = events
                    .send(ConnEvent::KeepAlive {
                        ping: true,
                        at: SystemTime::now(),
                    })
                    .await;
            }
            Ok(Some(Frame::Pong)) => {
                let _ = events
                    .send(ConnEvent::KeepAlive {
                        ping: false,
                        at: SystemTime::now(),
                    })
                    .await;
            }
            Ok(Some(Frame::Message(bytes))) => match SipMessage::parse(&bytes) {
                Ok(message) => {
                    let _ = events
                        .send(ConnEvent::Message {
                            message,
                            at: SystemTime::now(),
                        })
                        .await;
                }
                Err(e) => {
                    let error = format!("unparseable SIP message: {e}");
                    let _ = events.send(garbage(&bytes, error.clone())).await;
                    return Err(error);
                }
            },
            Err(e) => {
                let error = format!("stream framing failed: {e}");
                let _ = events.send(garbage(decoder.pending(), error.clone())).await;
                return Err(error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A connection task over an in-memory stream: the peer's end, the
    /// handle and the events, with `max_message_size` as the framing limit.
    fn connection_with_limit(
        max_message_size: usize,
    ) -> (
        tokio::io::DuplexStream,
        ConnHandle,
        mpsc::Receiver<ConnEvent>,
    ) {
        let (peer, ours) = tokio::io::duplex(64 * 1024);
        let address: SocketAddr = "127.0.0.1:5061".parse().expect("address");
        let (handle, events) = spawn_connection(
            ours,
            ConnectionInfo {
                local: address,
                remote: address,
                record: ConnectionRecord::new(address, address),
                peer_chain: Vec::new(),
                max_message_size,
                answer_pings: false,
            },
        );
        (peer, handle, events)
    }

    #[test]
    fn small_garbage_is_kept_whole() {
        let ConnEvent::Garbage { bytes, error, .. } = garbage(b"junk", "bad".to_owned()) else {
            panic!("not garbage");
        };
        assert_eq!((bytes.as_slice(), error.as_str()), (&b"junk"[..], "bad"));
    }

    #[tokio::test]
    async fn a_peer_streaming_megabytes_leaves_64_kib_marked_as_truncated() {
        let (mut peer, _handle, mut events) = connection_with_limit(4 * 1024 * 1024);
        let writer = tokio::spawn(async move {
            let _ = peer.write_all(b"SIP/2.0 200 OK\r\nX: ").await;
            let junk = vec![b'a'; 1024 * 1024];
            for _ in 0..10 {
                if peer.write_all(&junk).await.is_err() {
                    break;
                }
            }
        });
        let Some(ConnEvent::Garbage { bytes, error, .. }) = events.recv().await else {
            panic!("expected garbage first");
        };
        assert_eq!(bytes.len(), MAX_GARBAGE_KEPT);
        assert!(bytes.starts_with(b"SIP/2.0 200 OK\r\nX: aaa"));
        assert!(
            error.starts_with("stream framing failed: message exceeds the 4194304-byte limit")
                && error.contains(&format!("(truncated: the first {MAX_GARBAGE_KEPT} of ")),
            "{error}"
        );
        assert!(matches!(
            events.recv().await,
            Some(ConnEvent::Closed { .. })
        ));
        writer.abort();
    }

    #[tokio::test]
    async fn a_peer_flooding_keep_alives_is_cut_off_by_the_harness_limit_and_says_so() {
        let (mut peer, _handle, mut events) = connection_with_limit(64 * 1024);
        let writer = tokio::spawn(async move {
            // Single-CRLF pongs, far more than the limit, in one burst.
            let burst = b"\r\n".repeat(4 * FLOOD_FRAMES_PER_WINDOW as usize);
            let _ = peer.write_all(&burst).await;
            let _ = peer.flush().await;
            // Keep the stream open: the harness, not the peer, must end it.
            std::future::pending::<()>().await;
        });
        let mut keep_alives = 0u32;
        let reason = loop {
            match events.recv().await {
                Some(ConnEvent::KeepAlive { .. }) => keep_alives += 1,
                Some(ConnEvent::Closed { reason, .. }) => break reason,
                Some(other) => panic!("unexpected event {other:?}"),
                None => panic!("the connection ended without a Closed event"),
            }
        };
        assert!(keep_alives >= FLOOD_FRAMES_PER_WINDOW, "{keep_alives}");
        assert!(
            reason.contains("flood limit") && reason.contains("not a requirement on the Edge"),
            "{reason}"
        );
        writer.abort();
    }
}
