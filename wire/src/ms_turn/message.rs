//! [MS-TURN] §2.2.1 message header and §2.2.2 attributes.

/// The value of the Magic Cookie attribute ([MS-TURN] §2.2.2.8).
pub const MS_MAGIC_COOKIE: u32 = 0x72c6_4bc6;
const HEADER_LEN: usize = 20;

/// Message types of [MS-TURN] §2.2.1.
pub mod ms_type {
    pub const ALLOCATE_REQUEST: u16 = 0x0003;
    pub const ALLOCATE_RESPONSE: u16 = 0x0103;
    pub const ALLOCATE_ERROR_RESPONSE: u16 = 0x0113;
    pub const SEND_REQUEST: u16 = 0x0004;
    pub const DATA_INDICATION: u16 = 0x0115;
    pub const SET_ACTIVE_DESTINATION_REQUEST: u16 = 0x0006;
    pub const SET_ACTIVE_DESTINATION_RESPONSE: u16 = 0x0106;
    pub const SET_ACTIVE_DESTINATION_ERROR_RESPONSE: u16 = 0x0116;
}

/// Attribute types of [MS-TURN] §2.2.2 (note REALM and NONCE: 0x0015 and
/// 0x0014, the other way round from RFC 5389).
pub mod ms_attr {
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    pub const USERNAME: u16 = 0x0006;
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    pub const ERROR_CODE: u16 = 0x0009;
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    pub const LIFETIME: u16 = 0x000D;
    pub const ALTERNATE_SERVER: u16 = 0x000E;
    pub const MAGIC_COOKIE: u16 = 0x000F;
    pub const BANDWIDTH: u16 = 0x0010;
    pub const DESTINATION_ADDRESS: u16 = 0x0011;
    pub const REMOTE_ADDRESS: u16 = 0x0012;
    pub const DATA: u16 = 0x0013;
    pub const NONCE: u16 = 0x0014;
    pub const REALM: u16 = 0x0015;
    pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
    pub const MS_VERSION: u16 = 0x8008;
    pub const XOR_MAPPED_ADDRESS: u16 = 0x8020;
    pub const MS_SEQUENCE_NUMBER: u16 = 0x8050;

    /// The mandatory-range attributes [MS-TURN] §2.2.2 lists as supported;
    /// any other type below 0x8000 must get an Unknown Attribute error.
    pub const MANDATORY: &[u16] = &[
        MAPPED_ADDRESS,
        USERNAME,
        MESSAGE_INTEGRITY,
        ERROR_CODE,
        UNKNOWN_ATTRIBUTES,
        LIFETIME,
        ALTERNATE_SERVER,
        MAGIC_COOKIE,
        BANDWIDTH,
        DESTINATION_ADDRESS,
        REMOTE_ADDRESS,
        DATA,
        NONCE,
        REALM,
        REQUESTED_ADDRESS_FAMILY,
    ];
}

/// Why bytes are not a well-formed MS-TURN message. [MS-TURN] §3.1.10: such
/// a message is ignored, and on TCP the connection should be dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsTurnError {
    #[error("{0} bytes is shorter than the 20-byte MS-TURN header")]
    TooShort(usize),
    #[error("the two most significant bits of the message type are not zero")]
    NotTurn,
    #[error("header length {declared} does not match the {actual} bytes after the header")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("attribute at offset {offset} runs past the end of the message")]
    TruncatedAttribute { offset: usize },
    #[error("the first attribute is not Magic Cookie 0x72c64bc6 ([MS-TURN] §2.2.2.8, §3.1.10)")]
    MissingMagicCookie,
}

/// One attribute: type and value (without padding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsAttribute {
    pub kind: u16,
    pub value: Vec<u8>,
}

/// An MS-TURN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsTurnMessage {
    pub message_type: u16,
    pub transaction_id: [u8; 16],
    /// Attributes after the Magic Cookie, in order.
    pub attributes: Vec<MsAttribute>,
}

impl MsTurnMessage {
    pub fn new(message_type: u16, transaction_id: [u8; 16]) -> Self {
        Self {
            message_type,
            transaction_id,
            attributes: Vec::new(),
        }
    }

    pub fn with(mut self, kind: u16, value: &[u8]) -> Self {
        self.attributes.push(MsAttribute {
            kind,
            value: value.to_vec(),
        });
        self
    }

    pub fn attribute(&self, kind: u16) -> Option<&MsAttribute> {
        self.attributes.iter().find(|a| a.kind == kind)
    }

    /// MS-Version ([MS-TURN] §2.2.2.17), when present.
    pub fn ms_version(&self) -> Option<u32> {
        let v = &self.attribute(ms_attr::MS_VERSION)?.value;
        (v.len() == 4).then(|| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    }

    /// Mandatory-range attribute types this dialect does not define.
    pub fn unknown_mandatory(&self) -> Vec<u16> {
        self.attributes
            .iter()
            .map(|a| a.kind)
            .filter(|k| *k < 0x8000 && !ms_attr::MANDATORY.contains(k))
            .collect()
    }

    /// Encodes the message with the Magic Cookie attribute first; values are
    /// zero-padded to 32 bits.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let cookie = MsAttribute {
            kind: ms_attr::MAGIC_COOKIE,
            value: MS_MAGIC_COOKIE.to_be_bytes().to_vec(),
        };
        for attribute in std::iter::once(&cookie).chain(&self.attributes) {
            body.extend_from_slice(&attribute.kind.to_be_bytes());
            let len = u16::try_from(attribute.value.len()).unwrap_or(u16::MAX);
            body.extend_from_slice(&len.to_be_bytes());
            body.extend_from_slice(&attribute.value[..usize::from(len)]);
            body.resize((body.len() + 3) & !3, 0);
        }
        let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
        bytes.extend_from_slice(&self.message_type.to_be_bytes());
        let length = u16::try_from(body.len()).unwrap_or(u16::MAX);
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend_from_slice(&self.transaction_id);
        bytes.extend_from_slice(&body);
        bytes
    }

    /// Parses one message and checks what [MS-TURN] §3.1.10 requires.
    pub fn parse(bytes: &[u8]) -> Result<Self, MsTurnError> {
        if bytes.len() < HEADER_LEN {
            return Err(MsTurnError::TooShort(bytes.len()));
        }
        let message_type = u16::from_be_bytes([bytes[0], bytes[1]]);
        if message_type & 0xc000 != 0 {
            return Err(MsTurnError::NotTurn);
        }
        let declared = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        let actual = bytes.len() - HEADER_LEN;
        if declared != actual {
            return Err(MsTurnError::LengthMismatch { declared, actual });
        }
        let mut transaction_id = [0u8; 16];
        transaction_id.copy_from_slice(&bytes[4..20]);
        let mut attributes = Vec::new();
        let mut offset = HEADER_LEN;
        while offset < bytes.len() {
            let header = bytes
                .get(offset..offset + 4)
                .ok_or(MsTurnError::TruncatedAttribute { offset })?;
            let kind = u16::from_be_bytes([header[0], header[1]]);
            let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
            let value = bytes
                .get(offset + 4..offset + 4 + len)
                .ok_or(MsTurnError::TruncatedAttribute { offset })?;
            attributes.push(MsAttribute {
                kind,
                value: value.to_vec(),
            });
            offset += 4 + ((len + 3) & !3);
        }
        let cookie_first = attributes.first().is_some_and(|a| {
            a.kind == ms_attr::MAGIC_COOKIE && a.value == MS_MAGIC_COOKIE.to_be_bytes()
        });
        if !cookie_first {
            return Err(MsTurnError::MissingMagicCookie);
        }
        attributes.remove(0);
        Ok(Self {
            message_type,
            transaction_id,
            attributes,
        })
    }
}
