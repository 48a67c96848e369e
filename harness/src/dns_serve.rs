//! `picharness dns serve`: the in-process authoritative DNS server on its
//! own, serving the embedded topology's zones (with any DNS fault switches)
//! or, with `--config`, the zones a staging configuration implies, so a
//! staging Edge can use it as its resolver and a person can query it with
//! `dig`. It prints its
//! zones, then one line per query with the answer it sent, until it is
//! interrupted.

use std::net::SocketAddr;
use std::path::PathBuf;

use picharness_simulators::dns::{TTL, ZoneData, start_dns_server};
use picharness_simulators::edge::{Fault, FaultSet};

use crate::config::{DnsConfig, load_config};
use crate::profile::load_profiles;
use crate::run::{EXIT_CANNOT_START, EXIT_OK};
use crate::topology::{EmbeddedAddresses, embedded_zones, staging_zones};

/// What `picharness dns serve` was asked to do.
pub struct DnsServeOptions {
    /// The directory holding `profiles/` (the provider zones come from it).
    pub scenarios_dir: PathBuf,
    /// The /16 the embedded topology's addresses (and so the A records) use.
    pub addresses: EmbeddedAddresses,
    /// Where to listen (UDP and TCP); `None` is the embedded DNS address on 53.
    pub listen: Option<SocketAddr>,
    /// Fault switches; the DNS ones change the zones or the TCP behaviour.
    pub faults: Vec<Fault>,
    /// Serve the zones of this staging configuration instead.
    pub config: Option<PathBuf>,
}

/// The zones and the address to serve them on, from a staging configuration.
fn configured_zones(
    options: &DnsServeOptions,
    config_path: &std::path::Path,
    profiles: &[crate::profile::ProviderProfile],
) -> Result<(Vec<ZoneData>, SocketAddr), Vec<String>> {
    if !options.faults.is_empty() {
        return Err(vec![
            "--sut-fault changes the embedded zones; it has no meaning with --config".to_owned(),
        ]);
    }
    let config = load_config(config_path, profiles)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let listen = match (options.listen, &config.dns) {
        (Some(listen), _) => listen,
        (None, DnsConfig::InProcess { listen }) => *listen,
        (None, DnsConfig::External { server }) => {
            return Err(vec![format!(
                "{}: dns.server is {server}, a real DNS server; give --listen ADDR:PORT to serve this configuration's zones anyway",
                config_path.display()
            )]);
        }
    };
    Ok((staging_zones(&config), listen))
}

/// The zones as zone-file lines, one record a line, under a `zone` heading
/// per zone (the SOA each zone also gets is not listed).
pub fn zones_text(zones: &[ZoneData]) -> String {
    let dot = |name: &str| {
        if name.ends_with('.') {
            name.to_owned()
        } else {
            format!("{name}.")
        }
    };
    let mut out = String::new();
    for zone in zones {
        out.push_str(&format!("zone {}\n", dot(&zone.origin)));
        for srv in &zone.srv {
            out.push_str(&format!(
                "  {} {TTL} IN SRV {} {} {} {}\n",
                dot(&srv.name),
                srv.priority,
                srv.weight,
                srv.port,
                dot(&srv.target)
            ));
        }
        for (name, ip) in &zone.a {
            out.push_str(&format!("  {} {TTL} IN A {ip}\n", dot(name)));
        }
        for (name, ip) in &zone.aaaa {
            out.push_str(&format!("  {} {TTL} IN AAAA {ip}\n", dot(name)));
        }
    }
    out
}

/// Runs the server until the process is interrupted; returns an exit code
/// only when it cannot start.
pub fn dns_serve(options: DnsServeOptions) -> u8 {
    let profiles = match load_profiles(&options.scenarios_dir.join("profiles")) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_CANNOT_START;
        }
    };
    let faults = FaultSet::new(options.faults.iter().copied());
    let (zones, listen) = match &options.config {
        Some(path) => match configured_zones(&options, path, &profiles) {
            Ok(found) => found,
            Err(errors) => {
                for e in errors {
                    eprintln!("error: {e}");
                }
                return EXIT_CANNOT_START;
            }
        },
        None => (
            embedded_zones(options.addresses, &profiles, &faults),
            options
                .listen
                .unwrap_or_else(|| SocketAddr::new(options.addresses.dns(), 53)),
        ),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("picharness: cannot start the async runtime: {e}");
            return EXIT_CANNOT_START;
        }
    };
    runtime.block_on(async move {
        // Runs until stopped: each exchange is printed, none is kept.
        let log = picharness_simulators::dns::DnsQueryLog::reporting_only();
        let mut exchanges = log.watch();
        let server = match start_dns_server(listen, zones.clone(), log).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("picharness: {e}");
                return EXIT_CANNOT_START;
            }
        };
        if faults.has(Fault::DnsNoTcp) {
            server.set_answer_over_tcp(false);
        }
        print!("{}", zones_text(&zones));
        let faults = faults.names();
        println!(
            "listening on {} (UDP and TCP), authoritative only, REFUSED outside these zones{}",
            server.local_addr(),
            if faults.is_empty() {
                String::new()
            } else {
                format!(", faults: {}", faults.join(", "))
            }
        );
        while let Some(exchange) = exchanges.recv().await {
            println!("{} {}", clock(exchange.at), exchange.one_line());
        }
        // Reached only if the server stopped (its log, holding the sender, was dropped).
        drop(server);
        EXIT_OK
    })
}

/// `HH:MM:SS.mmm` UTC.
fn clock(at: std::time::SystemTime) -> String {
    let since = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        since.subsec_millis()
    )
}

/// The default listening address, for the help text.
pub fn default_listen(addresses: EmbeddedAddresses) -> SocketAddr {
    SocketAddr::new(addresses.dns(), 53)
}

#[cfg(test)]
mod tests {
    use super::*;
    use picharness_simulators::dns::SrvRecord;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn zones_are_printed_as_zone_file_lines() {
        let zone = ZoneData {
            origin: "contoso.test".into(),
            a: vec![("sip.contoso.test".into(), Ipv4Addr::new(127, 80, 0, 10))],
            aaaa: vec![],
            srv: vec![SrvRecord {
                name: "_sipfederationtls._tcp.contoso.test.".into(),
                priority: 0,
                weight: 0,
                port: 5061,
                target: "sip.contoso.test.".into(),
            }],
        };
        assert_eq!(
            zones_text(&[zone]),
            "zone contoso.test.\n  _sipfederationtls._tcp.contoso.test. 60 IN SRV 0 0 5061 sip.contoso.test.\n  sip.contoso.test. 60 IN A 127.80.0.10\n"
        );
    }

    #[test]
    fn clock_is_utc_time_of_day() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(86_400_000 + 3_723_004);
        assert_eq!(clock(at), "01:02:03.004");
    }

    #[test]
    fn default_listen_is_the_embedded_dns_address_on_53() {
        let addresses = EmbeddedAddresses {
            base: Ipv4Addr::new(127, 80, 0, 0),
        };
        assert_eq!(
            default_listen(addresses),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 80, 0, 2)), 53)
        );
    }
}
