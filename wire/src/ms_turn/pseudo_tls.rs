//! The pseudo-TLS exchange that opens an MS-TURN session on TCP 443
//! ([MS-TURN] §2.1.1): a fixed, TLS 1.0-shaped ClientHello record from the
//! client and one record holding a ServerHello and a ServerHelloDone from
//! the server. Nothing is negotiated or encrypted; the records only make
//! the connection look like TLS to middleboxes. After them, MS-TURN flows
//! with the §2.1.4 framing header.
//!
//! Fixed by the specification (and checked here): record type 0x16,
//! record and handshake version 3.1, the lengths, an empty client session
//! id, the single cipher suite 0x0018, compression method 0 (null), a
//! 32-byte server session id, and a ServerHelloDone of length 0.
//! Left to the sender (and not judged): the 4-byte time stamp and the
//! 28 random bytes of each Random, and the server's session id bytes.

/// Record layer content type: handshake.
const HANDSHAKE_RECORD: u8 = 0x16;
/// TLS 1.0 as major, minor: used in the record and in both hellos.
const VERSION: [u8; 2] = [0x03, 0x01];
const CLIENT_HELLO: u8 = 0x01;
const SERVER_HELLO: u8 = 0x02;
const SERVER_HELLO_DONE: u8 = 0x0e;
/// The one cipher suite either side names (TLS_DH_anon_WITH_RC4_128_MD5).
const CIPHER_SUITE: [u8; 2] = [0x00, 0x18];
const NULL_COMPRESSION: u8 = 0x00;
const SERVER_SESSION_ID_LEN: u8 = 0x20;

/// Bytes of the client's record (5-byte record header, 4-byte handshake
/// header, 41-byte ClientHello body).
pub const CLIENT_HELLO_LEN: usize = 50;
/// Bytes of the server's record (5-byte record header, ServerHello with
/// its 4-byte header and 70-byte body, 4-byte ServerHelloDone).
pub const SERVER_HELLO_LEN: usize = 83;

/// The first byte of a pseudo-TLS record (and of no STUN message, MS-TURN
/// framing header or ChannelData message), so a server can tell the three
/// openings of a TCP 443 connection apart.
pub const PSEUDO_TLS_FIRST_BYTE: u8 = HANDSHAKE_RECORD;

/// Why a record is not the pseudo-TLS message expected: the field and
/// what it held.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PseudoTlsError {
    #[error("the record is {got} bytes, not the {expected} of [MS-TURN] §2.1.1")]
    Length { expected: usize, got: usize },
    #[error("{field} is {got}, [MS-TURN] §2.1.1 sets it to {expected}")]
    Field {
        field: &'static str,
        expected: String,
        got: String,
    },
}

fn expect(field: &'static str, got: &[u8], expected: &[u8]) -> Result<(), PseudoTlsError> {
    if got == expected {
        return Ok(());
    }
    let hex = |b: &[u8]| {
        let digits: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!("0x{digits}")
    };
    Err(PseudoTlsError::Field {
        field,
        expected: hex(expected),
        got: hex(got),
    })
}

fn exact<const N: usize>(bytes: &[u8]) -> Result<&[u8; N], PseudoTlsError> {
    bytes.try_into().map_err(|_| PseudoTlsError::Length {
        expected: N,
        got: bytes.len(),
    })
}

/// The client's record: `random` is the Random of RFC 2246 §7.4.1.2 (a
/// 4-byte UNIX time stamp, then 28 random bytes).
pub fn encode_client_hello(random: &[u8; 32]) -> [u8; CLIENT_HELLO_LEN] {
    let mut out = [0u8; CLIENT_HELLO_LEN];
    out[0] = HANDSHAKE_RECORD;
    out[1..3].copy_from_slice(&VERSION);
    out[3..5].copy_from_slice(&45u16.to_be_bytes());
    out[5] = CLIENT_HELLO;
    out[6..9].copy_from_slice(&[0, 0, 41]);
    out[9..11].copy_from_slice(&VERSION);
    out[11..43].copy_from_slice(random);
    // out[43]: session id length 0.
    out[44..46].copy_from_slice(&2u16.to_be_bytes());
    out[46..48].copy_from_slice(&CIPHER_SUITE);
    out[48] = 1;
    out[49] = NULL_COMPRESSION;
    out
}

/// Checks a client's record; returns its Random.
pub fn parse_client_hello(bytes: &[u8]) -> Result<[u8; 32], PseudoTlsError> {
    let b = exact::<CLIENT_HELLO_LEN>(bytes)?;
    expect("the record content type", &b[0..1], &[HANDSHAKE_RECORD])?;
    expect("the record version", &b[1..3], &VERSION)?;
    expect("the record length", &b[3..5], &[0x00, 0x2d])?;
    expect("the handshake type", &b[5..6], &[CLIENT_HELLO])?;
    expect("the ClientHello length", &b[6..9], &[0, 0, 0x29])?;
    expect("the ClientHello version", &b[9..11], &VERSION)?;
    expect("the session id length", &b[43..44], &[0])?;
    expect("the cipher suites length", &b[44..46], &[0x00, 0x02])?;
    expect("the cipher suite", &b[46..48], &CIPHER_SUITE)?;
    expect("the compression methods length", &b[48..49], &[1])?;
    expect("the compression method", &b[49..50], &[NULL_COMPRESSION])?;
    let mut random = [0u8; 32];
    random.copy_from_slice(&b[11..43]);
    Ok(random)
}

/// What a server's record carries that the specification leaves free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub random: [u8; 32],
    pub session_id: [u8; 32],
}

impl ServerHello {
    /// The server's record: ServerHello and ServerHelloDone in one record.
    pub fn encode(&self) -> [u8; SERVER_HELLO_LEN] {
        let mut out = [0u8; SERVER_HELLO_LEN];
        out[0] = HANDSHAKE_RECORD;
        out[1..3].copy_from_slice(&VERSION);
        out[3..5].copy_from_slice(&78u16.to_be_bytes());
        out[5] = SERVER_HELLO;
        out[6..9].copy_from_slice(&[0, 0, 70]);
        out[9..11].copy_from_slice(&VERSION);
        out[11..43].copy_from_slice(&self.random);
        out[43] = SERVER_SESSION_ID_LEN;
        out[44..76].copy_from_slice(&self.session_id);
        out[76..78].copy_from_slice(&CIPHER_SUITE);
        out[78] = NULL_COMPRESSION;
        out[79] = SERVER_HELLO_DONE;
        // out[80..83]: ServerHelloDone length 0.
        out
    }

    /// Checks a server's record.
    pub fn parse(bytes: &[u8]) -> Result<Self, PseudoTlsError> {
        let b = exact::<SERVER_HELLO_LEN>(bytes)?;
        expect("the record content type", &b[0..1], &[HANDSHAKE_RECORD])?;
        expect("the record version", &b[1..3], &VERSION)?;
        expect(
            "the record length (ServerHello and ServerHelloDone in one record)",
            &b[3..5],
            &[0x00, 0x4e],
        )?;
        expect("the first handshake type", &b[5..6], &[SERVER_HELLO])?;
        expect("the ServerHello length", &b[6..9], &[0, 0, 0x46])?;
        expect("the ServerHello version", &b[9..11], &VERSION)?;
        expect(
            "the session id length",
            &b[43..44],
            &[SERVER_SESSION_ID_LEN],
        )?;
        expect("the cipher suite", &b[76..78], &CIPHER_SUITE)?;
        expect("the compression method", &b[78..79], &[NULL_COMPRESSION])?;
        expect(
            "the second handshake type",
            &b[79..80],
            &[SERVER_HELLO_DONE],
        )?;
        expect("the ServerHelloDone length", &b[80..83], &[0, 0, 0])?;
        let mut random = [0u8; 32];
        random.copy_from_slice(&b[11..43]);
        let mut session_id = [0u8; 32];
        session_id.copy_from_slice(&b[44..76]);
        Ok(Self { random, session_id })
    }
}
