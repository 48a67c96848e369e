//! `picharness dns serve` answers the real `dig` (bind9-dnsutils) over UDP
//! and TCP: the federation SRV, an A record, REFUSED outside its zones; it
//! prints its zones and one line per query.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::support::{binary, pki_init, test_net};

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dig(server: &str, port: u16, args: &[&str]) -> String {
    let out = Command::new("dig")
        .arg(format!("@{server}"))
        .args(["-p", &port.to_string(), "+norecurse", "+time=2", "+tries=1"])
        .args(args)
        .output()
        .expect("the real `dig` (bind9-dnsutils) is needed; scripts/test-all.sh installs it");
    assert!(out.status.success(), "dig {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Lines printed so far, waiting until `done` holds or 10 s pass.
fn lines_until(rx: &Receiver<String>, seen: &mut Vec<String>, done: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done(seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("timed out; output so far:\n{}", seen.join("\n")),
        }
    }
}

/// Starts `picharness dns serve ARGS...`; returns the server (killed on
/// drop), its stdout lines as they come, and the lines printed up to
/// "listening on" (the zones).
fn serve(args: &[&str]) -> (Server, Receiver<String>, Vec<String>) {
    let mut child = binary()
        .args(["dns", "serve"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("dns serve starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let server = Server(child);
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    lines_until(&rx, &mut seen, |l| {
        l.iter().any(|x| x.starts_with("listening on"))
    });
    (server, rx, seen)
}

#[test]
fn dig_queries_dns_serve_over_udp_and_tcp() {
    let net = test_net(135);
    let ip = format!("127.{net}.0.2");
    let port = 15_353;
    let embedded_net = format!("127.{net}.0.0");
    let listen = format!("{ip}:{port}");
    let (_server, rx, mut seen) = serve(&["--embedded-net", &embedded_net, "--listen", &listen]);
    let zones = seen.join("\n");
    assert!(
        zones.contains("zone contoso.test.")
            && zones.contains(
                "  _sipfederationtls._tcp.contoso.test. 60 IN SRV 0 0 5061 sip.contoso.test."
            )
            && zones.contains(&format!("  sip.contoso.test. 60 IN A 127.{net}.0.10"))
            && zones.contains("zone federation.messenger.msn.com."),
        "{zones}"
    );
    for tcp in [false, true] {
        let transport: &[&str] = if tcp { &["+tcp"] } else { &[] };
        let srv = dig(
            &ip,
            port,
            &[&["_sipfederationtls._tcp.contoso.test.", "SRV"], transport].concat(),
        );
        assert!(
            srv.contains("status: NOERROR") && srv.contains("flags: qr aa"),
            "{srv}"
        );
        assert!(
            srv.lines()
                .any(|l| l.starts_with("_sipfederationtls._tcp.contoso.test.")
                    && l.ends_with("SRV\t0 0 5061 sip.contoso.test.")),
            "{srv}"
        );
        let a = dig(
            &ip,
            port,
            &[&["sip.contoso.test.", "A"], transport].concat(),
        );
        assert!(
            a.lines().any(|l| l.starts_with("sip.contoso.test.")
                && l.ends_with(&format!("A\t127.{net}.0.10"))),
            "{a}"
        );
        let outside = dig(&ip, port, &[&["www.example.org.", "A"], transport].concat());
        assert!(outside.contains("status: REFUSED"), "{outside}");
    }
    lines_until(&rx, &mut seen, |l| {
        l.iter().filter(|x| x.contains(" -> ")).count() >= 6
    });
    let log: Vec<&String> = seen.iter().filter(|l| l.contains(" -> ")).collect();
    for transport in ["UDP", "TCP"] {
        let ours: Vec<&&String> = log
            .iter()
            .filter(|l| l.split(' ').nth(1) == Some(transport))
            .collect();
        assert!(
            ours.iter().any(|l| l.ends_with(
                "SRV _sipfederationtls._tcp.contoso.test. -> NOERROR [SRV 0 0 5061 sip.contoso.test.]"
            )),
            "{transport}: {log:?}"
        );
        assert!(
            ours.iter().any(|l| l.ends_with(&format!(
                "A sip.contoso.test. -> NOERROR [A 127.{net}.0.10]"
            ))),
            "{transport}: {log:?}"
        );
        assert!(
            ours.iter()
                .any(|l| l.ends_with("A www.example.org. -> REFUSED []")),
            "{transport}: {log:?}"
        );
    }
}

#[test]
fn dns_serve_applies_the_dns_fault_switches() {
    let net = test_net(136);
    let ip = format!("127.{net}.0.2");
    let port = 15_353;
    let embedded_net = format!("127.{net}.0.0");
    let listen = format!("{ip}:{port}");
    let (_server, _lines, seen) = serve(&[
        "--embedded-net",
        &embedded_net,
        "--listen",
        &listen,
        "--sut-fault",
        "dns-srv-wrong-port",
    ]);
    assert!(
        seen.iter()
            .any(|l| l.ends_with("faults: dns-srv-wrong-port")),
        "{seen:?}"
    );
    let srv = dig(&ip, port, &["_sipfederationtls._tcp.contoso.test.", "SRV"]);
    assert!(srv.contains("SRV\t0 0 5062 sip.contoso.test."), "{srv}");
}

#[test]
fn dns_serve_on_a_taken_port_exits_2_naming_the_address() {
    let net = test_net(137);
    let address = format!("127.{net}.0.2:15353");
    let _taken = std::net::UdpSocket::bind(&address).expect("bind the port first");
    let output = binary()
        .args(["dns", "serve", "--listen", &address])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&address), "{stderr}");
}

/// `dns serve --config`: the zones a staging configuration implies, on its
/// `dns.listen`, with AAAA records for IPv6 addresses.
#[test]
fn dig_queries_the_zones_of_a_staging_configuration() {
    let net = test_net(186);
    let dir = tempfile::tempdir().expect("temp dir");
    pki_init(dir.path(), &[]);
    let ip = format!("127.{net}.0.53");
    let port = 15_354;
    let config = dir.path().join("staging.toml");
    std::fs::write(
        &config,
        format!(
            r#"mode = "external-only"
[sut]
access_edge_fqdn = "sip.contoso.test"
sip_domains = ["contoso.test", "fabrikam-corp.test"]
external = ["127.{net}.0.10:5061", "[2001:db8::10]:5061"]
trust_anchors = ["pki/ca/root.pem"]
[pki]
ca_certificate = "pki/ca/root.pem"
ca_key = "pki/ca/root.key"
[dns]
server = "in-process"
listen = "{ip}:{port}"
[providers.yahoo]
listen = "127.{net}.1.3:5061"
advertise = "2001:db8::3"
"#
        ),
    )
    .expect("write config");
    let config = config.display().to_string();
    let (_server, rx, mut seen) = serve(&["--config", &config]);
    let zones = seen.join("\n");
    assert!(
        zones.contains(
            "  _sipfederationtls._tcp.fabrikam-corp.test. 60 IN SRV 0 0 5061 sip.contoso.test."
        ) && zones.contains("  sip.contoso.test. 60 IN AAAA 2001:db8::10")
            && zones.contains("zone sip.yahoo.com."),
        "{zones}"
    );
    let answers = |args: &[&str]| -> Vec<String> {
        dig(&ip, port, args)
            .lines()
            .filter(|l| !l.starts_with(';'))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect()
    };
    let a = answers(&["sip.contoso.test", "A"]);
    assert_eq!(a, vec![format!("sip.contoso.test. 60 IN A 127.{net}.0.10")]);
    let aaaa = answers(&["sip.contoso.test", "AAAA"]);
    assert_eq!(aaaa, vec!["sip.contoso.test. 60 IN AAAA 2001:db8::10"]);
    let yahoo = answers(&["+tcp", "sip.yahoo.com", "AAAA"]);
    assert_eq!(yahoo, vec!["sip.yahoo.com. 60 IN AAAA 2001:db8::3"]);
    // The SRV answer, then the target's addresses as additional records.
    let srv = answers(&["_sipfederationtls._tcp.contoso.test", "SRV"]);
    assert_eq!(
        srv.first().map(String::as_str),
        Some("_sipfederationtls._tcp.contoso.test. 60 IN SRV 0 0 5061 sip.contoso.test."),
        "{srv:?}"
    );
    assert!(
        srv.contains(&"sip.contoso.test. 60 IN AAAA 2001:db8::10".to_owned()),
        "{srv:?}"
    );
    let outside = dig(&ip, port, &["example.com", "A"]);
    assert!(outside.contains("status: REFUSED"), "{outside}");
    lines_until(&rx, &mut seen, |l| {
        l.iter().any(|x| x.contains("example.com"))
    });
}
