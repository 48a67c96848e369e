//! One of the presence driver's MTLS connections to the Edge, for one
//! endpoint (the pool to the Edge's internal listener, a provider peer to
//! its external one): a task that connects (again every second after a
//! failure, while the run lasts), writes what the driver queues, and hands
//! every message that arrives to the presence machine, writing its reply
//! back on the same connection. An empty write asks the task to close.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use picharness_wire::sip::{Frame, SipMessage, StreamDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::Endpoint;
use super::driver::Shared;
use crate::load::capture::Capture;
use crate::load::dial::{Dial, Stream, dial};

const RECONNECT_AFTER: Duration = Duration::from_secs(1);
/// The largest message the load roles accept.
const MAX_MESSAGE: usize = 64 * 1024;

/// Where a link connects from and to.
#[derive(Debug, Clone)]
pub(super) struct LinkSpec {
    pub endpoint: Endpoint,
    /// The role's name, for notes.
    pub role: String,
    pub local_ip: IpAddr,
    pub remote: SocketAddr,
    pub server_name: String,
    pub tls: Arc<rustls::ClientConfig>,
    /// `--pcap-seconds`: the connection records while the capture lasts.
    pub capture: Arc<Capture>,
}

/// The driver's handle on a link.
#[derive(Debug, Clone)]
pub(super) struct Link {
    tx: UnboundedSender<Vec<u8>>,
    up: Arc<AtomicBool>,
}

impl Link {
    /// Whether the connection is open.
    pub(super) fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Queues bytes; false when the link has ended.
    pub(super) fn send(&self, bytes: Vec<u8>) -> bool {
        !bytes.is_empty() && self.tx.send(bytes).is_ok()
    }

    /// Asks the link to close its connection and end.
    pub(super) fn close(&self) {
        let _ = self.tx.send(Vec::new());
    }
}

/// Starts a link's task.
pub(super) fn spawn_link(
    spec: LinkSpec,
    shared: Arc<Shared>,
) -> (Link, tokio::task::JoinHandle<()>) {
    let (tx, rx) = unbounded_channel();
    let up = Arc::new(AtomicBool::new(false));
    let link = Link {
        tx: tx.clone(),
        up: up.clone(),
    };
    let task = tokio::spawn(run_link(spec, shared, tx, rx, up));
    (link, task)
}

async fn connect(spec: &LinkSpec) -> Result<Stream, String> {
    dial(Dial {
        local_ip: spec.local_ip,
        remote: spec.remote,
        server_name: &spec.server_name,
        tls: &spec.tls,
        capture: &spec.capture,
        no_delay: true,
    })
    .await
}

async fn run_link(
    spec: LinkSpec,
    shared: Arc<Shared>,
    tx: UnboundedSender<Vec<u8>>,
    mut rx: UnboundedReceiver<Vec<u8>>,
    up: Arc<AtomicBool>,
) {
    loop {
        match connect(&spec).await {
            Ok(stream) => {
                let _open = shared.control.opened();
                up.store(true, Ordering::Relaxed);
                let (reader, writer) = tokio::io::split(stream);
                let ended = tokio::select! {
                    why = read_loop(&spec, &shared, reader, &tx) => why,
                    why = write_loop(writer, &mut rx) => why,
                };
                up.store(false, Ordering::Relaxed);
                match ended {
                    None => return,
                    Some(why) => shared.control.note(format!(
                        "presence: {} connection to {}: {why}",
                        spec.role, spec.server_name
                    )),
                }
            }
            Err(e) => shared.control.note(format!(
                "presence: {} cannot connect to {} ({}): {e}",
                spec.role, spec.server_name, spec.remote
            )),
        }
        // Down: wait, dropping nothing but a close request.
        let retry_at = Instant::now() + RECONNECT_AFTER;
        while Instant::now() < retry_at {
            match tokio::time::timeout(Duration::from_millis(50), rx.recv()).await {
                Ok(None) => return,
                Ok(Some(bytes)) if bytes.is_empty() => return,
                _ => {}
            }
        }
    }
}

/// Writes what is queued; `None` when asked to close (after closing).
async fn write_loop(
    mut writer: tokio::io::WriteHalf<Stream>,
    rx: &mut UnboundedReceiver<Vec<u8>>,
) -> Option<String> {
    let mut batch: Vec<u8> = Vec::with_capacity(64 * 1024);
    while let Some(first) = rx.recv().await {
        let mut closing = first.is_empty();
        batch.extend_from_slice(&first);
        while !closing && batch.len() < 256 * 1024 {
            match rx.try_recv() {
                Ok(more) if more.is_empty() => closing = true,
                Ok(more) => batch.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            if let Err(e) = writer.write_all(&batch).await {
                return Some(format!("write failed: {e}"));
            }
            batch.clear();
        }
        if closing {
            let _ = tokio::time::timeout(Duration::from_secs(1), writer.shutdown()).await;
            return None;
        }
    }
    None
}

/// Reads what the Edge sends and gives it to the machine; returns why
/// the connection ended.
async fn read_loop(
    spec: &LinkSpec,
    shared: &Shared,
    mut reader: tokio::io::ReadHalf<Stream>,
    tx: &UnboundedSender<Vec<u8>>,
) -> Option<String> {
    let mut decoder = StreamDecoder::new(MAX_MESSAGE);
    let mut buffer = vec![0u8; 32 * 1024];
    loop {
        let n = match reader.read(&mut buffer).await {
            Ok(0) => return Some("the Edge closed the connection".to_owned()),
            Ok(n) => n,
            Err(e) => return Some(format!("read failed: {e}")),
        };
        decoder.push(&buffer[..n]);
        let now = Instant::now();
        let mut replies: Vec<u8> = Vec::new();
        loop {
            match decoder.next_frame() {
                Ok(None) => break,
                Ok(Some(Frame::Message(bytes))) => {
                    let Ok(message) = SipMessage::parse(&bytes) else {
                        return Some("the Edge sent an unparseable message".to_owned());
                    };
                    if let Some(reply) = shared.handle(spec.endpoint, &message, now) {
                        replies.extend_from_slice(&reply.to_bytes());
                    }
                }
                Ok(Some(Frame::Ping)) => replies.extend_from_slice(b"\r\n"),
                Ok(Some(Frame::Pong)) => {}
                Err(e) => return Some(format!("the Edge's stream cannot be framed: {e}")),
            }
        }
        if !replies.is_empty() {
            let _ = tx.send(replies);
        }
        shared.wake.notify_one();
    }
}
