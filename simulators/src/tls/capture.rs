//! Evidence capture under and around TLS: the byte recorder that sits below
//! tokio-rustls (so it sees ciphertext), the NSS key log that lets Wireshark
//! decrypt it, and the recorder of every certificate chain our verifiers saw.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::SystemTime;

use picharness_reports::{Direction, Segment, TcpStream as CapturedStream};

use super::capture_cap::{MAX_CONNECTION_BYTES, NotKept, fitting, segment_cost};
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Locks a mutex, carrying on with the data if another thread panicked while
/// holding it (the evidence is still worth keeping).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Which end of the TCP connection the local side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpRole {
    /// We connected (our writes are client-to-server).
    Client,
    /// We accepted (our writes are server-to-client).
    Server,
}

/// The shared, growing record of one TCP connection. It keeps at most
/// [`MAX_CONNECTION_BYTES`] of trace (see [`super::capture_cap`]); bytes past
/// that are counted, not kept.
#[derive(Clone)]
pub struct ConnectionRecord {
    inner: Arc<Mutex<Captured>>,
}

/// A connection's capture and what it cost.
struct Captured {
    stream: CapturedStream,
    /// Trace bytes kept so far.
    spent: usize,
    /// Counted but not kept, per direction.
    not_kept_c2s: NotKept,
    not_kept_s2c: NotKept,
}

impl Captured {
    fn not_kept_mut(&mut self, direction: Direction) -> &mut NotKept {
        match direction {
            Direction::ClientToServer => &mut self.not_kept_c2s,
            Direction::ServerToClient => &mut self.not_kept_s2c,
        }
    }

    fn not_kept(&self) -> NotKept {
        let mut all = self.not_kept_c2s;
        all.add(self.not_kept_s2c);
        all
    }
}

impl fmt::Debug for ConnectionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = lock(&self.inner);
        let s = &c.stream;
        f.debug_struct("ConnectionRecord")
            .field("client", &s.client)
            .field("server", &s.server)
            .field("segments", &s.segments.len())
            .field("closed", &s.closed_at.is_some())
            .field("not_kept", &c.not_kept())
            .finish()
    }
}

impl ConnectionRecord {
    /// A new, empty record opened now.
    pub fn new(client: SocketAddr, server: SocketAddr) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Captured {
                stream: CapturedStream {
                    client,
                    server,
                    opened_at: SystemTime::now(),
                    segments: Vec::new(),
                    closed_at: None,
                    omitted: None,
                },
                spent: 0,
                not_kept_c2s: NotKept::default(),
                not_kept_s2c: NotKept::default(),
            })),
        }
    }

    /// A copy of everything kept so far.
    pub fn snapshot(&self) -> CapturedStream {
        lock(&self.inner).stream.clone()
    }

    /// What was counted but not kept (past [`MAX_CONNECTION_BYTES`]).
    pub fn not_kept(&self) -> NotKept {
        lock(&self.inner).not_kept()
    }

    /// Marks the connection closed now (the first call wins).
    pub fn mark_closed(&self) {
        let mut c = lock(&self.inner);
        if c.stream.closed_at.is_none() {
            c.stream.closed_at = Some(SystemTime::now());
        }
    }

    /// Whether the connection has been marked closed.
    pub fn is_closed(&self) -> bool {
        lock(&self.inner).stream.closed_at.is_some()
    }

    /// Total bytes that crossed in one direction, kept or not.
    pub fn bytes(&self, direction: Direction) -> usize {
        let mut c = lock(&self.inner);
        let not_kept = usize::try_from(c.not_kept_mut(direction).bytes).unwrap_or(usize::MAX);
        c.stream
            .segments
            .iter()
            .filter(|s| s.direction == direction)
            .map(|s| s.bytes.len())
            .fold(not_kept, usize::saturating_add)
    }

    /// Client and server addresses.
    pub fn endpoints(&self) -> (SocketAddr, SocketAddr) {
        let c = lock(&self.inner);
        (c.stream.client, c.stream.server)
    }

    /// Appends bytes that crossed the socket at `at`. The caller takes `at`
    /// outside this lock (see [`RecordingStream`] for which side of the
    /// system call), so waiting here for a snapshot never skews it.
    fn push(&self, at: SystemTime, direction: Direction, bytes: Vec<u8>) {
        push_segment(&mut lock(&self.inner), at, direction, bytes);
    }
}

/// Keeps `bytes` if the connection's budget allows, else keeps the part
/// that fits and counts the rest. Once anything was left out nothing more is
/// kept, so the capture stays a prefix of the connection.
fn push_segment(captured: &mut Captured, at: SystemTime, direction: Direction, mut bytes: Vec<u8>) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    let fits = if captured.not_kept().any() {
        0
    } else {
        fitting(len, captured.spent, MAX_CONNECTION_BYTES)
    };
    if fits < len {
        captured.not_kept_mut(direction).count(len - fits);
        if fits == 0 {
            return;
        }
        bytes.truncate(fits);
        bytes.shrink_to_fit();
    }
    captured.spent = captured.spent.saturating_add(segment_cost(fits));
    captured.stream.segments.push(Segment {
        at,
        direction,
        bytes,
    });
}

/// An `AsyncRead + AsyncWrite` wrapper that records every chunk read or
/// written, with its time, into a [`ConnectionRecord`].
///
/// Put it between the TCP socket and tokio-rustls so it records ciphertext.
///
/// Times are chosen so that records made at different endpoints never
/// contradict causality: a write is stamped *before* the bytes are handed to
/// the socket (no earlier than the moment they could have left) and a read
/// *after* the socket returned them (no earlier than the moment they
/// arrived). So whatever the scheduler does between the system call and the
/// stamp, a message's send time is always before the time any endpoint read
/// it, or read anything sent in answer to it. Both halves of a connection are
/// polled through `&mut self`, so stamps taken this way also rise in the
/// order the segments are recorded.
///
/// Reading end-of-stream, completing a shutdown, or dropping the wrapper marks
/// the record closed.
pub struct RecordingStream<S> {
    inner: S,
    record: ConnectionRecord,
    role: TcpRole,
}

impl<S> fmt::Debug for RecordingStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingStream")
            .field("role", &self.role)
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

impl<S> RecordingStream<S> {
    /// Wraps `inner`; `role` says which end of the connection we are.
    pub fn new(inner: S, record: ConnectionRecord, role: TcpRole) -> Self {
        Self {
            inner,
            record,
            role,
        }
    }

    /// The record this stream writes to.
    pub fn record(&self) -> &ConnectionRecord {
        &self.record
    }

    /// Which end we are.
    pub fn role(&self) -> TcpRole {
        self.role
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped stream, mutably (bytes moved through it directly are not recorded).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    fn outgoing(&self) -> Direction {
        match self.role {
            TcpRole::Client => Direction::ClientToServer,
            TcpRole::Server => Direction::ServerToClient,
        }
    }

    fn incoming(&self) -> Direction {
        match self.role {
            TcpRole::Client => Direction::ServerToClient,
            TcpRole::Server => Direction::ClientToServer,
        }
    }
}

impl RecordingStream<tokio::net::TcpStream> {
    /// Wraps a connected TCP stream, taking the addresses from the socket.
    pub fn from_tcp(
        tcp: tokio::net::TcpStream,
        role: TcpRole,
    ) -> io::Result<(Self, ConnectionRecord)> {
        let local = tcp.local_addr()?;
        let peer = tcp.peer_addr()?;
        let record = match role {
            TcpRole::Client => ConnectionRecord::new(local, peer),
            TcpRole::Server => ConnectionRecord::new(peer, local),
        };
        Ok((Self::new(tcp, record.clone(), role), record))
    }
}

impl<S> Drop for RecordingStream<S> {
    fn drop(&mut self) {
        self.record.mark_closed();
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for RecordingStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let had_room = buf.remaining() > 0;
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &result {
            let new = &buf.filled()[before..];
            if !new.is_empty() {
                // After the read: the bytes were here by now.
                let at = SystemTime::now();
                this.record.push(at, this.incoming(), new.to_vec());
            } else if had_room {
                // Zero bytes with room to spare: the peer closed its side.
                this.record.mark_closed();
            }
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for RecordingStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let direction = this.outgoing();
        // The record stays locked across the (non-blocking) write, so a
        // snapshot taken by whoever received these bytes waits until they
        // are recorded: evidence can never lag behind the wire.
        let mut record = lock(&this.record.inner);
        // Before the write: the bytes cannot have left earlier than this.
        let at = SystemTime::now();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &result {
            let n = (*n).min(buf.len());
            push_segment(&mut record, at, direction, buf[..n].to_vec());
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let direction = this.outgoing();
        // Locked across the write, as in `poll_write`.
        let mut record = lock(&this.record.inner);
        let at = SystemTime::now();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &result {
            let mut left = *n;
            let mut bytes = Vec::with_capacity(left);
            for b in bufs {
                if left == 0 {
                    break;
                }
                let take = left.min(b.len());
                bytes.extend_from_slice(&b[..take]);
                left -= take;
            }
            push_segment(&mut record, at, direction, bytes);
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_shutdown(cx);
        if result.is_ready() {
            this.record.mark_closed();
        }
        result
    }
}

/// Collects TLS secrets as NSS key log lines
/// (`LABEL <client_random hex> <secret hex>\n`), the format Wireshark reads
/// and the pcapng Decryption Secrets Block carries. Share it with `Arc`.
#[derive(Default)]
pub struct KeyLogCollector {
    lines: Mutex<Vec<u8>>,
}

impl fmt::Debug for KeyLogCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLogCollector")
            .field("bytes", &lock(&self.lines).len())
            .finish()
    }
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0x0f)]);
    }
}

impl KeyLogCollector {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty collector, already in an `Arc`.
    pub fn shared() -> Arc<Self> {
        Arc::new(Self::new())
    }

    /// All lines logged so far.
    pub fn snapshot(&self) -> Vec<u8> {
        lock(&self.lines).clone()
    }

    /// Whether nothing has been logged.
    pub fn is_empty(&self) -> bool {
        lock(&self.lines).is_empty()
    }

    /// Number of lines logged.
    pub fn line_count(&self) -> usize {
        lock(&self.lines).iter().filter(|b| **b == b'\n').count()
    }
}

impl rustls::KeyLog for KeyLogCollector {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let mut line =
            Vec::with_capacity(label.len() + 2 + 2 * (client_random.len() + secret.len()));
        line.extend_from_slice(label.as_bytes());
        line.push(b' ');
        push_hex(&mut line, client_random);
        line.push(b' ');
        push_hex(&mut line, secret);
        line.push(b'\n');
        lock(&self.lines).extend_from_slice(&line);
    }
}

/// One certificate chain presented to one of our verifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedChain {
    /// When the verifier saw it.
    pub at: SystemTime,
    /// Leaf first, then whatever intermediates the peer sent.
    pub chain: Vec<CertificateDer<'static>>,
    /// Whether our verifier accepted it.
    pub accepted: bool,
    /// Why it was rejected.
    pub error: Option<String>,
}

/// Every certificate chain our verifiers were shown, accepted or not, so a
/// case can report on the peer's certificate even when the handshake failed.
#[derive(Clone, Default)]
pub struct ChainRecorder {
    inner: Arc<Mutex<Vec<RecordedChain>>>,
}

impl fmt::Debug for ChainRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainRecorder")
            .field("chains", &lock(&self.inner).len())
            .finish()
    }
}

impl ChainRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a chain with the verdict.
    pub fn record(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        result: Result<(), String>,
    ) {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        let (accepted, error) = match result {
            Ok(()) => (true, None),
            Err(e) => (false, Some(e)),
        };
        lock(&self.inner).push(RecordedChain {
            at: SystemTime::now(),
            chain,
            accepted,
            error,
        });
    }

    /// The most recent chain.
    pub fn last(&self) -> Option<Vec<CertificateDer<'static>>> {
        lock(&self.inner).last().map(|r| r.chain.clone())
    }

    /// The most recent record, with its verdict.
    pub fn last_record(&self) -> Option<RecordedChain> {
        lock(&self.inner).last().cloned()
    }

    /// Everything recorded, oldest first.
    pub fn all(&self) -> Vec<RecordedChain> {
        lock(&self.inner).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// How long the fake socket stalls after moving the bytes, standing in
    /// for a thread preempted between the system call and the stamp.
    const STALL: Duration = Duration::from_millis(5);

    /// A socket that notes when bytes crossed it, then stalls before
    /// returning to the caller.
    struct StallingSocket {
        crossed_at: Arc<Mutex<Vec<SystemTime>>>,
        incoming: Vec<u8>,
    }

    impl AsyncWrite for StallingSocket {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            lock(&self.crossed_at).push(SystemTime::now());
            std::thread::sleep(STALL);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncRead for StallingSocket {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            let n = this.incoming.len().min(buf.remaining());
            buf.put_slice(&this.incoming[..n]);
            this.incoming.drain(..n);
            lock(&this.crossed_at).push(SystemTime::now());
            Poll::Ready(Ok(()))
        }
    }

    fn recorded(incoming: &[u8]) -> (RecordingStream<StallingSocket>, Arc<Mutex<Vec<SystemTime>>>) {
        let crossed_at = Arc::new(Mutex::new(Vec::new()));
        let socket = StallingSocket {
            crossed_at: crossed_at.clone(),
            incoming: incoming.to_vec(),
        };
        let record = ConnectionRecord::new(
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.2:5061".parse().unwrap(),
        );
        (
            RecordingStream::new(socket, record, TcpRole::Client),
            crossed_at,
        )
    }

    #[tokio::test]
    async fn a_write_is_stamped_no_later_than_the_bytes_left() {
        let (mut stream, crossed_at) = recorded(b"");
        stream.write_all(b"SIP/2.0 200 OK\r\n\r\n").await.unwrap();
        let segments = stream.record().snapshot().segments;
        let left = lock(&crossed_at)[0];
        assert_eq!(segments.len(), 1);
        assert!(
            segments[0].at <= left,
            "stamped {:?} after the bytes left",
            segments[0].at.duration_since(left).unwrap_or_default()
        );
    }

    #[tokio::test]
    async fn a_read_is_stamped_no_earlier_than_the_bytes_arrived() {
        let (mut stream, crossed_at) = recorded(b"MESSAGE");
        let mut buf = [0u8; 16];
        let n = stream.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"MESSAGE");
        let segments = stream.record().snapshot().segments;
        assert_eq!(segments.len(), 1);
        assert!(segments[0].at >= lock(&crossed_at)[0]);
    }

    /// The trace oddity this guards against: one endpoint's write stalls
    /// after the bytes left while another endpoint reads them (or the answer
    /// they caused) at once. The write's stamp must still come first.
    #[tokio::test]
    async fn a_stalled_write_still_precedes_a_prompt_read_of_it() {
        let (mut writer, crossed_at) = recorded(b"");
        let (mut reader, _) = recorded(b"SIP/2.0 200 OK\r\n\r\n");
        let write = tokio::task::spawn_blocking(move || {
            block_on_ready(writer.write_all(b"SIP/2.0 200 OK\r\n\r\n")).unwrap();
            writer
        });
        // Read once the writer's bytes have crossed its socket, while the
        // writer is still stalled inside the call.
        while lock(&crossed_at).is_empty() {
            tokio::time::sleep(Duration::from_micros(100)).await;
        }
        let mut buf = [0u8; 64];
        let n = reader.read(&mut buf).await.unwrap();
        assert_eq!(n, 18);
        let writer = write.await.unwrap();
        let sent = writer.record().snapshot().segments[0].at;
        let read = reader.record().snapshot().segments[0].at;
        assert!(
            sent < read,
            "write stamped {:?} after the read of it",
            sent.duration_since(read).unwrap_or_default()
        );
    }

    #[tokio::test]
    async fn a_flood_keeps_its_first_bytes_and_counts_the_rest() {
        use super::super::capture_cap::{MAX_CONNECTION_BYTES, stream_cost};
        // Numbered lines, so the kept bytes can be checked to be the first.
        let flood: Vec<u8> = (0..100_000u32)
            .flat_map(|i| format!("{i:08}\r\n").into_bytes())
            .collect();
        let (mut stream, _) = recorded(&flood);
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, flood, "the reader still gets every byte");
        let record = stream.record().clone();
        let kept = record.snapshot();
        assert!(stream_cost(&kept) <= MAX_CONNECTION_BYTES);
        let kept_bytes: Vec<u8> = kept.segments.iter().flat_map(|s| s.bytes.clone()).collect();
        assert!(kept_bytes.len() > MAX_CONNECTION_BYTES / 2);
        assert_eq!(
            kept_bytes[..],
            flood[..kept_bytes.len()],
            "a prefix is kept"
        );
        let not_kept = record.not_kept();
        assert_eq!(not_kept.bytes as usize, flood.len() - kept_bytes.len());
        assert!(not_kept.segments > 0);
        assert_eq!(record.bytes(Direction::ServerToClient), flood.len());
    }

    /// Drives a future on the current (blocking) thread with a no-op waker;
    /// the fake socket is always ready, so one poll loop finishes it.
    fn block_on_ready<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }
}
