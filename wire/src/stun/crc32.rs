//! CRC-32 (ISO 3309 / ITU-T V.42, the one FINGERPRINT uses, RFC 5389 §15.5),
//! bitwise: messages are small and this keeps the crate dependency-free.

/// CRC-32 with the reflected polynomial 0xEDB88320, initial and final XOR
/// 0xFFFFFFFF.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_value_of_the_standard_string() {
        // The catalogue check value for CRC-32: "123456789" -> 0xCBF43926.
        assert_eq!(super::crc32(b"123456789"), 0xcbf4_3926);
    }
}
