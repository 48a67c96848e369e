//! Keys for MESSAGE-INTEGRITY (RFC 5389 §15.4): the short-term key is the
//! password; the long-term key is MD5(username ":" realm ":" password).
//! SASLprep is the caller's business: the harness uses ASCII credentials.

use md5::{Digest, Md5};

/// The long-term credential key of RFC 5389 §15.4.
pub fn long_term_key(username: &str, realm: &str, password: &str) -> Vec<u8> {
    let mut hasher = Md5::new();
    hasher.update(username.as_bytes());
    hasher.update(b":");
    hasher.update(realm.as_bytes());
    hasher.update(b":");
    hasher.update(password.as_bytes());
    hasher.finalize().to_vec()
}

/// The short-term credential key: the password itself.
pub fn short_term_key(password: &str) -> Vec<u8> {
    password.as_bytes().to_vec()
}
