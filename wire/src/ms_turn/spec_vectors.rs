//! Byte vectors written by hand from the field descriptions of [MS-TURN]
//! §2.1.4 (TCP framing), §2.2.1 (header), §2.2.2 (attributes), §2.2.2.8
//! (Magic Cookie), §2.2.2.17 (MS-Version) and §3.1.10 (verification).

use super::*;

const TID: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];

/// An Allocate request with MS-Version 3 and a 5-byte USERNAME:
/// header (type 0x0003, length 28, 16-byte transaction id), Magic Cookie
/// attribute (0x000F, 4, 0x72c64bc6) first, then MS-Version (0x8008, 4, 3),
/// then USERNAME (0x0006, 5, "alice" + 3 bytes of padding).
const ALLOCATE: [u8; 48] = [
    0x00, 0x03, 0x00, 0x1c, // type, length
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, // transaction id
    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, //
    0x00, 0x0f, 0x00, 0x04, 0x72, 0xc6, 0x4b, 0xc6, // Magic Cookie
    0x80, 0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, // MS-Version 3
    0x00, 0x06, 0x00, 0x05, b'a', b'l', b'i', b'c', b'e', 0, 0, 0, // USERNAME
];

#[test]
fn allocate_request_encodes_to_the_spec_layout() {
    let message = MsTurnMessage::new(ms_type::ALLOCATE_REQUEST, TID)
        .with(ms_attr::MS_VERSION, &3u32.to_be_bytes())
        .with(ms_attr::USERNAME, b"alice");
    assert_eq!(message.encode(), ALLOCATE);
    let parsed = MsTurnMessage::parse(&ALLOCATE).unwrap();
    assert_eq!(parsed, message);
    assert_eq!(parsed.ms_version(), Some(3));
}

#[test]
fn a_message_without_the_leading_magic_cookie_is_improperly_formed() {
    // The same request with MS-Version first and the cookie second.
    let mut swapped = ALLOCATE;
    swapped[20..28].copy_from_slice(&[0x80, 0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03]);
    swapped[28..36].copy_from_slice(&[0x00, 0x0f, 0x00, 0x04, 0x72, 0xc6, 0x4b, 0xc6]);
    assert_eq!(
        MsTurnMessage::parse(&swapped),
        Err(MsTurnError::MissingMagicCookie)
    );
    // An RFC 5389 Binding request (cookie in the header) is not MS-TURN either.
    let rfc5389 = [
        0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ];
    assert_eq!(
        MsTurnMessage::parse(&rfc5389),
        Err(MsTurnError::MissingMagicCookie)
    );
    assert_eq!(
        MsTurnMessage::parse(&ALLOCATE[..47]).unwrap_err(),
        MsTurnError::LengthMismatch {
            declared: 28,
            actual: 27
        }
    );
}

#[test]
fn realm_and_nonce_numbers_are_the_ms_turn_ones() {
    assert_eq!((ms_attr::NONCE, ms_attr::REALM), (0x0014, 0x0015));
    let challenge = MsTurnMessage::new(ms_type::ALLOCATE_ERROR_RESPONSE, TID)
        .with(ms_attr::ERROR_CODE, &[0, 0, 4, 1])
        .with(ms_attr::REALM, b"contoso.test")
        .with(ms_attr::NONCE, b"n0nce");
    let bytes = challenge.encode();
    assert_eq!(&bytes[..2], &[0x01, 0x13]);
    // After the cookie (20..28) comes ERROR-CODE (28..36), then REALM type 0x0015.
    assert_eq!(&bytes[36..40], &[0x00, 0x15, 0x00, 0x0c]);
}

#[test]
fn unknown_mandatory_attributes_are_listed() {
    let message = MsTurnMessage::new(ms_type::ALLOCATE_REQUEST, TID)
        .with(0x0019, &[17, 0, 0, 0])
        .with(0x8022, b"optional is fine");
    assert_eq!(message.unknown_mandatory(), vec![0x0019]);
}

#[test]
fn tcp_framing_header_marks_control_and_data() {
    let control = MsTcpFrame {
        kind: MsTcpFrameKind::Control,
        payload: ALLOCATE.to_vec(),
    };
    let bytes = control.encode();
    assert_eq!(&bytes[..4], &[0x02, 0x00, 0x00, 0x30]);
    let data = MsTcpFrame {
        kind: MsTcpFrameKind::Data,
        payload: vec![0x80, 0x00],
    };
    let mut stream = bytes.clone();
    stream.extend(data.encode());
    assert_eq!(&stream[52..], &[0x03, 0x00, 0x00, 0x02, 0x80, 0x00]);
    let (first, used) = decode_tcp_frame(&stream).unwrap().unwrap();
    assert_eq!((first, used), (control, 52));
    let (second, _) = decode_tcp_frame(&stream[used..]).unwrap().unwrap();
    assert_eq!(second, data);
    assert_eq!(decode_tcp_frame(&stream[..51]), Ok(None));
    assert_eq!(
        decode_tcp_frame(&[0x16, 0x03, 0x01, 0x00]),
        Err(MsTcpFramingError::UnknownType(0x16))
    );
}
