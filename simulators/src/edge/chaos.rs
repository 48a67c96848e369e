//! Chaos modes: an Edge that misbehaves as a whole (silent, stalling,
//! talking garbage, resetting, answering 200 to everything), for tests that
//! prove the harness stays honest, bounded and alive whatever the SUT does.
//!
//! These are not fault switches: a fault switch is one conformance defect
//! the fault table pins to the cases it must fail, while a chaos mode breaks
//! everything at once. They are selected with `--sut-chaos MODE` and never
//! listed by `picharness faults`.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use picharness_wire::sip::{Frame, SipMessage, StreamDecoder};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::tls::accept_tls;

/// How long a chaos connection is held at most: whatever the mode, nothing
/// here outlives a case by much.
const HOLD: Duration = Duration::from_secs(30);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// The size of the message the `oversize` mode streams (far over any limit).
pub const OVERSIZE_BYTES: usize = 10 * 1024 * 1024;

/// One way for the whole Edge to misbehave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChaosMode {
    /// Accepts TCP, then never reads a handshake nor sends a byte.
    SilentAfterAccept,
    /// Completes TLS, then reads and never answers.
    StallAfterTls,
    /// Completes TLS, then answers everything with binary junk.
    Garbage,
    /// Completes TLS, then answers every request with a malformed SIP response.
    BrokenSip,
    /// Completes TLS, then answers the first request with a 10 MiB message.
    Oversize,
    /// Completes TLS, then resets the connection.
    ResetAfterHandshake,
    /// Completes TLS, then sends half a `SIP/2.0 200 OK` and resets.
    ResetMidMessage,
    /// Answers the ClientHello with a fatal TLS alert.
    TlsAlert,
    /// Answers the ClientHello with plain text instead of a ServerHello.
    PlainText,
    /// Completes TLS and answers every request 200 OK without forwarding it.
    YesMan,
    /// Completes TLS, then answers the first request with an endless stream
    /// of small, valid 200 OK responses and CRLF keep-alives.
    Flood,
    /// The reference Edge, which stops (listeners closed, connections
    /// dropped) while handling the fourth request it receives from outside.
    CrashMidRun,
}

impl ChaosMode {
    pub const ALL: [Self; 12] = [
        Self::SilentAfterAccept,
        Self::StallAfterTls,
        Self::Garbage,
        Self::BrokenSip,
        Self::Oversize,
        Self::ResetAfterHandshake,
        Self::ResetMidMessage,
        Self::TlsAlert,
        Self::PlainText,
        Self::YesMan,
        Self::Flood,
        Self::CrashMidRun,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::SilentAfterAccept => "silent-after-accept",
            Self::StallAfterTls => "stall-after-tls",
            Self::Garbage => "garbage",
            Self::BrokenSip => "broken-sip",
            Self::Oversize => "oversize",
            Self::ResetAfterHandshake => "reset-after-handshake",
            Self::ResetMidMessage => "reset-mid-message",
            Self::TlsAlert => "tls-alert",
            Self::PlainText => "plain-text",
            Self::YesMan => "yes-man",
            Self::Flood => "flood",
            Self::CrashMidRun => "crash-mid-run",
        }
    }

    /// Whether the mode completes TLS handshakes with the Edge certificate
    /// (so cases that judge only the certificate can pass honestly).
    pub fn completes_tls(self) -> bool {
        !matches!(
            self,
            Self::SilentAfterAccept | Self::TlsAlert | Self::PlainText
        )
    }

    /// The number of requests from outside the crashing Edge handles
    /// before it stops.
    pub const CRASH_AFTER_REQUESTS: usize = 3;
}

impl fmt::Display for ChaosMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A chaos mode nobody knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown chaos mode {name:?}; known: {}", ChaosMode::ALL.iter().map(|m| m.name()).collect::<Vec<_>>().join(", "))]
pub struct UnknownChaosMode {
    pub name: String,
}

impl FromStr for ChaosMode {
    type Err = UnknownChaosMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownChaosMode { name: s.to_owned() })
    }
}

/// A running chaos Edge: one listener per address. Dropping it stops them.
pub struct ChaosEdge {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for ChaosEdge {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl ChaosEdge {
    /// Listens on each of `listen` and misbehaves as `mode` says, with `tls`
    /// (the Edge certificate) where the mode speaks TLS.
    pub async fn start(
        mode: ChaosMode,
        listen: &[SocketAddr],
        tls: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<Self> {
        let acceptor = TlsAcceptor::from(tls);
        let mut tasks = Vec::new();
        for address in listen {
            let listener = TcpListener::bind(address).await?;
            tasks.push(tokio::spawn(accept_loop(mode, listener, acceptor.clone())));
        }
        Ok(Self { tasks })
    }
}

async fn accept_loop(mode: ChaosMode, listener: TcpListener, acceptor: TlsAcceptor) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(HOLD, serve(mode, tcp, acceptor)).await;
        });
    }
}

async fn serve(mode: ChaosMode, mut tcp: TcpStream, acceptor: TlsAcceptor) {
    match mode {
        ChaosMode::SilentAfterAccept => {
            drain(&mut tcp).await;
            return;
        }
        ChaosMode::TlsAlert => {
            let _ = read_some(&mut tcp).await;
            // A fatal handshake_failure alert record (RFC 8446 §6).
            let _ = tcp
                .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])
                .await;
            return;
        }
        ChaosMode::PlainText => {
            let _ = read_some(&mut tcp).await;
            let _ = tcp
                .write_all(b"SIP/2.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
            return;
        }
        _ => {}
    }
    let Ok((mut tls, _)) = accept_tls(tcp, &acceptor, HANDSHAKE_TIMEOUT).await else {
        return;
    };
    match mode {
        ChaosMode::StallAfterTls => drain(&mut tls).await,
        ChaosMode::ResetAfterHandshake => {
            let _ = tls.get_ref().0.get_ref().set_zero_linger();
        }
        ChaosMode::ResetMidMessage => {
            if read_some(&mut tls).await {
                let _ = tls
                    .write_all(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS peer;branch=z9hG4bK1\r\nCont")
                    .await;
                let _ = tls.flush().await;
            }
            let _ = tls.get_ref().0.get_ref().set_zero_linger();
        }
        ChaosMode::Garbage => {
            while read_some(&mut tls).await {
                if tls.write_all(&junk()).await.is_err() {
                    break;
                }
            }
        }
        ChaosMode::Oversize => {
            if read_some(&mut tls).await {
                let _ = stream_oversize(&mut tls).await;
            }
        }
        ChaosMode::Flood => {
            if read_some(&mut tls).await {
                let _ = stream_small_frames(&mut tls).await;
            }
        }
        ChaosMode::BrokenSip | ChaosMode::YesMan => answer_requests(mode, &mut tls).await,
        ChaosMode::SilentAfterAccept
        | ChaosMode::TlsAlert
        | ChaosMode::PlainText
        | ChaosMode::CrashMidRun => {}
    }
}

/// Reads and discards until the peer closes.
async fn drain<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut buffer = [0u8; 4096];
    while matches!(stream.read(&mut buffer).await, Ok(n) if n > 0) {}
}

/// Reads one chunk; `false` when the peer closed.
async fn read_some<S: AsyncRead + Unpin>(stream: &mut S) -> bool {
    let mut buffer = [0u8; 16 * 1024];
    matches!(stream.read(&mut buffer).await, Ok(n) if n > 0)
}

/// Bytes no SIP parser accepts: control characters, a terminal escape,
/// U+FFFE, a NUL, with a blank line so a framer cuts them as a message.
fn junk() -> Vec<u8> {
    let mut bytes = b"\x00\x01\x02\x1b[2J\x1b]0;owned\x07 \xef\xbf\xbe <junk>\r\n".to_vec();
    bytes.extend(std::iter::repeat_n(0xa5u8, 256));
    bytes.extend_from_slice(b"\r\n\r\n");
    bytes
}

async fn stream_oversize<S: AsyncWrite + Unpin>(stream: &mut S) -> std::io::Result<()> {
    stream.write_all(b"SIP/2.0 200 OK\r\nX-Fill: ").await?;
    let chunk = vec![b'A'; 64 * 1024];
    let mut sent = 0;
    while sent < OVERSIZE_BYTES {
        stream.write_all(&chunk).await?;
        sent += chunk.len();
    }
    stream.write_all(b"\r\nContent-Length: 0\r\n\r\n").await?;
    stream.flush().await
}

/// Writes small, well-formed responses that answer nothing and CRLF pongs
/// until the peer stops reading (or [`HOLD`] ends the connection).
async fn stream_small_frames<S: AsyncWrite + Unpin>(stream: &mut S) -> std::io::Result<()> {
    let response = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS flood.invalid;branch=z9hG4bKflood\r\n\
From: <sip:flood@flood.invalid>;tag=1\r\nTo: <sip:flood@flood.invalid>;tag=2\r\n\
Call-ID: flood\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n\r\n";
    let burst = response.repeat(64);
    loop {
        stream.write_all(&burst).await?;
    }
}

/// Frames the requests that arrive and answers each: malformed SIP
/// (`broken-sip`) or a 200 OK that forwards nothing (`yes-man`).
async fn answer_requests<S: AsyncRead + AsyncWrite + Unpin>(mode: ChaosMode, stream: &mut S) {
    let mut decoder = StreamDecoder::new(64 * 1024);
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        decoder.push(&buffer[..n]);
        loop {
            let frame = match decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(_) => return,
            };
            let Frame::Message(bytes) = frame else {
                continue;
            };
            let Ok(request) = SipMessage::parse(&bytes) else {
                continue;
            };
            if !request.is_request() || request.method() == Some("ACK") {
                continue;
            }
            let answer = match mode {
                ChaosMode::YesMan => request.response(200, "OK", Some("yes-man")).to_bytes(),
                _ => b"SIP/2.0 2OO OK\r\nVia SIP/2.0/TLS\r\nContent-Length: many\r\n\r\n".to_vec(),
            };
            if stream.write_all(&answer).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for mode in ChaosMode::ALL {
            assert_eq!(mode.name().parse::<ChaosMode>(), Ok(mode));
        }
        assert!("nope".parse::<ChaosMode>().is_err());
    }

    #[test]
    fn junk_is_not_sip() {
        let junk = junk();
        let end = junk
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(junk.len(), |at| at + 4);
        assert!(SipMessage::parse(&junk[..end]).is_err());
    }
}
