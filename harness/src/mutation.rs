//! The PROTOS-c07-style mutation set of the robustness family: hostile
//! variants of the catalogue's own valid requests, one fault per case,
//! generated when the catalogue loads.
//!
//! Three base requests are taken from the catalogue (the first `send` step
//! of a case, see [`BASES`]): a Messenger peer's page-mode MESSAGE, its
//! OPTIONS to the Edge itself and its presence SUBSCRIBE. [`PLAN`] lists,
//! per base, which element (the Request-URI or a header) gets which
//! mutation ([`Op`]); [`ops::apply`] rewrites the template text, leaving
//! the variables (`{call_id}` and the rest) for the case to fill, so the
//! hostile request carries the case's Call-ID and its arrival at the pool
//! is recognised.
//!
//! Every mutation is one the RFC 3261 grammar or its framing rules forbid,
//! never a legal but odd value: a careful Edge answers 400 (RFC 3261 §16.3,
//! SIP-10), closes the connection (a stream it can no longer frame) or
//! discards it, and must never forward it. Which of these the reference
//! Edge's parser meets is the mutation's [`Class`]; the unit tests hold it
//! against the wire validator and framer, and the fault table derives from
//! it which fault switch proves which case.
//!
//! Reproducible: the case id names base, element and mutation
//! (`edge.robustness.mutation.message.cseq.letters`), and the few choices
//! left to chance (which control byte, where in the value it goes, the
//! digits of an overlong number) come from a SplitMix64 generator seeded
//! with [`SEED`] and the id, so the same id always gives the same bytes.

pub mod cases;
pub mod ops;

/// The generator's seed (the ASCII of "PROTOS", for the PROTOS c07-sip
/// test suite this set follows). Changing it changes the bytes of the
/// seeded mutations, not their ids.
pub const SEED: u64 = 0x5052_4f54_4f53;

/// The prefix of every mutation case id.
pub const ID_PREFIX: &str = "edge.robustness.mutation";

/// A base request: its short name (the id's first part after the prefix)
/// and the catalogue case whose first peer `send` step supplies it.
pub const BASES: [(&str, &str); 3] = [
    ("message", "messenger.im.inbound"),
    ("options", "messenger.sip.options"),
    ("subscribe", "messenger.presence.subscribe-inbound"),
];

/// What is mutated: the Request-URI of the start line, or the value of the
/// first header of this (lower-case) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    RequestUri,
    Header(&'static str),
}

impl Target {
    /// The id part: `request-uri` or the header name.
    pub fn name(self) -> &'static str {
        match self {
            Self::RequestUri => "request-uri",
            Self::Header(name) => name,
        }
    }
}

/// One kind of mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// The value removed (`CSeq:` with nothing after it).
    Empty,
    /// Letters where the grammar wants a number (`CSeq: one MESSAGE`).
    Letters,
    /// A NUL byte inside the value.
    Nul,
    /// A control character (not HT, CR or LF) inside the value.
    Ctl,
    /// Format-string tokens (`%s%n%x`) where the grammar allows no `%` or
    /// only an escape `%HH`.
    Format,
    /// A number of 300 digits in a CSeq, Max-Forwards, Content-Length or
    /// Expires value: far beyond the range RFC 3261 allows (below 2^31,
    /// 0-255, a body that fits, below 2^32). An overlong value of a header
    /// without a range (a Call-ID, a display name) is legal SIP: it is the
    /// size limits' matter (`edge.robustness.size.*`), not a mutation.
    Overlong,
    /// A URI parameter whose value is a bracketed URI whose parameter is
    /// one again, 256 levels deep (a parameter value cannot hold `<`).
    Nesting,
    /// The singleton header twice with different values (RFC 3261 §7.3.1).
    Duplicate,
    /// `Content-Length: -1`.
    Negative,
    /// `Content-Length: 18446744073709551616` (2^64, one more than a
    /// 64-bit counter holds).
    TwoTo64,
}

impl Op {
    /// The id part.
    pub fn name(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Letters => "letters",
            Self::Nul => "nul",
            Self::Ctl => "ctl",
            Self::Format => "format-string",
            Self::Overlong => "overlong-number",
            Self::Nesting => "deep-nesting",
            Self::Duplicate => "duplicate",
            Self::Negative => "negative",
            Self::TwoTo64 => "2-64",
        }
    }
}

/// How the reference Edge's parser meets the mutated request: which of its
/// robustness faults the case can catch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The stream still frames into a message, which the SIP validator
    /// finds an error in: a 400, and under `relay-malformed` the request
    /// reaches the pool.
    Syntax,
    /// The stream can no longer be framed (no usable Content-Length, or
    /// a start line that is not SIP): the connection ends; there is no
    /// request to relay.
    Framing,
}

use Op::{Ctl, Duplicate, Empty, Format, Letters, Negative, Nesting, Nul, Overlong, TwoTo64};
use Target::{Header, RequestUri};

/// One planned mutation: base, element, kind.
pub type Planned = (&'static str, Target, Op);

/// Every mutation generated, per base. The MESSAGE gets the whole grid;
/// the OPTIONS and the SUBSCRIBE their start line and the headers the
/// MESSAGE lacks (Accept, Event, Expires, Contact) plus one numeric field
/// each. Left out on purpose: an overlong URI, Via or Call-ID, a
/// format-string Call-ID, an empty Accept (RFC 3261 §20.1 allows it) and a
/// format-string Content-Type (`%` is a legal word and token character,
/// and no length limit applies: legal input, not a mutation), and a
/// Content-Length larger than the body (on a stream the message then never
/// ends: slow input, not syntax).
pub const PLAN: &[Planned] = &[
    ("message", RequestUri, Empty),
    ("message", RequestUri, Nul),
    ("message", RequestUri, Ctl),
    ("message", RequestUri, Format),
    ("message", RequestUri, Nesting),
    ("message", Header("via"), Empty),
    ("message", Header("via"), Nul),
    ("message", Header("via"), Ctl),
    ("message", Header("via"), Format),
    ("message", Header("max-forwards"), Empty),
    ("message", Header("max-forwards"), Letters),
    ("message", Header("max-forwards"), Nul),
    ("message", Header("max-forwards"), Ctl),
    ("message", Header("max-forwards"), Format),
    ("message", Header("max-forwards"), Overlong),
    ("message", Header("max-forwards"), Duplicate),
    ("message", Header("from"), Empty),
    ("message", Header("from"), Nul),
    ("message", Header("from"), Ctl),
    ("message", Header("from"), Format),
    ("message", Header("from"), Nesting),
    ("message", Header("from"), Duplicate),
    ("message", Header("to"), Empty),
    ("message", Header("to"), Nul),
    ("message", Header("to"), Ctl),
    ("message", Header("to"), Format),
    ("message", Header("to"), Nesting),
    ("message", Header("to"), Duplicate),
    ("message", Header("call-id"), Empty),
    ("message", Header("call-id"), Nul),
    ("message", Header("call-id"), Ctl),
    ("message", Header("call-id"), Duplicate),
    ("message", Header("cseq"), Empty),
    ("message", Header("cseq"), Letters),
    ("message", Header("cseq"), Nul),
    ("message", Header("cseq"), Ctl),
    ("message", Header("cseq"), Format),
    ("message", Header("cseq"), Overlong),
    ("message", Header("cseq"), Duplicate),
    ("message", Header("content-type"), Empty),
    ("message", Header("content-type"), Nul),
    ("message", Header("content-type"), Ctl),
    ("message", Header("content-length"), Empty),
    ("message", Header("content-length"), Letters),
    ("message", Header("content-length"), Nul),
    ("message", Header("content-length"), Ctl),
    ("message", Header("content-length"), Format),
    ("message", Header("content-length"), Overlong),
    ("message", Header("content-length"), Duplicate),
    ("message", Header("content-length"), Negative),
    ("message", Header("content-length"), TwoTo64),
    ("options", RequestUri, Empty),
    ("options", RequestUri, Nul),
    ("options", RequestUri, Format),
    ("options", RequestUri, Nesting),
    ("options", Header("cseq"), Letters),
    ("options", Header("accept"), Nul),
    ("options", Header("accept"), Ctl),
    ("subscribe", RequestUri, Nul),
    ("subscribe", RequestUri, Format),
    ("subscribe", RequestUri, Nesting),
    ("subscribe", Header("max-forwards"), Letters),
    ("subscribe", Header("event"), Nul),
    ("subscribe", Header("event"), Ctl),
    ("subscribe", Header("expires"), Empty),
    ("subscribe", Header("expires"), Letters),
    ("subscribe", Header("expires"), Negative),
    ("subscribe", Header("expires"), Format),
    ("subscribe", Header("expires"), Overlong),
    ("subscribe", Header("expires"), Duplicate),
    ("subscribe", Header("contact"), Empty),
    ("subscribe", Header("contact"), Nul),
    ("subscribe", Header("contact"), Format),
    ("subscribe", Header("contact"), Nesting),
];

/// The case id of a planned mutation.
pub fn case_id((base, target, op): Planned) -> String {
    format!("{ID_PREFIX}.{base}.{}.{}", target.name(), op.name())
}

/// How the reference Edge meets a planned mutation (see [`Class`]): a
/// mutation that breaks the Content-Length, or a start line with a NUL or
/// control byte or no URI, cannot be framed; every other one is a message
/// with a syntax error.
pub fn class((_, target, op): Planned) -> Class {
    match (target, op) {
        (Header("content-length"), Duplicate) => Class::Syntax,
        (Header("content-length"), _) | (RequestUri, Empty) => Class::Framing,
        _ => Class::Syntax,
    }
}

/// The ids of the planned mutations of `class`.
pub fn ids_of_class(class_wanted: Class) -> Vec<String> {
    PLAN.iter()
        .filter(|p| class(**p) == class_wanted)
        .map(|p| case_id(*p))
        .collect()
}

/// A small deterministic generator (SplitMix64), seeded per case id.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The generator for the case `id`: [`SEED`] mixed with an FNV-1a hash
    /// of the id.
    pub fn for_id(id: &str) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in id.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        Self(SEED ^ hash)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            return 0;
        }
        let bound = u64::try_from(bound).unwrap_or(u64::MAX);
        usize::try_from(self.next_u64() % bound).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
