//! `trace.pcapng`: a case's captured bytes as synthesized Ethernet frames,
//! with the TLS key log embedded as a Decryption Secrets Block so that
//! `tshark -r trace.pcapng -Y sip` shows the SIP messages with no setup.
//!
//! Each [`TcpStream`] becomes a TCP conversation between its real client and
//! server addresses: a SYN / SYN-ACK / ACK handshake at `opened_at`, its data
//! cut into segments of at most [`MAX_SEGMENT_PAYLOAD`] bytes with running
//! sequence and acknowledgement numbers per direction, and a FIN exchange at
//! `closed_at`. Each [`Datagram`] becomes one UDP frame. All frames are
//! written in time order after the Decryption Secrets Block.
//!
//! What was left out of the capture is said in the file: each of
//! [`CaseEvidence::trace_notes`] is a comment of the section header (what
//! `capinfos` shows as a file comment), and where a stream's bytes were left
//! out between two segments ([`crate::evidence::Omitted`]) the sequence
//! numbers jump by the bytes left out (Wireshark shows "previous segment not
//! captured") and the first frame after the gap carries a comment saying how
//! many bytes are missing.
//!
//! The TCP framing is synthesized, not captured: initial sequence numbers,
//! windows, MAC addresses and pure ACKs are made up so that Wireshark's TCP
//! analysis finds nothing to complain about. The payload bytes and their
//! timestamps are the recorded ones.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use etherparse::err::packet::BuildVecWriteError;
use etherparse::{IpHeaders, PacketBuilder, PacketBuilderStep};
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::blocks::unknown::UnknownBlock;
use pcap_file::pcapng::{Block, PcapNgWriter};
use pcap_file::{DataLink, Endianness};

use crate::evidence::{CaseEvidence, Datagram, Direction, Segment, TcpStream};

/// pcapng block type of a Decryption Secrets Block.
pub const DECRYPTION_SECRETS_BLOCK: u32 = 0x0000_000A;

/// DSB secrets type for an NSS key log file ("TLSK").
pub const SECRETS_TYPE_TLS_KEY_LOG: u32 = 0x544C_534B;

/// Largest TCP payload put in one synthesized frame (Ethernet MTU 1500 minus
/// 20 bytes of IPv4 and 20 of TCP header).
pub const MAX_SEGMENT_PAYLOAD: usize = 1460;

/// Snapshot length written in the Interface Description Block.
const SNAPLEN: u32 = 0xFFFF;

/// `if_tsresol` of 9: timestamps are in nanoseconds, which is what
/// pcap-file 2.0.0 writes in Enhanced Packet Blocks whatever the IDB says.
const TIMESTAMP_RESOLUTION_NANOS: u8 = 9;

/// Initial sequence number of the client side of every stream.
const CLIENT_ISN: u32 = 1000;
/// Initial sequence number of the server side of every stream.
const SERVER_ISN: u32 = 5000;
/// Receive window advertised in every TCP header.
const WINDOW: u16 = 0xFFFF;
/// Once this many bytes in one direction are unacknowledged, the receiver
/// sends a pure ACK, so the advertised window never fills.
const ACK_THRESHOLD: usize = 0x8000;
/// IPv4 TTL and IPv6 hop limit.
const HOP_LIMIT: u8 = 64;

/// Locally administered MAC of a TCP client or a datagram's source.
const MAC_A: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
/// Locally administered MAC of a TCP server or a datagram's destination.
const MAC_B: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

/// Why a pcapng could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    /// The file could not be written.
    #[error("cannot write pcapng file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// pcap-file refused a block.
    #[error("pcapng encoding failed: {0}")]
    Encode(#[from] pcap_file::PcapError),
    /// etherparse could not build a frame.
    #[error("cannot build the frame for {what}: {source}")]
    Frame {
        /// Which frame, e.g. "UDP 127.0.0.1:53 -> 127.0.0.2:40000".
        what: String,
        #[source]
        source: BuildVecWriteError,
    },
    /// A payload is larger than a pcapng length field can hold.
    #[error("{what} is {len} bytes, more than a pcapng block can hold")]
    TooLarge { what: &'static str, len: usize },
}

/// Writes `evidence` as a pcapng file at `path` (see the module docs).
pub fn write_pcapng(path: &Path, evidence: &CaseEvidence) -> Result<(), PcapError> {
    let bytes = pcapng_bytes(evidence)?;
    std::fs::write(path, bytes).map_err(|source| PcapError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Renders `evidence` as the bytes of a pcapng file (see the module docs).
pub fn pcapng_bytes(evidence: &CaseEvidence) -> Result<Vec<u8>, PcapError> {
    let mut frames = Vec::new();
    for stream in &evidence.streams {
        stream_frames(stream, &mut frames)?;
    }
    for datagram in &evidence.datagrams {
        frames.push(datagram_frame(datagram)?);
    }
    // Stable, so frames of one stream with equal times keep their order.
    frames.sort_by_key(|frame| frame.at);

    let section = SectionHeaderBlock {
        endianness: Endianness::Little,
        major_version: 1,
        minor_version: 0,
        section_length: -1,
        options: evidence
            .trace_notes
            .iter()
            .map(|note| SectionHeaderOption::Comment(Cow::Owned(note.clone())))
            .collect(),
    };
    let mut writer = PcapNgWriter::with_section_header(Vec::new(), section)?;
    let interface = InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: SNAPLEN,
        options: vec![InterfaceDescriptionOption::IfTsResol(
            TIMESTAMP_RESOLUTION_NANOS,
        )],
    };
    writer.write_block(&Block::InterfaceDescription(interface))?;

    if !evidence.key_log.is_empty() {
        let body = secrets_body(&evidence.key_log)?;
        // The writer adds the block framing and pads the body to 32 bits;
        // the body is already in the section's (little) endianness.
        writer.write_block(&Block::Unknown(UnknownBlock::new(
            DECRYPTION_SECRETS_BLOCK,
            0,
            &body,
        )))?;
    }

    for frame in &frames {
        let original_len = u32::try_from(frame.data.len()).map_err(|_| PcapError::TooLarge {
            what: "a frame",
            len: frame.data.len(),
        })?;
        writer.write_block(&Block::EnhancedPacket(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: frame.at,
            original_len,
            data: Cow::Borrowed(&frame.data),
            options: frame
                .comment
                .iter()
                .map(|c| EnhancedPacketOption::Comment(Cow::Borrowed(c.as_str())))
                .collect(),
        }))?;
    }
    Ok(writer.into_inner())
}

/// The body of a Decryption Secrets Block holding an NSS key log: secrets
/// type, secrets length (unpadded), then the key log itself.
fn secrets_body(key_log: &[u8]) -> Result<Vec<u8>, PcapError> {
    let len = u32::try_from(key_log.len()).map_err(|_| PcapError::TooLarge {
        what: "the TLS key log",
        len: key_log.len(),
    })?;
    let mut body = Vec::with_capacity(8 + key_log.len());
    body.extend_from_slice(&SECRETS_TYPE_TLS_KEY_LOG.to_le_bytes());
    body.extend_from_slice(&len.to_le_bytes());
    body.extend_from_slice(key_log);
    Ok(body)
}

/// One synthesized frame and its time since the UNIX epoch.
struct Frame {
    at: Duration,
    data: Vec<u8>,
    /// A comment of the frame (bytes left out before it).
    comment: Option<String>,
}

/// Time since the UNIX epoch; times before it are clamped to the epoch.
fn since_epoch(at: SystemTime) -> Duration {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// One end of a synthesized conversation.
#[derive(Clone, Copy)]
struct Endpoint {
    mac: [u8; 6],
    addr: SocketAddr,
}

/// Ethernet and IP headers from `src` to `dst`. If one address is IPv4 and
/// the other IPv6, the IPv4 one is written as an IPv4-mapped IPv6 address.
fn ip_builder(src: Endpoint, dst: Endpoint) -> PacketBuilderStep<IpHeaders> {
    let eth = PacketBuilder::ethernet2(src.mac, dst.mac);
    match (src.addr.ip(), dst.addr.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), HOP_LIMIT),
        (s, d) => eth.ipv6(ipv6_octets(s), ipv6_octets(d), HOP_LIMIT),
    }
}

fn ipv6_octets(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// TCP header fields that vary between synthesized segments.
#[derive(Clone, Copy, Default)]
struct TcpFlags {
    syn: bool,
    ack: Option<u32>,
    psh: bool,
    fin: bool,
}

fn tcp_frame(
    at: Duration,
    src: Endpoint,
    dst: Endpoint,
    seq: u32,
    flags: TcpFlags,
    payload: &[u8],
) -> Result<Frame, PcapError> {
    let mut builder = ip_builder(src, dst).tcp(src.addr.port(), dst.addr.port(), seq, WINDOW);
    if flags.syn {
        builder = builder.syn();
    }
    if let Some(ack) = flags.ack {
        builder = builder.ack(ack);
    }
    if flags.psh {
        builder = builder.psh();
    }
    if flags.fin {
        builder = builder.fin();
    }
    let mut data = Vec::with_capacity(builder.size(payload.len()));
    builder
        .write_to_vec(&mut data, payload)
        .map_err(|source| PcapError::Frame {
            what: format!("TCP {} -> {} seq {seq}", src.addr, dst.addr),
            source,
        })?;
    Ok(Frame {
        at,
        data,
        comment: None,
    })
}

/// Sequence state of one direction of a TCP conversation.
struct Side {
    endpoint: Endpoint,
    /// Next sequence number this side sends.
    next_seq: u32,
    /// Bytes this side sent that the other side has not acknowledged yet.
    unacked: usize,
}

/// Appends the frames of one TCP conversation to `frames`.
fn stream_frames(stream: &TcpStream, frames: &mut Vec<Frame>) -> Result<(), PcapError> {
    let mut client = Side {
        endpoint: Endpoint {
            mac: MAC_A,
            addr: stream.client,
        },
        next_seq: CLIENT_ISN,
        unacked: 0,
    };
    let mut server = Side {
        endpoint: Endpoint {
            mac: MAC_B,
            addr: stream.server,
        },
        next_seq: SERVER_ISN,
        unacked: 0,
    };
    // Frames of a stream never go back in time (see `ordered_segments`), so
    // sorting all frames by time keeps each stream's sequence numbers in order.
    let mut now = since_epoch(stream.opened_at);

    // Handshake.
    let syn = TcpFlags {
        syn: true,
        ..TcpFlags::default()
    };
    frames.push(tcp_frame(
        now,
        client.endpoint,
        server.endpoint,
        client.next_seq,
        syn,
        &[],
    )?);
    client.next_seq = client.next_seq.wrapping_add(1);
    let syn_ack = TcpFlags {
        syn: true,
        ack: Some(client.next_seq),
        ..TcpFlags::default()
    };
    frames.push(tcp_frame(
        now,
        server.endpoint,
        client.endpoint,
        server.next_seq,
        syn_ack,
        &[],
    )?);
    server.next_seq = server.next_seq.wrapping_add(1);
    push_pure_ack(frames, now, &client, &mut server)?;

    let mut gap = stream.omitted;
    for (at, index, segment) in ordered_segments(stream) {
        now = at;
        let mut comment = None;
        if let Some(omitted) = gap.filter(|o| index >= o.after) {
            gap = None;
            // Sequence numbers are modulo 2^32 (RFC 9293).
            client.next_seq = client.next_seq.wrapping_add(omitted.client_bytes as u32);
            server.next_seq = server.next_seq.wrapping_add(omitted.server_bytes as u32);
            comment = Some(format!(
                "{} bytes from the client and {} from the server left out before this frame \
                 (the capture keeps this connection's start and a later part, see the file comments); \
                 TLS records after the gap cannot be decrypted, see transcript.txt",
                omitted.client_bytes, omitted.server_bytes
            ));
        }
        let (sender, receiver) = match segment.direction {
            Direction::ClientToServer => (&mut client, &mut server),
            Direction::ServerToClient => (&mut server, &mut client),
        };
        for chunk in segment.bytes.chunks(MAX_SEGMENT_PAYLOAD) {
            let flags = TcpFlags {
                ack: Some(receiver.next_seq),
                psh: true,
                ..TcpFlags::default()
            };
            let mut frame = tcp_frame(
                now,
                sender.endpoint,
                receiver.endpoint,
                sender.next_seq,
                flags,
                chunk,
            )?;
            frame.comment = comment.take();
            frames.push(frame);
            // Sequence numbers are modulo 2^32 (RFC 9293), and a chunk is at
            // most MAX_SEGMENT_PAYLOAD bytes, so the truncation is exact.
            sender.next_seq = sender.next_seq.wrapping_add(chunk.len() as u32);
            sender.unacked += chunk.len();
            // Data from the sender acknowledges everything the receiver sent.
            receiver.unacked = 0;
            if sender.unacked >= ACK_THRESHOLD {
                push_pure_ack(frames, now, receiver, sender)?;
            }
        }
    }

    if let Some(closed_at) = stream.closed_at {
        now = now.max(since_epoch(closed_at));
        let fin_ack = |ack| TcpFlags {
            fin: true,
            ack: Some(ack),
            ..TcpFlags::default()
        };
        frames.push(tcp_frame(
            now,
            client.endpoint,
            server.endpoint,
            client.next_seq,
            fin_ack(server.next_seq),
            &[],
        )?);
        client.next_seq = client.next_seq.wrapping_add(1);
        frames.push(tcp_frame(
            now,
            server.endpoint,
            client.endpoint,
            server.next_seq,
            fin_ack(client.next_seq),
            &[],
        )?);
        server.next_seq = server.next_seq.wrapping_add(1);
        push_pure_ack(frames, now, &client, &mut server)?;
    }
    Ok(())
}

/// The stream's non-empty segments in the order their frames are written,
/// with the time each frame gets.
///
/// Each direction keeps its recorded order (the order of its bytes on the
/// wire), with times made non-decreasing within that direction and no earlier
/// than `opened_at`; the two directions are then merged by time, ties in
/// recorded order. Times are only ever adjusted against the same direction,
/// so a segment is never pushed past one going the other way: when the two
/// directions were recorded by different tasks, a write recorded after a
/// read but stamped before it still appears before it, instead of after the
/// answer it caused.
fn ordered_segments(stream: &TcpStream) -> Vec<(Duration, usize, &Segment)> {
    let opened = since_epoch(stream.opened_at);
    let mut latest_to_server = opened;
    let mut latest_to_client = opened;
    let mut ordered: Vec<(Duration, usize, &Segment)> = stream
        .segments
        .iter()
        .enumerate()
        .filter(|(_, segment)| !segment.bytes.is_empty())
        .map(|(index, segment)| {
            let latest = match segment.direction {
                Direction::ClientToServer => &mut latest_to_server,
                Direction::ServerToClient => &mut latest_to_client,
            };
            *latest = (*latest).max(since_epoch(segment.at));
            (*latest, index, segment)
        })
        .collect();
    // Stable: equal times keep their recorded order, and within a direction
    // times never decrease, so each direction's order is kept.
    ordered.sort_by_key(|(at, _, _)| *at);
    ordered
}

/// `from` acknowledges everything `to` has sent so far.
fn push_pure_ack(
    frames: &mut Vec<Frame>,
    at: Duration,
    from: &Side,
    to: &mut Side,
) -> Result<(), PcapError> {
    let flags = TcpFlags {
        ack: Some(to.next_seq),
        ..TcpFlags::default()
    };
    frames.push(tcp_frame(
        at,
        from.endpoint,
        to.endpoint,
        from.next_seq,
        flags,
        &[],
    )?);
    to.unacked = 0;
    Ok(())
}

fn datagram_frame(datagram: &Datagram) -> Result<Frame, PcapError> {
    let src = Endpoint {
        mac: MAC_A,
        addr: datagram.source,
    };
    let dst = Endpoint {
        mac: MAC_B,
        addr: datagram.destination,
    };
    let builder = ip_builder(src, dst).udp(src.addr.port(), dst.addr.port());
    let mut data = Vec::with_capacity(builder.size(datagram.bytes.len()));
    builder
        .write_to_vec(&mut data, &datagram.bytes)
        .map_err(|source| PcapError::Frame {
            what: format!("UDP {} -> {}", src.addr, dst.addr),
            source,
        })?;
    Ok(Frame {
        at: since_epoch(datagram.at),
        data,
        comment: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use pcap_file::pcapng::PcapNgReader;
    use std::process::Command;

    const CLIENT: &str = "127.80.1.1:40000";
    const SERVER: &str = "127.80.0.10:5061";
    const KEY_LOG: &[u8] = b"CLIENT_RANDOM 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f000102030405060708090a0b0c0d0e0f\n";

    /// A DNS query, id 0x1234, for `a.test` A.
    const DNS_QUERY: &[u8] = &[
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, b'a', 0x04,
        b't', b'e', b's', b't', 0x00, 0x00, 0x01, 0x00, 0x01,
    ];

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn t(base: SystemTime, micros: u64) -> SystemTime {
        base + Duration::from_micros(micros)
    }

    fn options_request() -> Vec<u8> {
        // A body large enough that the request spans two TCP segments.
        let body = "x".repeat(2000);
        format!(
            "OPTIONS sip:sip.example.test;transport=tcp SIP/2.0\r\n\
             Via: SIP/2.0/TCP 127.80.1.1:40000;branch=z9hG4bK-test-1\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:probe@partner.test>;tag=1\r\n\
             To: <sip:sip.example.test>\r\n\
             Call-ID: test-call-1@partner.test\r\n\
             CSeq: 1 OPTIONS\r\n\
             Content-Type: text/plain\r\n\
             Content-Length: {}\r\n\
             \r\n\
             {body}",
            body.len()
        )
        .into_bytes()
    }

    fn ok_response() -> Vec<u8> {
        b"SIP/2.0 200 OK\r\n\
          Via: SIP/2.0/TCP 127.80.1.1:40000;branch=z9hG4bK-test-1\r\n\
          From: <sip:probe@partner.test>;tag=1\r\n\
          To: <sip:sip.example.test>;tag=2\r\n\
          Call-ID: test-call-1@partner.test\r\n\
          CSeq: 1 OPTIONS\r\n\
          Content-Length: 0\r\n\
          \r\n"
            .to_vec()
    }

    /// A plain-text SIP OPTIONS / 200 exchange on 5061 (no TLS), one
    /// request larger than a segment, a close, and one UDP datagram.
    fn sample_evidence() -> CaseEvidence {
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_487_448);
        CaseEvidence {
            streams: vec![TcpStream {
                client: addr(CLIENT),
                server: addr(SERVER),
                opened_at: t(base, 1_000),
                segments: vec![
                    Segment {
                        at: t(base, 2_000),
                        direction: Direction::ClientToServer,
                        bytes: options_request(),
                    },
                    Segment {
                        at: t(base, 3_000),
                        direction: Direction::ServerToClient,
                        bytes: ok_response(),
                    },
                ],
                closed_at: Some(t(base, 4_000)),
                omitted: None,
            }],
            datagrams: vec![Datagram {
                // Before the stream, to prove frames are sorted by time.
                at: t(base, 500),
                source: addr("127.80.1.1:40001"),
                destination: addr("127.80.0.53:53"),
                bytes: DNS_QUERY.to_vec(),
            }],
            key_log: KEY_LOG.to_vec(),
            transcript: vec![],
            trace_notes: vec![],
        }
    }

    struct ReadBack {
        interfaces: usize,
        secrets: Vec<Vec<u8>>,
        packets: Vec<(Duration, Vec<u8>)>,
        /// Block kinds in file order: 'I', 'D' (secrets) or 'P'.
        order: String,
    }

    fn read_back(bytes: &[u8]) -> ReadBack {
        let mut reader = PcapNgReader::new(bytes).unwrap();
        assert_eq!(reader.section().endianness, Endianness::Little);
        let mut out = ReadBack {
            interfaces: 0,
            secrets: vec![],
            packets: vec![],
            order: String::new(),
        };
        while let Some(block) = reader.next_block() {
            match block.unwrap() {
                Block::InterfaceDescription(idb) => {
                    assert_eq!(idb.linktype, DataLink::ETHERNET);
                    assert_eq!(idb.snaplen, 0xFFFF);
                    assert_eq!(idb.options, vec![InterfaceDescriptionOption::IfTsResol(9)]);
                    out.interfaces += 1;
                    out.order.push('I');
                }
                Block::Unknown(unknown) if unknown.type_ == DECRYPTION_SECRETS_BLOCK => {
                    out.secrets.push(unknown.value.to_vec());
                    out.order.push('D');
                }
                Block::EnhancedPacket(epb) => {
                    assert_eq!(epb.original_len as usize, epb.data.len());
                    out.packets.push((epb.timestamp, epb.data.to_vec()));
                    out.order.push('P');
                }
                other => panic!("unexpected block {other:?}"),
            }
        }
        out
    }

    #[test]
    fn written_file_reads_back_with_secrets_first_and_frames_in_order() {
        let evidence = sample_evidence();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.pcapng");
        write_pcapng(&path, &evidence).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let back = read_back(&bytes);

        assert_eq!(back.interfaces, 1);
        assert_eq!(back.secrets.len(), 1);
        // 3 handshake + 2 request chunks (2000+ bytes) + 1 response + 3 close + 1 UDP.
        assert_eq!(back.packets.len(), 10);
        assert_eq!(back.order, format!("ID{}", "P".repeat(10)));

        let body = &back.secrets[0];
        assert_eq!(&body[0..4], &SECRETS_TYPE_TLS_KEY_LOG.to_le_bytes());
        let len = u32::from_le_bytes([body[4], body[5], body[6], body[7]]) as usize;
        assert_eq!(len, KEY_LOG.len());
        assert_eq!(&body[8..8 + len], KEY_LOG);
        // Whatever follows is the writer's padding to 32 bits.
        assert!(body.len() - 8 - len < 4);
        assert!(body[8 + len..].iter().all(|&b| b == 0));

        let times: Vec<Duration> = back.packets.iter().map(|(at, _)| *at).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        // The UDP datagram (earliest) comes first.
        assert_eq!(back.packets[0].0, since_epoch(evidence.datagrams[0].at));
        let largest = back.packets.iter().map(|(_, d)| d.len()).max().unwrap();
        assert_eq!(largest, 14 + 20 + 20 + MAX_SEGMENT_PAYLOAD);
    }

    /// (time, source port, payload) of every data-carrying TCP frame.
    fn data_frames(bytes: &[u8]) -> Vec<(Duration, u16, Vec<u8>)> {
        read_back(bytes)
            .packets
            .iter()
            .filter_map(|(at, frame)| {
                let parsed = etherparse::SlicedPacket::from_ethernet(frame).unwrap();
                match parsed.transport? {
                    etherparse::TransportSlice::Tcp(tcp) if !tcp.payload().is_empty() => {
                        Some((*at, tcp.source_port(), tcp.payload().to_vec()))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// A connection recorded by two tasks (reader and writer): the server's
    /// write is recorded after the client's next request was read, but was
    /// stamped before it. The write keeps its own time instead of being
    /// dragged after the read; each direction keeps its byte order.
    #[test]
    fn a_segment_is_never_moved_past_one_going_the_other_way() {
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_487_448);
        let segment = |micros, direction, bytes: &[u8]| Segment {
            at: t(base, micros),
            direction,
            bytes: bytes.to_vec(),
        };
        let evidence = CaseEvidence {
            streams: vec![TcpStream {
                client: addr(CLIENT),
                server: addr(SERVER),
                opened_at: t(base, 0),
                segments: vec![
                    segment(1_000, Direction::ClientToServer, b"request-1"),
                    segment(3_000, Direction::ClientToServer, b"request-2"),
                    segment(2_000, Direction::ServerToClient, b"answer-1"),
                    // Out of order within its direction: clamped, not reordered.
                    segment(2_500, Direction::ClientToServer, b"request-3"),
                ],
                closed_at: None,
                omitted: None,
            }],
            ..CaseEvidence::default()
        };
        let frames = data_frames(&pcapng_bytes(&evidence).unwrap());
        let seen: Vec<(u64, &[u8])> = frames
            .iter()
            .map(|(at, _, payload)| {
                (
                    (*at - since_epoch(base)).as_micros() as u64,
                    payload.as_slice(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (1_000, &b"request-1"[..]),
                (2_000, &b"answer-1"[..]),
                (3_000, &b"request-2"[..]),
                (3_000, &b"request-3"[..]),
            ]
        );
    }

    #[test]
    fn frames_carry_the_bytes_with_running_sequence_numbers() {
        let evidence = sample_evidence();
        let back = read_back(&pcapng_bytes(&evidence).unwrap());
        let mut client_data = Vec::new();
        let mut server_data = Vec::new();
        let mut udp = 0;
        for (_, frame) in &back.packets {
            let parsed = etherparse::SlicedPacket::from_ethernet(frame).unwrap();
            match parsed.transport.unwrap() {
                etherparse::TransportSlice::Tcp(tcp) => {
                    let payload = tcp.payload();
                    if tcp.source_port() == 40000 {
                        if !payload.is_empty() {
                            assert_eq!(
                                tcp.sequence_number(),
                                CLIENT_ISN + 1 + client_data.len() as u32
                            );
                            assert!(tcp.psh() && tcp.ack());
                        }
                        client_data.extend_from_slice(payload);
                    } else {
                        if !payload.is_empty() {
                            assert_eq!(
                                tcp.sequence_number(),
                                SERVER_ISN + 1 + server_data.len() as u32
                            );
                            assert_eq!(
                                tcp.acknowledgment_number(),
                                CLIENT_ISN + 1 + client_data.len() as u32
                            );
                        }
                        server_data.extend_from_slice(payload);
                    }
                }
                etherparse::TransportSlice::Udp(udp_slice) => {
                    assert_eq!(udp_slice.destination_port(), 53);
                    assert_eq!(udp_slice.payload(), &evidence.datagrams[0].bytes[..]);
                    udp += 1;
                }
                other => panic!("unexpected transport {other:?}"),
            }
        }
        assert_eq!(client_data, options_request());
        assert_eq!(server_data, ok_response());
        assert_eq!(udp, 1);
    }

    #[test]
    fn no_key_log_means_no_secrets_block() {
        let evidence = CaseEvidence {
            key_log: vec![],
            ..sample_evidence()
        };
        let back = read_back(&pcapng_bytes(&evidence).unwrap());
        assert!(back.secrets.is_empty());
        assert_eq!(back.order, format!("I{}", "P".repeat(10)));
    }

    #[test]
    fn ipv6_and_mixed_families_build_ipv6_frames() {
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let evidence = CaseEvidence {
            streams: vec![TcpStream {
                client: addr("[fd00::1]:40000"),
                server: addr("127.80.0.10:5061"),
                opened_at: base,
                segments: vec![Segment {
                    at: base,
                    direction: Direction::ClientToServer,
                    bytes: b"hello".to_vec(),
                }],
                closed_at: None,
                omitted: None,
            }],
            datagrams: vec![Datagram {
                at: base,
                source: addr("[fd00::1]:40001"),
                destination: addr("[fd00::2]:3478"),
                bytes: vec![0; 20],
            }],
            ..CaseEvidence::default()
        };
        let back = read_back(&pcapng_bytes(&evidence).unwrap());
        assert_eq!(back.packets.len(), 5);
        for (_, frame) in &back.packets {
            let parsed = etherparse::SlicedPacket::from_ethernet(frame).unwrap();
            assert!(matches!(parsed.net, Some(etherparse::NetSlice::Ipv6(_))));
        }
    }

    fn tshark(args: &[&str]) -> String {
        let output = match Command::new("tshark").args(args).output() {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "tshark is not on PATH; install it (apt-get install tshark) to run the pcapng checks"
            ),
            Err(e) => panic!("cannot run tshark: {e}"),
        };
        assert!(
            output.status.success(),
            "tshark {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// A long-lived stream with lots of data in both directions, to prove
    /// the synthesized TCP passes Wireshark's analysis.
    fn bulk_stream() -> TcpStream {
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_487_500);
        let segments = (0..40u64)
            .map(|i| Segment {
                at: t(base, 10 + i),
                direction: if i % 3 == 2 {
                    Direction::ServerToClient
                } else {
                    Direction::ClientToServer
                },
                bytes: vec![0x17; 10_000 + i as usize],
            })
            .collect();
        TcpStream {
            client: addr("127.80.1.1:40002"),
            server: addr("127.80.0.20:443"),
            opened_at: base,
            segments,
            closed_at: Some(t(base, 100)),
            omitted: None,
        }
    }

    #[test]
    fn tshark_shows_sip_and_finds_no_bad_frames() {
        let mut evidence = sample_evidence();
        evidence.streams.push(bulk_stream());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trace.pcapng");
        write_pcapng(&path, &evidence).unwrap();
        let file = path.to_str().unwrap();

        let sip = tshark(&[
            "-r",
            file,
            "-Y",
            "sip",
            "-T",
            "fields",
            "-e",
            "sip.Method",
            "-e",
            "sip.Status-Code",
        ]);
        let rows: Vec<&str> = sip.lines().collect();
        assert_eq!(
            rows,
            ["OPTIONS\t", "\t200"],
            "tshark -Y sip printed:\n{sip}"
        );

        let bad = tshark(&[
            "-r",
            file,
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-Y",
            "tcp.checksum.status!=1 || ip.checksum.status!=1 || udp.checksum.status!=1 \
             || tcp.analysis.flags || _ws.malformed || _ws.expert.severity >= \"Warning\"",
        ]);
        assert_eq!(bad, "", "tshark found bad frames:\n{bad}");

        // The checks above are not vacuous: every frame was checked.
        let checked = tshark(&[
            "-r",
            file,
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-Y",
            "tcp.checksum.status==1 || udp.checksum.status==1",
        ]);
        let frames = pcapng_bytes(&evidence)
            .map(|b| read_back(&b).packets.len())
            .unwrap();
        assert_eq!(checked.lines().count(), frames);
    }
}
