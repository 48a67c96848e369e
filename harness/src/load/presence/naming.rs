//! Who takes part in subscription `i`: its direction, provider, users,
//! Call-ID and tags, all computed from `i`, so the table stores none of
//! them twice. Even subscriptions go inbound (a provider user watches a Lync
//! user), odd ones outbound; consecutive pairs rotate over the providers;
//! each Lync user is watched by [`WATCHERS_PER_LYNC_USER`] contacts, as a
//! Lync user with a few federated contacts would be.

use super::{Endpoint, PresenceConfig};

/// How many subscriptions share one Lync user on each side.
pub(super) const WATCHERS_PER_LYNC_USER: u32 = 4;

/// Which way a subscription goes through the Edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A provider user subscribes to a Lync user: SUBSCRIBE from outside in,
    /// NOTIFY from inside out.
    Inbound,
    /// A Lync user subscribes to a provider user.
    Outbound,
}

/// One side of a subscription: the endpoint that plays it, the user's
/// address of record and the host of its Contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Party {
    pub endpoint: Endpoint,
    pub user: String,
    pub domain: String,
    pub fqdn: String,
}

impl Party {
    pub(super) fn aor(&self) -> String {
        format!("sip:{}@{}", self.user, self.domain)
    }

    pub(super) fn contact(&self) -> String {
        format!("<sip:{}@{}:5061;transport=tls>", self.user, self.fqdn)
    }
}

/// Direction of subscription `index`.
pub(super) fn direction(index: u32) -> Direction {
    if index.is_multiple_of(2) {
        Direction::Inbound
    } else {
        Direction::Outbound
    }
}

/// The provider (index into the configuration's list) subscription `index`
/// federates with; `None` when the configuration names no provider.
pub(super) fn provider(config: &PresenceConfig, index: u32) -> Option<u8> {
    let count = u32::try_from(config.providers.len()).ok()?;
    if count == 0 {
        return None;
    }
    u8::try_from((index / 2) % count).ok()
}

fn lync_party(config: &PresenceConfig, index: u32) -> Party {
    Party {
        endpoint: Endpoint::Pool,
        user: format!("{}-lync{}", config.run_id, index / WATCHERS_PER_LYNC_USER),
        domain: config.sut_domain.clone(),
        fqdn: config.pool_fqdn.clone(),
    }
}

fn provider_party(config: &PresenceConfig, index: u32) -> Option<Party> {
    let p = provider(config, index)?;
    let side = config.providers.get(usize::from(p))?;
    let count = u32::try_from(config.providers.len()).ok()?;
    let domain = side
        .domains
        .get(usize::try_from(index / 2 / count).ok()? % side.domains.len().max(1))?;
    Some(Party {
        endpoint: Endpoint::Provider(p),
        user: format!("{}-{}{}", config.run_id, side.name, index),
        domain: domain.clone(),
        fqdn: side.fqdn.clone(),
    })
}

/// The watcher (subscriber) and the presentity's notifier of subscription
/// `index`.
pub(super) fn parties(config: &PresenceConfig, index: u32) -> Option<(Party, Party)> {
    let provider = provider_party(config, index)?;
    let lync = lync_party(config, index);
    Some(match direction(index) {
        Direction::Inbound => (provider, lync),
        Direction::Outbound => (lync, provider),
    })
}

/// The Call-ID prefix all of a run's subscriptions share.
pub(super) fn call_id_prefix(run_id: &str) -> String {
    format!("{run_id}-pres-")
}

/// The Call-ID of subscription `index`.
pub(super) fn call_id(prefix: &str, index: u32) -> String {
    format!("{prefix}{index}")
}

/// The subscription a Call-ID names, when it is one of ours.
pub(super) fn index_of(prefix: &str, call_id: &str) -> Option<u32> {
    let digits = call_id.trim().strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The watcher's From tag.
pub(super) fn watcher_tag(index: u32) -> String {
    format!("w{index}")
}

/// The notifier's To tag.
pub(super) fn notifier_tag(index: u32) -> String {
    format!("n{index}")
}

/// A branch unique to the request: run, subscription, side and CSeq (the
/// letter keeps the two numbers apart).
pub(super) fn branch(run_id: &str, index: u32, side: char, cseq: u32) -> String {
    format!("z9hG4bK-{run_id}-p{index}{side}{cseq}")
}
