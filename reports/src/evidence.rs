//! What a case captured, as plain data: the raw material of `trace.pcapng`
//! and `transcript.txt`.

use std::net::SocketAddr;
use std::time::SystemTime;

/// Which way bytes travelled on a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

/// Bytes seen in one read or write on a TCP connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub at: SystemTime,
    pub direction: Direction,
    pub bytes: Vec<u8>,
}

/// One TCP connection as seen by the endpoint that recorded it: the bytes on
/// the wire (TLS ciphertext), in order, with their times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpStream {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub opened_at: SystemTime,
    pub segments: Vec<Segment>,
    /// When the connection was closed, if it was before the capture ended.
    pub closed_at: Option<SystemTime>,
    /// Bytes left out between two of `segments`: a long connection keeps
    /// its start and its latest bytes, and a connection shared with other
    /// cases may keep only its start and this case's part.
    pub omitted: Option<Omitted>,
}

/// Bytes of a TCP connection left out after its first segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Omitted {
    /// How many of the stream's segments come before the gap.
    pub after: usize,
    /// Client-to-server bytes left out.
    pub client_bytes: u64,
    /// Server-to-client bytes left out.
    pub server_bytes: u64,
    /// Reads or writes left out, whole or in part.
    pub segments: u64,
    /// When the last of the left-out bytes crossed, if known.
    pub until: Option<SystemTime>,
}

impl Omitted {
    /// All bytes left out, both directions.
    pub fn bytes(&self) -> u64 {
        self.client_bytes.saturating_add(self.server_bytes)
    }
}

/// One UDP datagram (DNS, STUN, RTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub at: SystemTime,
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub bytes: Vec<u8>,
}

/// One line of the human transcript: a SIP message or a harness note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptEntry {
    pub at: SystemTime,
    /// The actor that saw it (`messenger`, `pool`, `runner`, ...).
    pub actor: String,
    /// `sent`, `received` or `note`.
    pub kind: String,
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    /// The full message text, or the note.
    pub text: String,
}

/// Everything one case captured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseEvidence {
    pub streams: Vec<TcpStream>,
    pub datagrams: Vec<Datagram>,
    /// NSS key log lines (`CLIENT_RANDOM ...`, `CLIENT_HANDSHAKE_TRAFFIC_SECRET ...`), newline separated.
    pub key_log: Vec<u8>,
    pub transcript: Vec<TranscriptEntry>,
    /// What was left out of the trace and why: written as comments of the
    /// pcapng file itself.
    pub trace_notes: Vec<String>,
}

impl CaseEvidence {
    /// Records a note about the capture itself (what it left out and why):
    /// in the transcript at its time, and, when `in_trace`, as a comment of
    /// the pcapng file too.
    pub fn add_capture_note(&mut self, at: SystemTime, text: String, in_trace: bool) {
        if in_trace {
            self.trace_notes.push(text.clone());
        }
        let entry = TranscriptEntry {
            at,
            actor: "capture".to_owned(),
            kind: "note".to_owned(),
            local: None,
            remote: None,
            text,
        };
        let index = self.transcript.partition_point(|e| e.at <= entry.at);
        self.transcript.insert(index, entry);
    }
}
