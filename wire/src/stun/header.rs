//! The 20-byte STUN header (RFC 5389 §6): message type (class and method
//! bits interleaved), length, magic cookie and transaction id.

/// The fixed magic cookie of RFC 5389 §6.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;

/// The 96-bit transaction id.
pub type TransactionId = [u8; 12];

/// The four message classes (RFC 5389 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Request,
    Indication,
    SuccessResponse,
    ErrorResponse,
}

impl Class {
    fn bits(self) -> u16 {
        match self {
            Self::Request => 0x0000,
            Self::Indication => 0x0010,
            Self::SuccessResponse => 0x0100,
            Self::ErrorResponse => 0x0110,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Indication => "indication",
            Self::SuccessResponse => "success response",
            Self::ErrorResponse => "error response",
        }
    }
}

/// A 12-bit STUN method number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method(pub u16);

/// Methods of RFC 5389 and RFC 5766.
pub mod method {
    use super::Method;
    pub const BINDING: Method = Method(0x001);
    pub const ALLOCATE: Method = Method(0x003);
    pub const REFRESH: Method = Method(0x004);
    pub const SEND: Method = Method(0x006);
    pub const DATA: Method = Method(0x007);
    pub const CREATE_PERMISSION: Method = Method(0x008);
    pub const CHANNEL_BIND: Method = Method(0x009);
}

impl Method {
    pub fn name(self) -> String {
        match self.0 {
            0x001 => "Binding".to_owned(),
            0x003 => "Allocate".to_owned(),
            0x004 => "Refresh".to_owned(),
            0x006 => "Send".to_owned(),
            0x007 => "Data".to_owned(),
            0x008 => "CreatePermission".to_owned(),
            0x009 => "ChannelBind".to_owned(),
            other => format!("method 0x{other:03x}"),
        }
    }
}

/// Packs class and method into the 14-bit message type.
pub(crate) fn message_type(class: Class, method: Method) -> u16 {
    let m = method.0 & 0x0fff;
    (m & 0x000f) | ((m & 0x0070) << 1) | ((m & 0x0f80) << 2) | class.bits()
}

/// Splits a message type into class and method; `None` when either of the
/// two top bits is set (not a STUN message).
pub(crate) fn split_message_type(value: u16) -> Option<(Class, Method)> {
    if value & 0xc000 != 0 {
        return None;
    }
    let class = match value & 0x0110 {
        0x0000 => Class::Request,
        0x0010 => Class::Indication,
        0x0100 => Class::SuccessResponse,
        _ => Class::ErrorResponse,
    };
    let method = (value & 0x000f) | ((value & 0x00e0) >> 1) | ((value & 0x3e00) >> 2);
    Some((class, Method(method)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_types_of_rfc5389_and_rfc5766() {
        assert_eq!(message_type(Class::Request, method::BINDING), 0x0001);
        assert_eq!(
            message_type(Class::SuccessResponse, method::BINDING),
            0x0101
        );
        assert_eq!(message_type(Class::ErrorResponse, method::BINDING), 0x0111);
        assert_eq!(message_type(Class::Request, method::ALLOCATE), 0x0003);
        assert_eq!(message_type(Class::ErrorResponse, method::ALLOCATE), 0x0113);
        assert_eq!(message_type(Class::Indication, method::SEND), 0x0016);
        assert_eq!(message_type(Class::Indication, method::DATA), 0x0017);
        assert_eq!(message_type(Class::Request, method::CHANNEL_BIND), 0x0009);
    }

    #[test]
    fn split_inverts_pack_for_every_method() {
        for m in 0..0x1000 {
            for class in [
                Class::Request,
                Class::Indication,
                Class::SuccessResponse,
                Class::ErrorResponse,
            ] {
                let t = message_type(class, Method(m));
                assert_eq!(split_message_type(t), Some((class, Method(m))));
            }
        }
        assert_eq!(split_message_type(0x4001), None);
    }
}
