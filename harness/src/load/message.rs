//! Page-mode MESSAGE scenarios (RFC 3428): `message-in`, a provider user
//! writing to a Lync user (provider peer -> Edge -> pool), and
//! `message-out`, a Lync user writing to a provider user (pool -> Edge ->
//! provider peer). The pool and the peers answer `200 OK` (the engine's
//! default answer).

use std::io::Write as _;

use super::scenario::{Origin, RequestContext, Scenario};

/// The text every load MESSAGE carries.
const BODY: &str = "picharness load";

/// `message-in`.
#[derive(Debug, Default)]
pub struct MessageInbound;

/// `message-out`.
#[derive(Debug, Default)]
pub struct MessageOutbound;

impl Scenario for MessageInbound {
    fn name(&self) -> &'static str {
        "message-in"
    }

    fn origin(&self) -> Origin {
        Origin::Provider
    }

    fn write_request(&self, ctx: &RequestContext<'_>, out: &mut Vec<u8>) {
        let Some(provider) = ctx.provider else {
            return;
        };
        let domain = pick(&provider.domains, ctx.peer_user());
        write_message(
            out,
            ctx,
            &format_args!("lync{}@{}", ctx.lync_user(), ctx.sut_domain),
            &format_args!("user{}@{}", ctx.peer_user(), domain),
        );
    }
}

impl Scenario for MessageOutbound {
    fn name(&self) -> &'static str {
        "message-out"
    }

    fn origin(&self) -> Origin {
        Origin::Pool
    }

    fn write_request(&self, ctx: &RequestContext<'_>, out: &mut Vec<u8>) {
        let Some(provider) = ctx.target_provider() else {
            return;
        };
        let domain = pick(&provider.domains, ctx.peer_user());
        write_message(
            out,
            ctx,
            &format_args!("user{}@{}", ctx.peer_user(), domain),
            &format_args!("lync{}@{}", ctx.lync_user(), ctx.sut_domain),
        );
    }
}

fn pick(domains: &[String], n: u64) -> &str {
    if domains.is_empty() {
        return "invalid.test";
    }
    &domains[(n % domains.len() as u64) as usize]
}

/// Writes a MESSAGE from `from` to `to` (both `user@domain`).
fn write_message(
    out: &mut Vec<u8>,
    ctx: &RequestContext<'_>,
    to: &std::fmt::Arguments<'_>,
    from: &std::fmt::Arguments<'_>,
) {
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "MESSAGE sip:{to} SIP/2.0\r\n\
         Via: SIP/2.0/TLS {fqdn}:5061;branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{from}>;tag={branch}\r\n\
         To: <sip:{to}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 MESSAGE\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\
         Content-Length: {len}\r\n\r\n{BODY}",
        fqdn = ctx.local_fqdn,
        branch = ctx.branch,
        call_id = ctx.call_id,
        len = BODY.len(),
    );
}

#[cfg(test)]
mod tests {
    use super::super::scenario::ProviderUsers;
    use super::*;
    use picharness_wire::sip::SipMessage;

    fn providers() -> Vec<ProviderUsers> {
        vec![ProviderUsers {
            name: "messenger".into(),
            fqdn: "federation.messenger.msn.com".into(),
            domains: vec!["msn.com".into(), "live.com".into()],
        }]
    }

    fn context<'a>(providers: &'a [ProviderUsers], provider: bool) -> RequestContext<'a> {
        RequestContext {
            local_fqdn: "federation.messenger.msn.com",
            provider: provider.then(|| &providers[0]),
            providers,
            sut_domain: "contoso.test",
            seq: 5,
            connection: 2,
            users: 100,
            call_id: "5.2.abc",
            branch: "5.2.abc",
        }
    }

    #[test]
    fn inbound_message_parses_and_addresses_a_lync_user() {
        let providers = providers();
        let mut out = Vec::new();
        MessageInbound.write_request(&context(&providers, true), &mut out);
        let message = SipMessage::parse(&out).expect("a valid MESSAGE");
        assert_eq!(message.method(), Some("MESSAGE"));
        assert_eq!(message.call_id(), Some("5.2.abc"));
        assert!(
            message
                .request_uri()
                .is_some_and(|u| u.ends_with("@contoso.test"))
        );
        assert_eq!(message.body, BODY.as_bytes());
    }

    #[test]
    fn outbound_message_addresses_a_provider_user() {
        let providers = providers();
        let mut out = Vec::new();
        MessageOutbound.write_request(&context(&providers, false), &mut out);
        let message = SipMessage::parse(&out).expect("a valid MESSAGE");
        let uri = message.request_uri().unwrap_or_default().to_owned();
        assert!(
            uri.ends_with("@msn.com") || uri.ends_with("@live.com"),
            "{uri}"
        );
    }
}
