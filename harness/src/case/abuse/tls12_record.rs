//! TLS 1.2 record protection under keys taken from an established
//! connection (RFC 5246 §6.2.3.3, RFC 5288 §3 for AES-GCM, RFC 7905 §2 for
//! ChaCha20-Poly1305), so the renegotiation abuse can send a handshake
//! message the TLS library would never send and read the Edge's encrypted
//! answer. The nonce construction is the one rustls uses and hands out
//! with the traffic secrets: a 12-byte IV whose last 8 bytes are XORed with
//! the record's sequence number (for AES-GCM those 8 bytes travel as the
//! record's explicit nonce).

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce};
use aws_lc_rs::aead::{Algorithm, UnboundKey};
use rustls::ConnectionTrafficSecrets;

const TLS_1_2: [u8; 2] = [0x03, 0x03];
/// Explicit nonce bytes an AES-GCM record carries before its ciphertext.
const EXPLICIT_NONCE: usize = 8;
const TAG: usize = 16;

/// One direction's key of a TLS 1.2 connection.
pub(super) struct RecordKey {
    key: LessSafeKey,
    iv: [u8; 12],
    /// AES-GCM records carry an explicit nonce; ChaCha20-Poly1305 ones do not.
    explicit_nonce: bool,
}

impl RecordKey {
    /// The key for `secrets`, or `None` for a cipher this module does not
    /// speak (the caller says so instead of guessing).
    pub(super) fn new(secrets: &ConnectionTrafficSecrets) -> Option<Self> {
        let (algorithm, key, iv, explicit_nonce): (&'static Algorithm, &[u8], &[u8], bool) =
            match secrets {
                ConnectionTrafficSecrets::Aes128Gcm { key, iv } => {
                    (&AES_128_GCM, key.as_ref(), iv.as_ref(), true)
                }
                ConnectionTrafficSecrets::Aes256Gcm { key, iv } => {
                    (&AES_256_GCM, key.as_ref(), iv.as_ref(), true)
                }
                ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => {
                    (&CHACHA20_POLY1305, key.as_ref(), iv.as_ref(), false)
                }
                _ => return None,
            };
        Self::from_parts(algorithm, key, iv, explicit_nonce)
    }

    fn from_parts(
        algorithm: &'static Algorithm,
        key: &[u8],
        iv: &[u8],
        explicit_nonce: bool,
    ) -> Option<Self> {
        Some(Self {
            key: LessSafeKey::new(UnboundKey::new(algorithm, key).ok()?),
            iv: iv.try_into().ok()?,
            explicit_nonce,
        })
    }

    fn nonce_for(&self, sequence: u64) -> [u8; 12] {
        let mut nonce = self.iv;
        for (byte, s) in nonce[4..].iter_mut().zip(sequence.to_be_bytes()) {
            *byte ^= s;
        }
        nonce
    }

    fn aad(sequence: u64, content_type: u8, length: usize) -> [u8; 13] {
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&sequence.to_be_bytes());
        aad[8] = content_type;
        aad[9..11].copy_from_slice(&TLS_1_2);
        aad[11..].copy_from_slice(&u16::try_from(length).unwrap_or(u16::MAX).to_be_bytes());
        aad
    }

    /// The whole record (header included) carrying `plaintext` as record
    /// number `sequence`.
    pub(super) fn seal(
        &self,
        sequence: u64,
        content_type: u8,
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        let nonce = self.nonce_for(sequence);
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(sequence, content_type, plaintext.len())),
                &mut sealed,
            )
            .ok()?;
        let mut payload = Vec::with_capacity(EXPLICIT_NONCE + sealed.len());
        if self.explicit_nonce {
            payload.extend_from_slice(&nonce[4..]);
        }
        payload.extend_from_slice(&sealed);
        let mut record = vec![content_type];
        record.extend_from_slice(&TLS_1_2);
        record.extend_from_slice(&u16::try_from(payload.len()).ok()?.to_be_bytes());
        record.extend_from_slice(&payload);
        Some(record)
    }

    /// The plaintext of record number `sequence` (`payload` is what follows
    /// its 5-byte header), or `None` when it does not decrypt.
    pub(super) fn open(&self, sequence: u64, content_type: u8, payload: &[u8]) -> Option<Vec<u8>> {
        let (nonce, sealed) = if self.explicit_nonce {
            let explicit = payload.get(..EXPLICIT_NONCE)?;
            let mut nonce = self.iv;
            nonce[4..].copy_from_slice(explicit);
            (nonce, &payload[EXPLICIT_NONCE..])
        } else {
            (self.nonce_for(sequence), payload)
        };
        let length = sealed.len().checked_sub(TAG)?;
        let mut opened = sealed.to_vec();
        let plaintext = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(sequence, content_type, length)),
                &mut opened,
            )
            .ok()?;
        Some(plaintext.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::crypto::cipher::{AeadKey, Iv};

    #[test]
    fn the_supported_secrets_make_keys() {
        let secrets = ConnectionTrafficSecrets::Aes256Gcm {
            key: AeadKey::from([7; 32]),
            iv: Iv::new([3; 12]),
        };
        assert!(RecordKey::new(&secrets).is_some_and(|k| k.explicit_nonce));
        let secrets = ConnectionTrafficSecrets::Chacha20Poly1305 {
            key: AeadKey::from([7; 32]),
            iv: Iv::new([3; 12]),
        };
        assert!(RecordKey::new(&secrets).is_some_and(|k| !k.explicit_nonce));
    }

    #[test]
    fn a_sealed_record_opens_under_the_same_key_and_sequence_only() {
        let keys = [
            RecordKey::from_parts(&AES_128_GCM, &[7; 16], &[3; 12], true),
            RecordKey::from_parts(&AES_256_GCM, &[7; 32], &[3; 12], true),
            RecordKey::from_parts(&CHACHA20_POLY1305, &[7; 32], &[3; 12], false),
        ];
        for key in keys.into_iter().map(|k| k.expect("key")) {
            let record = key.seal(5, 22, b"hello").expect("sealed");
            assert_eq!(&record[..3], &[22, 3, 3]);
            let length = usize::from(u16::from_be_bytes([record[3], record[4]]));
            assert_eq!(length, record.len() - 5);
            let expected = if key.explicit_nonce {
                8 + 5 + 16
            } else {
                5 + 16
            };
            assert_eq!(length, expected);
            assert_eq!(
                key.open(5, 22, &record[5..]).as_deref(),
                Some(&b"hello"[..])
            );
            assert_eq!(
                key.open(5, 21, &record[5..]),
                None,
                "the type is authenticated"
            );
            assert_eq!(key.open(6, 22, &record[5..]), None, "so is the sequence");
            assert_eq!(key.open(5, 22, &record[5..9]), None, "short payloads fail");
        }
    }
}
