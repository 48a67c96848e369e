//! Evidence capture under and around TLS: the byte recorder that sits below
//! tokio-rustls (so it sees ciphertext), the NSS key log that lets Wireshark
//! decrypt it, and the recorder of every certificate chain our verifiers saw.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::SystemTime;

use picharness_reports::{Direction, Omitted, Segment, TcpStream as CapturedStream};

use super::capture_cap::{HEAD_BYTES, SEGMENT_COST, TAIL_BYTES, fitting, segment_cost};
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

/// The shared, growing record of one TCP connection. It keeps its first
/// [`HEAD_BYTES`] and a sliding tail of its latest [`TAIL_BYTES`] of trace
/// (see [`super::capture_cap`]); bytes that slide out of the tail are
/// counted as a gap between the two, not kept.
#[derive(Clone)]
pub struct ConnectionRecord {
    inner: Arc<Mutex<Captured>>,
}

/// A connection's capture and what it cost.
struct Captured {
    /// The addresses, times and the head's segments.
    stream: CapturedStream,
    /// Trace bytes of the head.
    head_spent: usize,
    /// Whether a segment no longer fitted the head: later ones go to the tail.
    head_full: bool,
    /// The latest segments after the head.
    tail: VecDeque<Segment>,
    /// Trace bytes of the tail.
    tail_spent: usize,
    /// What slid out of the tail (its `after` is set by [`Self::snapshot`]).
    gap: Option<Omitted>,
}

impl Captured {
    /// Counts `len` bytes of a segment sent at `at` as left out in the gap.
    fn leave_out(&mut self, direction: Direction, len: usize, at: SystemTime) {
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        let gap = self.gap.get_or_insert(Omitted {
            after: 0,
            client_bytes: 0,
            server_bytes: 0,
            segments: 0,
            until: None,
        });
        match direction {
            Direction::ClientToServer => gap.client_bytes = gap.client_bytes.saturating_add(len),
            Direction::ServerToClient => gap.server_bytes = gap.server_bytes.saturating_add(len),
        }
        gap.segments = gap.segments.saturating_add(1);
        gap.until = gap.until.max(Some(at));
    }

    fn snapshot(&self) -> CapturedStream {
        let mut stream = self.stream.clone();
        stream.segments.extend(self.tail.iter().cloned());
        stream.omitted = self.gap.map(|gap| Omitted {
            after: self.stream.segments.len(),
            ..gap
        });
        stream
    }
}

impl fmt::Debug for ConnectionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = lock(&self.inner);
        let s = &c.stream;
        f.debug_struct("ConnectionRecord")
            .field("client", &s.client)
            .field("server", &s.server)
            .field("segments", &(s.segments.len() + c.tail.len()))
            .field("closed", &s.closed_at.is_some())
            .field("gap", &c.gap)
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
                head_spent: 0,
                head_full: false,
                tail: VecDeque::new(),
                tail_spent: 0,
                gap: None,
            })),
        }
    }

    /// A copy of everything kept so far: the head, the tail and, between
    /// them, the gap of what slid out of the tail.
    pub fn snapshot(&self) -> CapturedStream {
        lock(&self.inner).snapshot()
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
        let c = lock(&self.inner);
        let left_out = c.gap.map_or(0, |gap| match direction {
            Direction::ClientToServer => gap.client_bytes,
            Direction::ServerToClient => gap.server_bytes,
        });
        c.stream
            .segments
            .iter()
            .chain(c.tail.iter())
            .filter(|s| s.direction == direction)
            .map(|s| s.bytes.len())
            .fold(
                usize::try_from(left_out).unwrap_or(usize::MAX),
                usize::saturating_add,
            )
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

/// Keeps `bytes` in the head while it has room, else at the end of the
/// tail, sliding the tail's oldest segments into the gap until the tail is
/// back within [`TAIL_BYTES`]. A segment larger than the whole tail keeps
/// its last bytes. So the head stays a prefix of the connection, the tail
/// its latest bytes, and the gap exactly what lies between them.
fn push_segment(captured: &mut Captured, at: SystemTime, direction: Direction, mut bytes: Vec<u8>) {
    if !captured.head_full && !bytes.is_empty() {
        // What fits of this segment ends the head; the rest starts the tail.
        let fits = fitting(bytes.len(), captured.head_spent, HEAD_BYTES);
        let rest = bytes.split_off(fits);
        if fits > 0 {
            bytes.shrink_to_fit();
            captured.head_spent += segment_cost(fits);
            captured.stream.segments.push(Segment {
                at,
                direction,
                bytes,
            });
        }
        captured.head_full = !rest.is_empty();
        bytes = rest;
    }
    if bytes.is_empty() {
        return;
    }
    let room = TAIL_BYTES - SEGMENT_COST;
    let bytes = if bytes.len() > room {
        let cut = bytes.len() - room;
        captured.leave_out(direction, cut, at);
        bytes[cut..].to_vec()
    } else {
        bytes
    };
    captured.tail_spent = captured
        .tail_spent
        .saturating_add(segment_cost(bytes.len()));
    captured.tail.push_back(Segment {
        at,
        direction,
        bytes,
    });
    while captured.tail_spent > TAIL_BYTES {
        let Some(old) = captured.tail.pop_front() else {
            break;
        };
        captured.tail_spent = captured
            .tail_spent
            .saturating_sub(segment_cost(old.bytes.len()));
        captured.leave_out(old.direction, old.bytes.len(), old.at);
    }
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

    /// Numbered lines, so kept bytes can be checked to be the right ones.
    fn numbered(lines: u32) -> Vec<u8> {
        (0..lines)
            .flat_map(|i| format!("{i:08}\r\n").into_bytes())
            .collect()
    }

    fn joined(segments: &[Segment]) -> Vec<u8> {
        segments.iter().flat_map(|s| s.bytes.clone()).collect()
    }

    // Was "a flood keeps its first bytes": a capture is no longer a prefix
    // only; it keeps its start and its latest bytes, and counts the gap.
    #[tokio::test]
    async fn a_flood_keeps_its_start_and_its_latest_bytes_and_counts_the_gap() {
        use super::super::capture_cap::{MAX_CONNECTION_BYTES, stream_cost};
        let flood = numbered(100_000);
        let (mut stream, _) = recorded(&flood);
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, flood, "the reader still gets every byte");
        let record = stream.record().clone();
        let kept = record.snapshot();
        assert!(stream_cost(&kept) <= MAX_CONNECTION_BYTES);
        let gap = kept.omitted.expect("a gap");
        let head = joined(&kept.segments[..gap.after]);
        let tail = joined(&kept.segments[gap.after..]);
        assert!(head.len() > HEAD_BYTES / 2);
        assert_eq!(head[..], flood[..head.len()], "the head is the start");
        assert_eq!(
            tail[..],
            flood[flood.len() - tail.len()..],
            "the tail is the end"
        );
        assert_eq!(gap.client_bytes, 0);
        assert_eq!(
            gap.server_bytes as usize,
            flood.len() - head.len() - tail.len()
        );
        assert!(gap.segments > 0);
        assert_eq!(record.bytes(Direction::ServerToClient), flood.len());
    }

    /// 2 MiB pushed through one record in writes of assorted sizes (some
    /// larger than the whole tail): the head and the latest bytes are kept,
    /// the gap holds exactly the rest, and the capture never holds more
    /// than its cap, whatever was pushed so far.
    #[test]
    fn a_long_connection_keeps_its_head_and_a_bounded_sliding_tail() {
        use super::super::capture_cap::{MAX_CONNECTION_BYTES, stream_cost};
        let record = ConnectionRecord::new(
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.2:5061".parse().unwrap(),
        );
        let data = numbered(2 * 1024 * 1024 / 10);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let sizes = [1, 700, 2300, 16_384, 90, 300_000, 5];
        let (mut from, mut n) = (0usize, 0usize);
        while from < data.len() {
            let len = sizes[n % sizes.len()].min(data.len() - from);
            let direction = if n % 3 == 0 {
                Direction::ClientToServer
            } else {
                Direction::ServerToClient
            };
            record.push(
                t0 + Duration::from_millis(n as u64),
                direction,
                data[from..from + len].to_vec(),
            );
            from += len;
            n += 1;
            let c = lock(&record.inner);
            assert!(c.head_spent <= HEAD_BYTES && c.tail_spent <= TAIL_BYTES);
            let payload: usize = c
                .stream
                .segments
                .iter()
                .chain(c.tail.iter())
                .map(|s| s.bytes.capacity())
                .sum();
            assert!(payload <= MAX_CONNECTION_BYTES, "{payload} after {from}");
        }
        let kept = record.snapshot();
        assert!(stream_cost(&kept) <= MAX_CONNECTION_BYTES);
        let gap = kept.omitted.expect("a gap");
        let head = joined(&kept.segments[..gap.after]);
        let tail = joined(&kept.segments[gap.after..]);
        assert_eq!(head[..], data[..head.len()]);
        assert_eq!(tail[..], data[data.len() - tail.len()..]);
        assert!(head.len() > HEAD_BYTES / 2, "{}", head.len());
        assert!(tail.len() > TAIL_BYTES / 2, "{}", tail.len());
        assert_eq!(gap.bytes() as usize, data.len() - head.len() - tail.len());
        // The gap ends where the tail begins.
        let first_tail = kept.segments[gap.after].at;
        assert!(gap.until.expect("a time") <= first_tail);
        let sent = |d| record.bytes(d);
        assert_eq!(
            sent(Direction::ClientToServer) + sent(Direction::ServerToClient),
            data.len()
        );
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
