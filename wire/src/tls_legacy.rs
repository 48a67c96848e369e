//! Hand-made TLS bytes for probing what a server accepts: a ClientHello
//! offering only an old protocol version (SSL 3.0, TLS 1.0, TLS 1.1), which
//! no modern TLS library will send, and a reader for the first record the
//! server answers with (a ServerHello and the version it chose, or an
//! alert). Also the malformed records of the robustness cases, and the
//! ClientHello of a renegotiation attempt (its record protection is the
//! caller's, under the connection's keys). No crypto:
//! the point is to see the server's first answer, not to finish a
//! handshake.

/// SSL 3.0, TLS 1.0 and TLS 1.1 on the wire.
pub const SSL_3_0: u16 = 0x0300;
pub const TLS_1_0: u16 = 0x0301;
pub const TLS_1_1: u16 = 0x0302;
pub const TLS_1_2: u16 = 0x0303;

/// TLS record content types.
const HANDSHAKE: u8 = 22;
const ALERT: u8 = 21;
const APPLICATION_DATA: u8 = 23;
/// Handshake message types.
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;

/// The largest ciphertext a TLS 1.2 or 1.3 record may carry (RFC 5246
/// §6.2.3: 2^14 + 2048; RFC 8446 §5.2: 2^14 + 256).
pub const MAX_CIPHERTEXT: usize = (1 << 14) + 2048;

/// The cipher suites an old client offered: CBC suites with RSA and ECDHE
/// key exchange, 3DES, and the renegotiation SCSV.
const LEGACY_SUITES: [u16; 8] = [
    0xC013, 0xC014, 0xC009, 0xC00A, 0x002F, 0x0035, 0x000A, 0x00FF,
];

/// The name of a protocol version, for reports.
pub fn version_name(version: u16) -> String {
    match version {
        SSL_3_0 => "SSL 3.0".to_owned(),
        TLS_1_0 => "TLS 1.0".to_owned(),
        TLS_1_1 => "TLS 1.1".to_owned(),
        TLS_1_2 => "TLS 1.2".to_owned(),
        0x0304 => "TLS 1.3".to_owned(),
        other => format!("version 0x{other:04x}"),
    }
}

fn push_u16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

/// Appends `body` behind a 16-bit length.
fn push_with_u16_length(out: &mut Vec<u8>, body: &[u8]) {
    push_u16(out, u16::try_from(body.len()).unwrap_or(u16::MAX));
    out.extend_from_slice(body);
}

fn extension(kind: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    push_u16(&mut out, kind);
    push_with_u16_length(&mut out, body);
    out
}

/// A ClientHello handshake message: `version`, `random`, no session id,
/// `suites`, null compression, and `extensions` (none at all when `None`,
/// as SSL 3.0 sent it).
fn client_hello_message(
    version: u16,
    random: [u8; 32],
    suites: &[u16],
    extensions: Option<&[u8]>,
) -> Vec<u8> {
    let mut body = Vec::new();
    push_u16(&mut body, version);
    body.extend_from_slice(&random);
    body.push(0); // no session id
    let mut suite_bytes = Vec::new();
    for suite in suites {
        push_u16(&mut suite_bytes, *suite);
    }
    push_with_u16_length(&mut body, &suite_bytes);
    body.extend_from_slice(&[1, 0]); // compression: null only
    if let Some(extensions) = extensions {
        push_with_u16_length(&mut body, extensions);
    }
    let mut handshake = vec![CLIENT_HELLO];
    let length = u32::try_from(body.len()).unwrap_or(0).to_be_bytes();
    handshake.extend_from_slice(&length[1..]);
    handshake.extend_from_slice(&body);
    handshake
}

/// The server_name extension with one host_name entry.
fn server_name_extension(server_name: &str) -> Vec<u8> {
    let mut names = vec![0u8];
    push_with_u16_length(&mut names, server_name.as_bytes());
    let mut list = Vec::new();
    push_with_u16_length(&mut list, &names);
    extension(0x0000, &list)
}

/// A ClientHello record offering at most `version`, as a client of that
/// era sent it: no supported_versions extension, CBC suites, the server
/// name (TLS only: SSL 3.0 had no extensions). `random` is the client
/// random.
pub fn legacy_client_hello(version: u16, random: [u8; 32], server_name: &str) -> Vec<u8> {
    let extensions = (version > SSL_3_0).then(|| {
        let mut extensions = server_name_extension(server_name);
        // supported_groups: secp256r1, secp384r1.
        extensions.extend(extension(0x000a, &[0, 4, 0x00, 0x17, 0x00, 0x18]));
        // ec_point_formats: uncompressed.
        extensions.extend(extension(0x000b, &[1, 0]));
        extensions
    });
    let handshake = client_hello_message(version, random, &LEGACY_SUITES, extensions.as_deref());
    record(HANDSHAKE, version.min(TLS_1_0), &handshake)
}

/// The TLS 1.2 suites a renegotiating client offers: ECDHE with AES-GCM
/// or ChaCha20-Poly1305, ECDSA and RSA (what a modern server picks from).
const RENEGOTIATION_SUITES: [u16; 6] = [0xC02B, 0xC02C, 0xC02F, 0xC030, 0xCCA8, 0xCCA9];

/// The handshake message (not yet a record: it travels encrypted) of a
/// TLS 1.2 ClientHello sent on an established connection to renegotiate.
/// Its renegotiation_info extension is empty, as on a first handshake:
/// RFC 5746 §3.5 wants the previous Finished's verify_data there, so a
/// server that negotiated secure renegotiation must refuse this one.
pub fn renegotiation_client_hello(random: [u8; 32], server_name: &str) -> Vec<u8> {
    let mut extensions = server_name_extension(server_name);
    // supported_groups: x25519, secp256r1, secp384r1.
    extensions.extend(extension(
        0x000a,
        &[0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18],
    ));
    extensions.extend(extension(0x000b, &[1, 0]));
    // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256,
    // rsa_pkcs1_sha256.
    extensions.extend(extension(
        0x000d,
        &[0, 6, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01],
    ));
    // renegotiation_info, empty.
    extensions.extend(extension(0xff01, &[0]));
    client_hello_message(TLS_1_2, random, &RENEGOTIATION_SUITES, Some(&extensions))
}

/// A TLS record of `content_type` carrying `payload`.
pub fn record(content_type: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![content_type];
    push_u16(&mut out, version);
    push_with_u16_length(&mut out, payload);
    out
}

/// An application-data record of `len` bytes that decrypts under no key:
/// what a peer sends when its record layer is garbage.
pub fn garbage_record(len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(37) ^ 0xa5)
        .collect();
    record(APPLICATION_DATA, TLS_1_2, &payload)
}

/// An application-data record header claiming a length past
/// [`MAX_CIPHERTEXT`] (65,535 bytes), followed by `sent` bytes of it.
pub fn overlong_record(sent: usize) -> Vec<u8> {
    let mut out = vec![APPLICATION_DATA];
    push_u16(&mut out, TLS_1_2);
    push_u16(&mut out, u16::MAX);
    out.extend((0..sent).map(|i| (i as u8) ^ 0x5a));
    out
}

/// What a server answered first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerFirst {
    /// A ServerHello choosing this version and cipher suite.
    ServerHello { version: u16, cipher_suite: u16 },
    /// An alert (RFC 8446 §6: level, description).
    Alert { level: u8, description: u8 },
    /// A record of another kind, or a handshake message other than
    /// ServerHello.
    Other { content_type: u8 },
    /// Fewer bytes than the first record's header and the fields read.
    Incomplete,
}

/// Reads the first record a server sent in answer to a ClientHello.
pub fn parse_server_first(bytes: &[u8]) -> ServerFirst {
    let Some(&content_type) = bytes.first() else {
        return ServerFirst::Incomplete;
    };
    match content_type {
        ALERT => match (bytes.get(5), bytes.get(6)) {
            (Some(&level), Some(&description)) => ServerFirst::Alert { level, description },
            _ => ServerFirst::Incomplete,
        },
        HANDSHAKE => match bytes.get(5) {
            Some(&SERVER_HELLO) => {
                // type(1) length(3), then version(2), random(32), session id.
                let Some(version) = bytes.get(9..11) else {
                    return ServerFirst::Incomplete;
                };
                let version = u16::from_be_bytes([version[0], version[1]]);
                let Some(&session_len) = bytes.get(43) else {
                    return ServerFirst::Incomplete;
                };
                let at = 44 + usize::from(session_len);
                match bytes.get(at..at + 2) {
                    Some(suite) => ServerFirst::ServerHello {
                        version,
                        cipher_suite: u16::from_be_bytes([suite[0], suite[1]]),
                    },
                    None => ServerFirst::Incomplete,
                }
            }
            Some(_) => ServerFirst::Other { content_type },
            None => ServerFirst::Incomplete,
        },
        other => ServerFirst::Other {
            content_type: other,
        },
    }
}

/// The name of an alert description (RFC 8446 §6, RFC 5246 §7.2).
pub fn alert_name(description: u8) -> String {
    let name = match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        47 => "illegal_parameter",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        109 => "missing_extension",
        110 => "unsupported_extension",
        116 => "certificate_required",
        _ => return format!("alert {description}"),
    };
    format!("{name}({description})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls_1_0_hello_is_a_well_formed_record() {
        let hello = legacy_client_hello(TLS_1_0, [7; 32], "sip.example.test");
        assert_eq!(&hello[..3], &[HANDSHAKE, 0x03, 0x01]);
        let length = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
        assert_eq!(length, hello.len() - 5);
        assert_eq!(hello[5], CLIENT_HELLO);
        let body_length = u32::from_be_bytes([0, hello[6], hello[7], hello[8]]) as usize;
        assert_eq!(body_length, hello.len() - 9);
        assert_eq!(&hello[9..11], &[0x03, 0x01]);
        assert!(
            hello.windows(16).any(|w| w == b"sip.example.test"),
            "the server name is there"
        );
    }

    #[test]
    fn an_ssl_3_hello_carries_no_extensions() {
        let hello = legacy_client_hello(SSL_3_0, [0; 32], "x.test");
        // record(5) + handshake header(4) + version(2) + random(32) +
        // session(1) + suites(2 + 16) + compression(2), nothing after.
        assert_eq!(hello.len(), 5 + 4 + 2 + 32 + 1 + 18 + 2);
        assert_eq!(&hello[1..3], &[0x03, 0x00]);
    }

    #[test]
    fn the_server_first_record_is_read() {
        let alert = record(ALERT, TLS_1_2, &[2, 70]);
        assert_eq!(
            parse_server_first(&alert),
            ServerFirst::Alert {
                level: 2,
                description: 70
            }
        );
        let mut hello = vec![SERVER_HELLO, 0, 0, 42, 0x03, 0x01];
        hello.extend_from_slice(&[9; 32]);
        hello.push(0);
        hello.extend_from_slice(&[0xc0, 0x13, 0]);
        assert_eq!(
            parse_server_first(&record(HANDSHAKE, TLS_1_0, &hello)),
            ServerFirst::ServerHello {
                version: TLS_1_0,
                cipher_suite: 0xc013
            }
        );
        assert_eq!(parse_server_first(&[HANDSHAKE, 3]), ServerFirst::Incomplete);
        assert_eq!(parse_server_first(&[]), ServerFirst::Incomplete);
        assert_eq!(
            parse_server_first(&record(APPLICATION_DATA, TLS_1_2, &[1])),
            ServerFirst::Other { content_type: 23 }
        );
        assert_eq!(alert_name(70), "protocol_version(70)");
    }

    #[test]
    fn malformed_records_say_what_they_claim() {
        let garbage = garbage_record(40);
        assert_eq!(garbage.len(), 45);
        assert_eq!(garbage[0], APPLICATION_DATA);
        let overlong = overlong_record(100);
        assert_eq!(u16::from_be_bytes([overlong[3], overlong[4]]), u16::MAX);
        assert!(usize::from(u16::MAX) > MAX_CIPHERTEXT);
        assert_eq!(overlong.len(), 105);
    }
}
