//! The TOML layout of a scenario file, as serde reads it (strict: unknown
//! keys are errors). Spans are kept so later validation can name lines.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaseFile {
    pub(crate) id: Spanned<String>,
    pub(crate) title: Spanned<String>,
    pub(crate) requirements: Spanned<Vec<Spanned<String>>>,
    pub(crate) providers: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(crate) tags: Vec<Spanned<String>>,
    /// Whole-case deadline in milliseconds (default 8000).
    pub(crate) timeout_ms: Option<Spanned<u64>>,
    /// Why no fault switch of the reference Edge can make this case fail,
    /// when that is so.
    pub(crate) no_fault_reason: Option<String>,
    /// The case disturbs shared actors (takes the pool down), so it runs
    /// alone.
    #[serde(default)]
    pub(crate) exclusive: bool,
    /// Profile features the case needs; it is skipped for a provider whose
    /// profile lacks one.
    #[serde(default)]
    pub(crate) needs: Vec<Spanned<String>>,
    pub(crate) steps: Spanned<Vec<Spanned<StepFile>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepFile {
    pub(crate) actor: Spanned<String>,
    /// A message template to send.
    pub(crate) send: Option<Spanned<String>>,
    /// Bytes to send exactly as written (TOML escapes such as \r\n apply).
    pub(crate) send_raw: Option<Spanned<String>>,
    /// `request METHOD`, `response CODE` (`2xx` classes allowed), `refusal` or `pong`.
    pub(crate) expect: Option<Spanned<String>>,
    /// Answer the last request this actor received with this status code.
    pub(crate) reply: Option<Spanned<u16>>,
    /// With `reply`: answer the latest request of this method instead of the latest request.
    pub(crate) reply_to: Option<Spanned<String>>,
    /// With `reply`: a (templated) body the reply carries.
    pub(crate) reply_body: Option<Spanned<String>>,
    /// With `reply_body`: its Content-Type (default `application/sdp`).
    pub(crate) reply_content_type: Option<Spanned<String>>,
    /// `down` or `up`: the actor (the pool) stops or resumes serving.
    pub(crate) state: Option<Spanned<String>>,
    /// Send on the connection the actor's latest message arrived on instead
    /// of the actor's own client connection.
    #[serde(default)]
    pub(crate) reuse_connection: bool,
    /// With `send`: the message is deliberately malformed (a robustness
    /// case's hostile input), so its start line is not checked.
    #[serde(default)]
    pub(crate) hostile: bool,
    /// A built-in check.
    pub(crate) check: Option<Spanned<String>>,
    /// A background abuse to start (its name), or `end` to end the running
    /// one (robustness cases).
    pub(crate) abuse: Option<Spanned<String>>,
    /// Headers the expected message must carry.
    #[serde(default)]
    pub(crate) has_headers: Vec<Spanned<String>>,
    /// Headers the expected message must not carry.
    #[serde(default)]
    pub(crate) lacks_headers: Vec<Spanned<String>>,
    /// Header name to a (templated) substring one of its values must contain.
    #[serde(default)]
    pub(crate) header_contains: BTreeMap<String, Spanned<String>>,
    /// Header name to a (templated) substring its topmost value must contain.
    #[serde(default)]
    pub(crate) first_value_contains: BTreeMap<String, Spanned<String>>,
    /// Header name to the exact number of values it must have.
    #[serde(default)]
    pub(crate) value_count: BTreeMap<String, Spanned<usize>>,
    /// (Templated) texts the expected message's body must contain.
    #[serde(default)]
    pub(crate) body_contains: Vec<Spanned<String>>,
    /// The expected message's body must be byte-identical to the body of
    /// the latest message this actor sent.
    pub(crate) body_as_sent_by: Option<Spanned<String>>,
    /// The expected message must arrive on the connection the actor's
    /// previous message came on.
    #[serde(default)]
    pub(crate) same_connection: bool,
    /// Headers whose topmost value must name the Edge (an FQDN or an
    /// address of the Edge).
    #[serde(default)]
    pub(crate) names_edge: Vec<Spanned<String>>,
    /// Headers whose topmost value's URI must be secure: the `sips` scheme
    /// or a `transport=tls` parameter (FED-06).
    #[serde(default)]
    pub(crate) secure_uri: Vec<Spanned<String>>,
    /// Header name to the (templated) host its topmost value must name.
    #[serde(default)]
    pub(crate) first_value_host: BTreeMap<String, Spanned<String>>,
    /// A method: the message's Via branch must be the topmost Via branch of
    /// the latest request of that method the actor received.
    pub(crate) same_branch_as: Option<Spanned<String>>,
    /// A method: the message must belong to the dialog the actor formed
    /// answering a request of that method (Call-ID, tags, a higher CSeq).
    pub(crate) same_dialog_as: Option<Spanned<String>>,
    /// Header name to the largest number its value may hold.
    #[serde(default)]
    pub(crate) value_at_most: BTreeMap<String, Spanned<u64>>,
    /// Rules the requirement does not make: when one does not hold, the case
    /// records an observation instead of failing.
    pub(crate) observe: Option<Spanned<ObserveFile>>,
    /// `warning` or `observation`: when this step fails, the case does not
    /// fail; the failure becomes a finding of that kind and the case goes on.
    pub(crate) if_unmet: Option<Spanned<String>>,
    /// With `if_unmet`: the requirement id the finding cites (one of the
    /// case's `requirements`).
    pub(crate) cites: Option<Spanned<String>>,
    /// What the step is for, shown in reports.
    pub(crate) note: Option<String>,
    /// The step proves the Edge works (see `Step::control`); a case with a
    /// refusal step needs at least one.
    #[serde(default)]
    pub(crate) control: bool,
}

/// The rules an `observe` table may hold.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ObserveFile {
    /// With `expect = "pong"`: how long to wait for the pong before
    /// recording its absence instead of failing.
    pub(crate) pong_within_ms: Option<Spanned<u64>>,
    /// Headers the message should carry.
    #[serde(default)]
    pub(crate) has_headers: Vec<Spanned<String>>,
    /// Header name to the (templated) host its topmost value should name.
    #[serde(default)]
    pub(crate) first_value_host: BTreeMap<String, Spanned<String>>,
    /// The message should arrive on the connection the actor's previous
    /// message came on.
    #[serde(default)]
    pub(crate) same_connection: bool,
}
