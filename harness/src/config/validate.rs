//! From the TOML layout to a [`StagingConfig`]: every value parsed and
//! checked, every rule between values enforced, and every problem found
//! reported with its line (all of them, not just the first).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::file_format::{AvFile, ConfigFile, DnsFile, PoolFile, ProviderFile, SutFile};
use super::{
    AvConfig, ConfigError, DnsConfig, PoolConfig, ProviderConfig, StagingConfig, SutConfig,
    TopologyMode,
};
use crate::profile::ProviderProfile;
use crate::scenario::line_of;
use crate::topology::AvDialects;

const MAX_CASE_TIMEOUT_MS: u64 = 600_000;

struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Ctx<'_> {
    fn error(&mut self, span: Option<Range<usize>>, field: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            line: span.map_or(0, |s| line_of(self.text, s.start)),
            field: field.to_owned(),
            message: message.into(),
        });
    }

    fn socket(&mut self, value: &Spanned<String>, field: &str) -> Option<SocketAddr> {
        match value.get_ref().parse::<SocketAddr>() {
            Ok(address) if address.port() == 0 => {
                self.error(Some(value.span()), field, "port 0 is not a port to use");
                None
            }
            Ok(address) => Some(address),
            Err(_) => {
                self.error(
                    Some(value.span()),
                    field,
                    format!(
                        "{:?} is not an address with a port (write 192.0.2.10:5061 or [2001:db8::10]:5061)",
                        value.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn ip(&mut self, value: &Spanned<String>, field: &str) -> Option<IpAddr> {
        match value.get_ref().parse::<IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                self.error(
                    Some(value.span()),
                    field,
                    format!("{:?} is not an IP address (no port here)", value.get_ref()),
                );
                None
            }
        }
    }

    fn fqdn(&mut self, value: &Spanned<String>, field: &str) -> Option<String> {
        match crate::dns_name::dns_name_problem(value.get_ref()) {
            None => Some(value.get_ref().trim_end_matches('.').to_ascii_lowercase()),
            Some(problem) => {
                self.error(
                    Some(value.span()),
                    field,
                    format!("{:?} is not a DNS name: {problem}", value.get_ref()),
                );
                None
            }
        }
    }

    /// A file path, relative to the configuration file's directory, that
    /// must exist.
    fn existing_file(&mut self, value: &Spanned<String>, field: &str) -> Option<PathBuf> {
        let base = self.file.parent().unwrap_or_else(|| Path::new("."));
        let path = base.join(value.get_ref());
        if path.is_file() {
            Some(path)
        } else {
            self.error(
                Some(value.span()),
                field,
                format!("{} does not exist or is not a file", path.display()),
            );
            None
        }
    }

    fn required<'v, T>(
        &mut self,
        value: Option<&'v Spanned<T>>,
        table: &Spanned<impl Sized>,
        field: &str,
        why: &str,
    ) -> Option<&'v Spanned<T>> {
        if value.is_none() {
            self.error(Some(table.span()), field, format!("missing: {why}"));
        }
        value
    }
}

/// Parses and validates the text of a configuration file.
pub(crate) fn parse_config(
    file: &Path,
    text: &str,
    profiles: &[ProviderProfile],
) -> Result<StagingConfig, Vec<ConfigError>> {
    let mut ctx = Ctx {
        file,
        text,
        errors: Vec::new(),
    };
    let raw: ConfigFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => return Err(vec![ConfigError::from_toml(file, text, &e)]),
    };
    let mode = match raw.mode.get_ref().as_str() {
        "sandwich" => Some(TopologyMode::Sandwich),
        "external-only" => Some(TopologyMode::ExternalOnly),
        other => {
            ctx.error(
                Some(raw.mode.span()),
                "mode",
                format!("{other:?} is not a mode: use \"sandwich\" or \"external-only\""),
            );
            None
        }
    };
    let sut = sut(&mut ctx, &raw.sut, mode);
    let ca_certificate = ctx.existing_file(&raw.pki.get_ref().ca_certificate, "pki.ca_certificate");
    let ca_key = ctx.existing_file(&raw.pki.get_ref().ca_key, "pki.ca_key");
    let dns = dns(&mut ctx, &raw.dns);
    let pool = pool(&mut ctx, raw.pool.as_ref(), mode, &raw.sut);
    let av = raw.av.as_ref().and_then(|av| av_config(&mut ctx, av));
    let providers = providers(&mut ctx, &raw.providers, profiles);
    let case_timeout = raw
        .timeouts
        .as_ref()
        .and_then(|t| t.get_ref().case_ms.as_ref())
        .and_then(|ms| {
            if (1..=MAX_CASE_TIMEOUT_MS).contains(ms.get_ref()) {
                Some(Duration::from_millis(*ms.get_ref()))
            } else {
                ctx.error(
                    Some(ms.span()),
                    "timeouts.case_ms",
                    format!("must be between 1 and {MAX_CASE_TIMEOUT_MS}"),
                );
                None
            }
        });
    let crl_listen = raw.crl.as_ref().and_then(|crl| crl_listen(&mut ctx, crl));
    check_listeners_distinct(&mut ctx, &raw);
    match (mode, sut, ca_certificate, ca_key, dns) {
        (Some(mode), Some(sut), Some(ca_certificate), Some(ca_key), Some(dns))
            if ctx.errors.is_empty() =>
        {
            Ok(StagingConfig {
                source: file.to_path_buf(),
                mode,
                sut,
                ca_certificate,
                ca_key,
                dns,
                pool,
                av,
                providers,
                case_timeout,
                crl_listen,
            })
        }
        _ => Err(ctx.errors),
    }
}

fn sut(ctx: &mut Ctx<'_>, raw: &Spanned<SutFile>, mode: Option<TopologyMode>) -> Option<SutConfig> {
    let file = raw.get_ref();
    let access_edge_fqdn = ctx.fqdn(&file.access_edge_fqdn, "sut.access_edge_fqdn");
    let mut sip_domains = Vec::new();
    for domain in file.sip_domains.get_ref() {
        if let Some(d) = ctx.fqdn(domain, "sut.sip_domains") {
            sip_domains.push(d);
        }
    }
    if file.sip_domains.get_ref().is_empty() {
        ctx.error(
            Some(file.sip_domains.span()),
            "sut.sip_domains",
            "name at least one SIP domain the Edge serves",
        );
    }
    let mut external = Vec::new();
    for address in file.external.get_ref() {
        if let Some(a) = ctx.socket(address, "sut.external") {
            external.push(a);
        }
    }
    if file.external.get_ref().is_empty() {
        ctx.error(
            Some(file.external.span()),
            "sut.external",
            "name the Access Edge's external listener (ADDR:5061)",
        );
    }
    let internal = file
        .internal
        .as_ref()
        .and_then(|a| ctx.socket(a, "sut.internal"));
    let internal_fqdn = file
        .internal_fqdn
        .as_ref()
        .and_then(|f| ctx.fqdn(f, "sut.internal_fqdn"));
    if mode == Some(TopologyMode::Sandwich) {
        if file.internal.is_none() {
            ctx.error(
                Some(raw.span()),
                "sut.internal",
                "missing: sandwich mode needs the Edge's internal listener, where the simulated pool connects",
            );
        }
        if file.internal_fqdn.is_none() {
            ctx.error(
                Some(raw.span()),
                "sut.internal_fqdn",
                "missing: sandwich mode needs the name on the Edge's internal certificate",
            );
        }
    }
    let mut trust_anchors = Vec::new();
    for anchor in file.trust_anchors.get_ref() {
        if let Some(path) = ctx.existing_file(anchor, "sut.trust_anchors") {
            trust_anchors.push(path);
        }
    }
    if file.trust_anchors.get_ref().is_empty() {
        ctx.error(
            Some(file.trust_anchors.span()),
            "sut.trust_anchors",
            "name at least one PEM file with the root the Edge's certificate chains to",
        );
    }
    Some(SutConfig {
        access_edge_fqdn: access_edge_fqdn?,
        sip_domains,
        external,
        internal,
        internal_fqdn,
        trust_anchors,
    })
}

fn dns(ctx: &mut Ctx<'_>, raw: &Spanned<DnsFile>) -> Option<DnsConfig> {
    let file = raw.get_ref();
    if file.server.get_ref() == "in-process" {
        let listen = ctx.required(
            file.listen.as_ref(),
            raw,
            "dns.listen",
            "the in-process DNS server needs an address to listen on (ADDR:PORT)",
        )?;
        return ctx
            .socket(listen, "dns.listen")
            .map(|listen| DnsConfig::InProcess { listen });
    }
    if let Some(listen) = &file.listen {
        ctx.error(
            Some(listen.span()),
            "dns.listen",
            "only the in-process server listens; remove this or set server = \"in-process\"",
        );
    }
    ctx.socket(&file.server, "dns.server")
        .map(|server| DnsConfig::External { server })
}

fn pool(
    ctx: &mut Ctx<'_>,
    raw: Option<&Spanned<PoolFile>>,
    mode: Option<TopologyMode>,
    sut: &Spanned<SutFile>,
) -> Option<PoolConfig> {
    match (mode, raw) {
        (Some(TopologyMode::Sandwich), None) => {
            ctx.error(
                Some(sut.span()),
                "pool",
                "missing: sandwich mode needs a [pool] table (fqdn, listen) for the simulated pool",
            );
            None
        }
        (Some(TopologyMode::ExternalOnly), Some(raw)) => {
            ctx.error(
                Some(raw.span()),
                "pool",
                "external-only mode keeps the real pool; remove [pool] or use mode = \"sandwich\"",
            );
            None
        }
        (_, Some(raw)) => {
            let file = raw.get_ref();
            let fqdn = ctx.fqdn(&file.fqdn, "pool.fqdn");
            let listen = ctx.socket(&file.listen, "pool.listen");
            Some(PoolConfig {
                fqdn: fqdn?,
                listen: listen?,
            })
        }
        (_, None) => None,
    }
}

fn av_config(ctx: &mut Ctx<'_>, raw: &Spanned<AvFile>) -> Option<AvConfig> {
    let file = raw.get_ref();
    if !file.enabled {
        return None;
    }
    let why = "needed unless enabled = false";
    let udp = ctx.required(file.udp.as_ref(), raw, "av.udp", why);
    let udp = udp.and_then(|a| ctx.socket(a, "av.udp"));
    let tcp = ctx.required(file.tcp.as_ref(), raw, "av.tcp", why);
    let tcp = tcp.and_then(|a| ctx.socket(a, "av.tcp"));
    let username = ctx.required(file.username.as_ref(), raw, "av.username", why);
    let password = ctx.required(file.password.as_ref(), raw, "av.password", why);
    let client_ip = ctx.required(file.client_ip.as_ref(), raw, "av.client_ip", why);
    let client_ip = client_ip.and_then(|a| ctx.ip(a, "av.client_ip"));
    let media_peer_ip = ctx.required(file.media_peer_ip.as_ref(), raw, "av.media_peer_ip", why);
    let media_peer_ip = media_peer_ip.and_then(|a| ctx.ip(a, "av.media_peer_ip"));
    let mut dialects = AvDialects {
        standard: false,
        ms_turn: true,
    };
    if let Some(list) = &file.dialects {
        dialects.ms_turn = false;
        for dialect in list.get_ref() {
            match dialect.get_ref().as_str() {
                "standard" => dialects.standard = true,
                "ms-turn" => dialects.ms_turn = true,
                other => ctx.error(
                    Some(dialect.span()),
                    "av.dialects",
                    format!("{other:?} is not a dialect: use \"standard\" and/or \"ms-turn\""),
                ),
            }
        }
        if list.get_ref().is_empty() {
            ctx.error(
                Some(list.span()),
                "av.dialects",
                "name at least one dialect, or set enabled = false",
            );
        }
    }
    Some(AvConfig {
        udp: udp?,
        tcp: tcp?,
        username: username?.get_ref().clone(),
        password: password?.get_ref().clone(),
        dialects,
        client_ip: client_ip?,
        media_peer_ip: media_peer_ip?,
    })
}

fn providers(
    ctx: &mut Ctx<'_>,
    raw: &BTreeMap<String, Spanned<ProviderFile>>,
    profiles: &[ProviderProfile],
) -> BTreeMap<String, ProviderConfig> {
    let mut out = BTreeMap::new();
    for (name, table) in raw {
        let field = format!("providers.{name}");
        let Some(profile) = profiles.iter().find(|p| &p.name == name) else {
            let known: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
            ctx.error(
                Some(table.span()),
                &field,
                format!(
                    "no provider profile is called {name:?} (known: {})",
                    known.join(", ")
                ),
            );
            continue;
        };
        let file = table.get_ref();
        if !file.enabled {
            continue;
        }
        let listen_field = format!("{field}.listen");
        let Some(listen) = ctx.required(
            file.listen.as_ref(),
            table,
            &listen_field,
            "where this peer listens (ADDR:5061), or enabled = false",
        ) else {
            continue;
        };
        let Some(listen) = ctx.socket(listen, &listen_field) else {
            continue;
        };
        let advertise = match &file.advertise {
            Some(a) => ctx.ip(a, &format!("{field}.advertise")),
            None => Some(listen.ip()),
        };
        if let Some(advertise) = advertise {
            out.insert(
                name.clone(),
                ProviderConfig {
                    profile: profile.clone(),
                    listen,
                    advertise,
                },
            );
        }
    }
    if out.is_empty() && ctx.errors.is_empty() {
        ctx.error(
            None,
            "providers",
            "no provider is enabled: add a [providers.<name>] table with listen = \"ADDR:5061\"",
        );
    }
    out
}

/// Two simulated roles may not bind the same socket.
/// `[crl] listen`: a specific address (it goes into the URL of every
/// provider certificate's CRL distribution point, which the Edge fetches).
fn crl_listen(ctx: &mut Ctx<'_>, raw: &Spanned<super::file_format::CrlFile>) -> Option<SocketAddr> {
    let listen = &raw.get_ref().listen;
    let address = ctx.socket(listen, "crl.listen")?;
    if address.ip().is_unspecified() {
        ctx.error(
            Some(listen.span()),
            "crl.listen",
            format!(
                "{address} is not an address the Edge can fetch from: the certificates' CRL distribution point names it; write the harness's own address, e.g. 192.0.2.20:80"
            ),
        );
        return None;
    }
    Some(address)
}

fn check_listeners_distinct(ctx: &mut Ctx<'_>, raw: &ConfigFile) {
    let mut listeners: Vec<(&Spanned<String>, String)> = raw
        .providers
        .iter()
        .filter(|(_, table)| table.get_ref().enabled)
        .filter_map(|(name, table)| {
            let listen = table.get_ref().listen.as_ref()?;
            Some((listen, format!("providers.{name}.listen")))
        })
        .collect();
    if let Some(pool) = &raw.pool {
        listeners.push((&pool.get_ref().listen, "pool.listen".to_owned()));
    }
    if let Some(listen) = &raw.dns.get_ref().listen {
        listeners.push((listen, "dns.listen".to_owned()));
    }
    if let Some(crl) = &raw.crl {
        listeners.push((&crl.get_ref().listen, "crl.listen".to_owned()));
    }
    let mut seen: HashMap<SocketAddr, String> = HashMap::new();
    for (value, field) in listeners {
        let Ok(address) = value.get_ref().parse::<SocketAddr>() else {
            continue;
        };
        if let Some(first) = seen.insert(address, field.clone()) {
            ctx.error(
                Some(value.span()),
                &field,
                format!(
                    "{address} is also bound by {first}; each simulated role needs its own address"
                ),
            );
        }
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
