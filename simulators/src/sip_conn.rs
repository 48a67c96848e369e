//! One SIP connection over a byte stream (TLS in practice): a task that
//! frames incoming bytes into messages and writes outgoing ones, answering
//! CRLF keep-alive pings itself. Owners talk to it through channels, so a
//! slow or hostile peer can never block them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use picharness_wire::sip::{Frame, SipMessage, StreamDecoder};
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::tls::ConnectionRecord;

/// What a connection task reports to its owner.
#[derive(Debug)]
pub enum ConnEvent {
    /// A complete, parsed message.
    Message { message: SipMessage, at: SystemTime },
    /// Bytes that could not be framed or parsed; the connection is closed
    /// after this, as the stream is out of sync.
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
    /// failed) and ended.
    finished: tokio::sync::watch::Receiver<bool>,
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

    pub fn is_closed(&self) -> bool {
        self.outgoing.is_closed()
    }
}

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

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
) -> (ConnHandle, mpsc::UnboundedReceiver<ConnEvent>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let (finished_tx, finished_rx) = tokio::sync::watch::channel(false);
    let handle = ConnHandle {
        id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        local: info.local,
        remote: info.remote,
        record: info.record.clone(),
        peer_chain: Arc::new(info.peer_chain),
        outgoing: out_tx.clone(),
        finished: finished_rx,
    };
    let pong = info.answer_pings.then_some(out_tx);
    tokio::spawn(async move {
        run_connection(
            stream,
            out_rx,
            pong,
            event_tx,
            info.record,
            info.max_message_size,
        )
        .await;
        finished_tx.send_replace(true);
    });
    (handle, event_rx)
}

async fn run_connection<S>(
    stream: S,
    mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
    pong: Option<mpsc::UnboundedSender<Vec<u8>>>,
    events: mpsc::UnboundedSender<ConnEvent>,
    record: ConnectionRecord,
    max_message_size: usize,
) where
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
        match drain_frames(&mut decoder, &events, pong.as_ref()) {
            Ok(()) => {}
            Err(reason) => break reason,
        }
    };
    drop(pong);
    record.mark_closed();
    let _ = events.send(ConnEvent::Closed {
        reason,
        at: SystemTime::now(),
    });
    writer_task.abort();
}

fn drain_frames(
    decoder: &mut StreamDecoder,
    events: &mpsc::UnboundedSender<ConnEvent>,
    pong: Option<&mpsc::UnboundedSender<Vec<u8>>>,
) -> Result<(), String> {
    loop {
        match decoder.next_frame() {
            Ok(None) => return Ok(()),
            Ok(Some(Frame::Ping)) => {
                if let Some(pong) = pong {
                    let _ = pong.send(b"\r\n".to_vec());
                }
                let _ = events.send(ConnEvent::KeepAlive {
                    ping: true,
                    at: SystemTime::now(),
                });
            }
            Ok(Some(Frame::Pong)) => {
                let _ = events.send(ConnEvent::KeepAlive {
                    ping: false,
                    at: SystemTime::now(),
                });
            }
            Ok(Some(Frame::Message(bytes))) => match SipMessage::parse(&bytes) {
                Ok(message) => {
                    let _ = events.send(ConnEvent::Message {
                        message,
                        at: SystemTime::now(),
                    });
                }
                Err(e) => {
                    let error = format!("unparseable SIP message: {e}");
                    let _ = events.send(ConnEvent::Garbage {
                        bytes,
                        error: error.clone(),
                        at: SystemTime::now(),
                    });
                    return Err(error);
                }
            },
            Err(e) => {
                let error = format!("stream framing failed: {e}");
                let _ = events.send(ConnEvent::Garbage {
                    bytes: decoder.pending().to_vec(),
                    error: error.clone(),
                    at: SystemTime::now(),
                });
                return Err(error);
            }
        }
    }
}
