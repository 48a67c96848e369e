//! Which TLS key log lines belong in a trace: only those of the connections
//! the trace holds.
//!
//! The key log of a run grows with every handshake (about 1 KB each, five
//! lines of TLS 1.3 secrets). Embedding all of it in every case's
//! `trace.pcapng` made each trace carry the secrets of every earlier
//! connection of the run: about 200 KB per trace in a run of the whole
//! catalogue, growing with the square of the number of cases. A key log
//! line names the ClientHello random of its connection, and a captured
//! stream starts with that ClientHello, so a trace keeps exactly the lines
//! whose random is one of its streams'.

use std::collections::HashSet;

use crate::evidence::{Direction, TcpStream};

/// Bytes of a TLS record header, a handshake header and the
/// `legacy_version` before the ClientHello random.
const RANDOM_OFFSET: usize = 5 + 4 + 2;
/// Length of the ClientHello random.
const RANDOM_LEN: usize = 32;
/// TLS record content type of a handshake record.
const HANDSHAKE: u8 = 22;
/// Handshake message type of a ClientHello.
const CLIENT_HELLO: u8 = 1;

/// The ClientHello random `stream` starts with, in lowercase hex, if its
/// first client bytes are a ClientHello.
pub fn client_random_hex(stream: &TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(RANDOM_OFFSET + RANDOM_LEN);
    for segment in &stream.segments {
        if segment.direction != Direction::ClientToServer {
            continue;
        }
        let wanted = RANDOM_OFFSET + RANDOM_LEN - head.len();
        head.extend_from_slice(&segment.bytes[..segment.bytes.len().min(wanted)]);
        if head.len() == RANDOM_OFFSET + RANDOM_LEN {
            break;
        }
    }
    if head.len() < RANDOM_OFFSET + RANDOM_LEN || head[0] != HANDSHAKE || head[5] != CLIENT_HELLO {
        return None;
    }
    Some(
        head[RANDOM_OFFSET..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

/// The lines of `key_log` (NSS format: `LABEL <client random> <secret>`)
/// that belong to one of `streams`, in their order.
pub fn key_log_for(key_log: &[u8], streams: &[TcpStream]) -> Vec<u8> {
    let randoms: HashSet<String> = streams.iter().filter_map(client_random_hex).collect();
    let mut kept = Vec::new();
    for line in key_log.split_inclusive(|b| *b == b'\n') {
        let random = line
            .split(|b| *b == b' ')
            .nth(1)
            .map(|r| String::from_utf8_lossy(r).to_ascii_lowercase());
        if random.is_some_and(|r| randoms.contains(&r)) {
            kept.extend_from_slice(line);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Segment;
    use std::time::SystemTime;

    fn hello(random: u8) -> Vec<u8> {
        let mut bytes = vec![HANDSHAKE, 3, 1, 0, 200, CLIENT_HELLO, 0, 0, 196, 3, 3];
        bytes.extend_from_slice(&[random; RANDOM_LEN]);
        bytes.extend_from_slice(&[0; 20]);
        bytes
    }

    fn stream(first: Vec<u8>) -> TcpStream {
        // The ClientHello split over two writes, after a server byte.
        let (a, b) = first.split_at(7);
        let segment = |direction, bytes: &[u8]| Segment {
            at: SystemTime::UNIX_EPOCH,
            direction,
            bytes: bytes.to_vec(),
        };
        TcpStream {
            client: "127.0.0.1:1000".parse().expect("address"),
            server: "127.0.0.2:5061".parse().expect("address"),
            opened_at: SystemTime::UNIX_EPOCH,
            segments: vec![
                segment(Direction::ClientToServer, a),
                segment(Direction::ServerToClient, b"x"),
                segment(Direction::ClientToServer, b),
            ],
            closed_at: None,
            omitted: None,
        }
    }

    #[test]
    fn only_the_lines_of_the_traced_connections_are_kept() {
        let ours = "ab".repeat(RANDOM_LEN);
        let other = "cd".repeat(RANDOM_LEN);
        let key_log = format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {ours} 01\nSERVER_TRAFFIC_SECRET_0 {other} 02\n\
             CLIENT_TRAFFIC_SECRET_0 {} 03\nmalformed\n",
            ours.to_uppercase()
        );
        let kept = key_log_for(key_log.as_bytes(), &[stream(hello(0xab))]);
        assert_eq!(
            String::from_utf8_lossy(&kept),
            format!(
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET {ours} 01\nCLIENT_TRAFFIC_SECRET_0 {} 03\n",
                ours.to_uppercase()
            )
        );
    }

    #[test]
    fn a_stream_that_does_not_start_with_a_client_hello_has_no_random() {
        assert_eq!(
            client_random_hex(&stream(b"OPTIONS sip:x SIP/2.0\r\n\r\n".repeat(3))),
            None
        );
        assert_eq!(client_random_hex(&stream(hello(1)[..30].to_vec())), None);
        assert_eq!(
            client_random_hex(&stream(hello(1))),
            Some("01".repeat(RANDOM_LEN))
        );
    }
}
