//! Stream framing for SIP over TCP/TLS (RFC 3261 §18.3): Content-Length
//! delimited messages, CRLF keep-alives (RFC 5626 §3.5.1), partial reads and
//! pipelining, with a size cap.
//!
//! Framing is linear in the bytes received: the search for the end of the
//! header section resumes where the previous one stopped, so a peer that
//! trickles a huge header in small reads costs one pass over it, not one
//! pass per read.

/// The default cap on one message (headers and body), in bytes.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// The keep-alive ping a client sends: a double CRLF (RFC 5626 §3.5.1).
pub const KEEPALIVE_PING: &[u8] = b"\r\n\r\n";
/// The pong a server answers a ping with: a single CRLF (RFC 5626 §3.5.1).
pub const KEEPALIVE_PONG: &[u8] = b"\r\n";

/// One unit cut from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The bytes of one complete message, ready for `SipMessage::parse`.
    Message(Vec<u8>),
    /// A double-CRLF keep-alive ping (RFC 5626 §3.5.1).
    Ping,
    /// A single-CRLF keep-alive pong (RFC 5626 §3.5.1).
    Pong,
}

/// Why the stream can no longer be framed. After any of these the stream is
/// out of sync and the connection should be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("message exceeds the {limit}-byte limit before its end was found")]
    TooLarge { limit: usize },
    #[error(
        "message has no valid Content-Length header, required on stream transports (RFC 3261 §18.3)"
    )]
    MissingContentLength,
}

/// Accumulates stream bytes and cuts frames from them.
#[derive(Debug)]
pub struct StreamDecoder {
    buffer: Vec<u8>,
    max_message_size: usize,
    /// How far into `buffer` the search for CRLFCRLF has looked without
    /// finding it.
    scanned: usize,
    /// The length of the message at the front of `buffer`, once its header
    /// section is complete and its Content-Length read.
    pending_total: Option<usize>,
}

impl Default for StreamDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_SIZE)
    }
}

impl StreamDecoder {
    pub fn new(max_message_size: usize) -> Self {
        Self {
            buffer: Vec::new(),
            max_message_size,
            scanned: 0,
            pending_total: None,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes received but not yet framed.
    pub fn pending(&self) -> &[u8] {
        &self.buffer
    }

    /// Cuts the next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FramingError> {
        let frame = self.cut_frame();
        if !matches!(frame, Ok(None)) {
            // Bytes were consumed (or the stream is dead): search afresh.
            self.scanned = 0;
            self.pending_total = None;
        }
        frame
    }

    fn cut_frame(&mut self) -> Result<Option<Frame>, FramingError> {
        if self.buffer.starts_with(b"\r\n\r\n") {
            self.buffer.drain(..4);
            return Ok(Some(Frame::Ping));
        }
        if self.buffer.starts_with(b"\r\n") {
            if self.buffer.len() == 2 || self.buffer.len() == 3 && self.buffer[2] == b'\r' {
                // Could be the start of a ping: wait for more bytes unless
                // this is all there will be. A lone CRLF is a pong.
                if self.buffer.len() == 3 {
                    return Ok(None);
                }
            }
            self.buffer.drain(..2);
            return Ok(Some(Frame::Pong));
        }
        let total = match self.pending_total {
            Some(total) => total,
            None => {
                let Some(header_end) = self.find_header_end() else {
                    if self.buffer.len() > self.max_message_size {
                        return Err(FramingError::TooLarge {
                            limit: self.max_message_size,
                        });
                    }
                    return Ok(None);
                };
                let header_end = header_end + 4;
                let body_len = content_length(&self.buffer[..header_end])
                    .ok_or(FramingError::MissingContentLength)?;
                let total = header_end.saturating_add(body_len);
                if total > self.max_message_size {
                    return Err(FramingError::TooLarge {
                        limit: self.max_message_size,
                    });
                }
                self.pending_total = Some(total);
                total
            }
        };
        if self.buffer.len() < total {
            return Ok(None);
        }
        let message: Vec<u8> = self.buffer.drain(..total).collect();
        Ok(Some(Frame::Message(message)))
    }

    /// Where CRLFCRLF starts, looking only at bytes not searched before
    /// (and the three before them, in case it straddles two reads).
    fn find_header_end(&mut self) -> Option<usize> {
        let from = self.scanned.saturating_sub(3);
        let found = self.buffer[from..]
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| i + from);
        if found.is_none() {
            self.scanned = self.buffer.len();
        }
        found
    }
}

/// Finds Content-Length (or its compact form `l`) in a header section.
fn content_length(head: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(head).ok()?;
    text.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        (name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l"))
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const M1: &[u8] = b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 3\r\n\r\nabc";
    const M2: &[u8] = b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n";

    fn drain(decoder: &mut StreamDecoder) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(f) = decoder.next_frame().expect("frames") {
            frames.push(f);
        }
        frames
    }

    #[test]
    fn pipelined_messages_and_keepalives() {
        let mut d = StreamDecoder::default();
        d.push(b"\r\n\r\n");
        d.push(M1);
        d.push(M2);
        d.push(b"\r\n");
        let frames = drain(&mut d);
        assert_eq!(
            frames,
            vec![
                Frame::Ping,
                Frame::Message(M1.to_vec()),
                Frame::Message(M2.to_vec()),
                Frame::Pong
            ]
        );
    }

    #[test]
    fn byte_at_a_time_reassembles() {
        let mut d = StreamDecoder::default();
        let mut frames = Vec::new();
        for b in M1 {
            d.push(&[*b]);
            frames.extend(drain(&mut d));
        }
        assert_eq!(frames, vec![Frame::Message(M1.to_vec())]);
        assert!(d.pending().is_empty());
    }

    #[test]
    fn oversize_is_refused_without_waiting_for_the_body() {
        let mut d = StreamDecoder::new(100);
        d.push(b"MESSAGE sip:a SIP/2.0\r\nContent-Length: 5000\r\n\r\n");
        assert_eq!(d.next_frame(), Err(FramingError::TooLarge { limit: 100 }));
    }

    #[test]
    fn endless_headers_are_refused() {
        let mut d = StreamDecoder::new(64);
        d.push(&[b'a'; 65]);
        assert_eq!(d.next_frame(), Err(FramingError::TooLarge { limit: 64 }));
    }

    #[test]
    fn a_header_end_split_across_reads_is_found() {
        let mut d = StreamDecoder::default();
        let (head, tail) = M1.split_at(M1.len() - 5);
        for split in [1, 2, 3] {
            let (a, b) = head.split_at(head.len() - split);
            d.push(a);
            assert_eq!(d.next_frame(), Ok(None));
            d.push(b);
            assert_eq!(d.next_frame(), Ok(None));
            d.push(tail);
            assert_eq!(d.next_frame(), Ok(Some(Frame::Message(M1.to_vec()))));
        }
    }

    #[test]
    fn a_body_trickling_in_after_its_header_completes_the_frame() {
        let mut d = StreamDecoder::default();
        d.push(b"MESSAGE sip:a SIP/2.0\r\nContent-Length: 3\r\n\r\n");
        for b in b"ab" {
            d.push(&[*b]);
            assert_eq!(d.next_frame(), Ok(None));
        }
        d.push(b"cOPTIONS");
        assert!(
            matches!(d.next_frame(), Ok(Some(Frame::Message(m))) if m.ends_with(b"\r\n\r\nabc"))
        );
        assert_eq!(d.pending(), b"OPTIONS");
    }

    #[test]
    fn a_huge_header_trickled_in_small_reads_is_scanned_once() {
        // 4 MiB arriving 16 bytes at a time: with a rescan per read this
        // would be some 500 GB of comparisons; linear, it is instant.
        let mut d = StreamDecoder::new(4 * 1024 * 1024);
        d.push(b"SIP/2.0 200 OK\r\nX: ");
        let chunk = [b'a'; 16];
        let mut result = Ok(None);
        for _ in 0..(4 * 1024 * 1024 / 16 + 1) {
            d.push(&chunk);
            result = d.next_frame();
            if result.is_err() {
                break;
            }
        }
        assert_eq!(
            result,
            Err(FramingError::TooLarge {
                limit: 4 * 1024 * 1024
            })
        );
    }

    #[test]
    fn missing_content_length_is_an_error() {
        let mut d = StreamDecoder::default();
        d.push(b"MESSAGE sip:a SIP/2.0\r\nTo: x\r\n\r\n");
        assert_eq!(d.next_frame(), Err(FramingError::MissingContentLength));
    }
}
