//! `--pcap-seconds N`: the harness's connections record their TLS bytes
//! (below TLS, as `run` records them) during the first N seconds of the
//! run only, then pass bytes through untouched; at the end the records
//! and the TLS key log become `load.pcapng`, which Wireshark decrypts with
//! no setup. A connection keeps at most the capture's per-connection cap
//! (its start and its latest bytes, see `capture_cap`), so a capture stays
//! bounded whatever the rate.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use picharness_reports::CaseEvidence;
use picharness_reports::pcapng::write_pcapng;
use picharness_simulators::tls::{ConnectionRecord, KeyLogCollector, RecordingStream, TcpRole};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The run's capture.
#[derive(Debug)]
pub struct Capture {
    /// Until when connections record (`None`: no capture).
    until: Option<Instant>,
    records: Mutex<Vec<ConnectionRecord>>,
}

impl Capture {
    /// A capture of the `seconds` after `start` (none for 0).
    pub fn new(start: Instant, seconds: u32) -> Self {
        Self {
            until: (seconds > 0).then(|| start + std::time::Duration::from_secs(seconds.into())),
            records: Mutex::new(Vec::new()),
        }
    }

    /// Wraps a new connection: recording while the capture lasts.
    pub fn wrap(&self, tcp: TcpStream, role: TcpRole) -> MaybeRecorded {
        let Some(until) = self.until.filter(|u| Instant::now() < *u) else {
            return MaybeRecorded::Plain(tcp);
        };
        let local = tcp.local_addr();
        let peer = tcp.peer_addr();
        let (Ok(local), Ok(peer)) = (local, peer) else {
            return MaybeRecorded::Plain(tcp);
        };
        let record = match role {
            TcpRole::Client => ConnectionRecord::new(local, peer),
            TcpRole::Server => ConnectionRecord::new(peer, local),
        };
        if let Ok(mut records) = self.records.lock() {
            records.push(record.clone());
        }
        MaybeRecorded::Recorded(Box::new(RecordingStream::new(tcp, record, role)), until)
    }

    /// Writes what was captured to `path`; `Ok(false)` when there was no capture.
    pub fn write(&self, path: &Path, key_log: &Arc<KeyLogCollector>) -> Result<bool, String> {
        if self.until.is_none() {
            return Ok(false);
        }
        let streams = self
            .records
            .lock()
            .map(|r| r.iter().map(ConnectionRecord::snapshot).collect())
            .unwrap_or_default();
        let evidence = CaseEvidence {
            streams,
            key_log: key_log.snapshot(),
            ..CaseEvidence::default()
        };
        write_pcapng(path, &evidence)
            .map(|()| true)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// A TCP stream, recorded until a deadline or not at all.
#[derive(Debug)]
pub enum MaybeRecorded {
    Plain(TcpStream),
    Recorded(Box<RecordingStream<TcpStream>>, Instant),
}

impl MaybeRecorded {
    /// The stream to move bytes through now: past the deadline, the bare
    /// socket (nothing more is recorded).
    fn current(&mut self) -> Pin<&mut (dyn AsyncReadWrite + Send)> {
        match self {
            Self::Plain(tcp) => Pin::new(tcp),
            Self::Recorded(recording, until) => {
                if Instant::now() < *until {
                    Pin::new(recording.as_mut())
                } else {
                    Pin::new(recording.get_mut())
                }
            }
        }
    }
}

trait AsyncReadWrite: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> AsyncReadWrite for T {}

impl AsyncRead for MaybeRecorded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().current().poll_read(cx, buf)
    }
}

impl AsyncWrite for MaybeRecorded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().current().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().current().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().current().poll_shutdown(cx)
    }
}
