//! Byte vectors written by hand from the field tables of [MS-TURN] §2.1.1
//! (the pseudo-TLS ClientHello record, and the record holding ServerHello
//! and ServerHelloDone), with recognisable Random and session id bytes.

use super::*;

/// Time stamp 0x5f5e1000, then 28 bytes 0xa1..=0xbc.
fn client_random() -> [u8; 32] {
    let mut r = [0u8; 32];
    r[..4].copy_from_slice(&[0x5f, 0x5e, 0x10, 0x00]);
    for (i, b) in r[4..].iter_mut().enumerate() {
        *b = 0xa1 + u8::try_from(i).unwrap();
    }
    r
}

const CLIENT_HELLO: [u8; 50] = [
    0x16, 0x03, 0x01, 0x00, 0x2d, // handshake record, version 3.1, length 45
    0x01, 0x00, 0x00, 0x29, // ClientHello, length 41
    0x03, 0x01, // version 3.1
    0x5f, 0x5e, 0x10, 0x00, // time stamp
    0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, //
    0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, //
    0x00, // session id length 0
    0x00, 0x02, 0x00, 0x18, // one cipher suite, 0x0018
    0x01, 0x00, // one compression method, null
];

/// Server Random all 0x11, session id all 0x22.
const SERVER_HELLO: [u8; 83] = [
    0x16, 0x03, 0x01, 0x00, 0x4e, // handshake record, version 3.1, length 78
    0x02, 0x00, 0x00, 0x46, // ServerHello, length 70
    0x03, 0x01, // version 3.1
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, // Random
    0x20, // session id length 32
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
    0x22, // session id
    0x00, 0x18, // cipher suite
    0x00, // compression method null
    0x0e, 0x00, 0x00, 0x00, // ServerHelloDone, length 0
];

#[test]
fn client_hello_encodes_and_parses_to_the_spec_layout() {
    assert_eq!(encode_client_hello(&client_random()), CLIENT_HELLO);
    assert_eq!(parse_client_hello(&CLIENT_HELLO), Ok(client_random()));
    assert_eq!(CLIENT_HELLO[0], PSEUDO_TLS_FIRST_BYTE);
}

#[test]
fn server_hello_and_done_share_one_record() {
    let hello = ServerHello {
        random: [0x11; 32],
        session_id: [0x22; 32],
    };
    assert_eq!(hello.encode(), SERVER_HELLO);
    assert_eq!(ServerHello::parse(&SERVER_HELLO), Ok(hello));
}

#[test]
fn a_deviating_field_is_named() {
    let mut wrong_suite = CLIENT_HELLO;
    wrong_suite[47] = 0x2f;
    assert_eq!(
        parse_client_hello(&wrong_suite),
        Err(PseudoTlsError::Field {
            field: "the cipher suite",
            expected: "0x0018".to_owned(),
            got: "0x002f".to_owned(),
        })
    );
    // A ServerHelloDone sent in a record of its own: the first record is shorter.
    let mut split = SERVER_HELLO;
    split[3..5].copy_from_slice(&[0x00, 0x4a]);
    let err = ServerHello::parse(&split).unwrap_err();
    assert!(err.to_string().contains("one record"), "{err}");
    assert_eq!(
        ServerHello::parse(&SERVER_HELLO[..79]),
        Err(PseudoTlsError::Length {
            expected: 83,
            got: 79
        })
    );
    // A real TLS 1.2 ClientHello start is not the pseudo-TLS one.
    let mut tls12 = CLIENT_HELLO;
    tls12[9..11].copy_from_slice(&[0x03, 0x03]);
    assert!(parse_client_hello(&tls12).is_err());
}
