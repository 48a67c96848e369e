//! `run --config` without a real Edge behind it: the plan and `--dry-run`,
//! errors in the file named by line and field, destinations the file does
//! not name refused before a packet is sent, and `doctor` saying what to
//! fix. (The runs against a real third-party edge are in `kamailio`.)

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{binary, pki_init, run_suite, test_net};

/// A PKI from `pki init` and a sandwich configuration on 127.`net`.0.0/16.
fn staging_dir(net: u8) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    pki_init(dir.path(), &[]);
    let config = dir.path().join("staging.toml");
    std::fs::write(
        &config,
        format!(
            r#"mode = "sandwich"

[sut]
access_edge_fqdn = "sip.contoso.test"
sip_domains = ["contoso.test"]
external = ["127.{net}.0.10:5061"]
internal = "127.{net}.0.11:5061"
internal_fqdn = "edge-int.contoso.test"
trust_anchors = ["pki/ca/root.pem"]

[pki]
ca_certificate = "pki/ca/root.pem"
ca_key = "pki/ca/root.key"

[dns]
server = "in-process"
listen = "127.{net}.0.2:5353"

[pool]
fqdn = "pool.contoso.test"
listen = "127.{net}.0.20:5061"

[providers.messenger]
listen = "127.{net}.1.2:5061"
"#
        ),
    )
    .expect("write config");
    (dir, config)
}

/// Listens where the SUT would be and reports whether anything connected.
struct Tripwire(TcpListener);

impl Tripwire {
    fn at(address: &str) -> Self {
        let listener = TcpListener::bind(address).expect("bind tripwire");
        listener.set_nonblocking(true).expect("nonblocking");
        Self(listener)
    }

    fn touched(&self) -> bool {
        self.0.accept().is_ok()
    }
}

fn run_picharness(args: &[&str]) -> std::process::Output {
    binary().args(args).output().expect("picharness runs")
}

/// `run --dry-run --config FILE`, which must succeed; its stdout.
fn dry_run(config: &Path) -> String {
    let output = run_picharness(&[
        "run",
        "--dry-run",
        "--config",
        &config.display().to_string(),
    ]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        text(&output.stderr)
    );
    stdout
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn dry_run_shows_the_plan_and_every_address_and_sends_nothing() {
    let net = test_net(182);
    let (_dir, config) = staging_dir(net);
    let edge = Tripwire::at(&format!("127.{net}.0.10:5061"));
    let stdout = dry_run(&config);
    for expected in [
        "sandwich mode",
        "run   messenger.im.inbound",
        "skip  yahoo.im.inbound: not applicable: the yahoo peer is disabled",
        "skip  edge.dns.srv-exists: not applicable: the harness serves this DNS zone itself",
        "dry run; nothing was sent",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }
    for (address, label) in [
        (
            format!("127.{net}.0.10:5061"),
            "sut.external[0] (Access Edge)",
        ),
        (format!("127.{net}.0.11:5061"), "sut.internal"),
        (format!("127.{net}.1.2:5061"), "providers.messenger"),
    ] {
        assert!(
            stdout
                .lines()
                .any(|line| line.trim_start().starts_with(&address) && line.contains(label)),
            "no line for {address} ({label}) in:\n{stdout}"
        );
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(!edge.touched(), "a dry run connected to the SUT");
}

#[test]
fn an_error_in_the_configuration_names_file_line_and_field() {
    let net = test_net(248);
    let (_dir, config) = staging_dir(net);
    let text_before = std::fs::read_to_string(&config).expect("read");
    std::fs::write(
        &config,
        text_before.replace("[pool]\n", "[pool]\nport = 5061\n"),
    )
    .expect("write");
    let output = run_picharness(&["run", "--config", &config.display().to_string()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("staging.toml:20: field `pool.port`: unknown field `port`"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was run"), "{stderr}");
}

#[test]
fn a_destination_the_configuration_does_not_name_is_refused_before_any_packet() {
    let net = test_net(183);
    let elsewhere = test_net(184);
    let (dir, config) = staging_dir(net);
    // The DNS to judge by says the Edge is at 127.<elsewhere>.0.10, an
    // address the file does not name: a tripwire listens there.
    let dns_listen = format!("127.{net}.0.53:5353");
    let mut dns = binary()
        .args(["dns", "serve", "--embedded-net"])
        .arg(format!("127.{elsewhere}.0.0"))
        .args(["--listen", &dns_listen])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("dns serve");
    let tripwire = Tripwire::at(&format!("127.{elsewhere}.0.10:5061"));
    let text_before = std::fs::read_to_string(&config).expect("read");
    std::fs::write(
        &config,
        text_before.replace(
            &format!("server = \"in-process\"\nlisten = \"127.{net}.0.2:5353\""),
            &format!("server = \"{dns_listen}\""),
        ),
    )
    .expect("write");
    std::thread::sleep(Duration::from_millis(500));
    let run = run_suite(
        183,
        &[
            "--config",
            &config.display().to_string(),
            "messenger.im.inbound",
            "--exact",
        ],
    );
    // doctor asks the same DNS and says which records disagree with the file.
    let doctor = run_picharness(&["doctor", "--config", &config.display().to_string()]);
    let _ = dns.kill();
    let _ = dns.wait();
    let doctor_out = text(&doctor.stdout);
    for expected in [
        format!(
            "PROBLEM  dns.server {dns_listen}: sip.contoso.test. -> 127.{elsewhere}.0.10 but sut.external names [127.{net}.0.10]"
        ),
        format!(
            "PROBLEM  dns.server {dns_listen}: federation.messenger.msn.com. -> 127.{elsewhere}.1.2 but providers.messenger.advertise names [127.{net}.1.2]"
        ),
    ] {
        assert!(
            doctor_out.contains(&expected),
            "{expected:?} missing from:\n{doctor_out}"
        );
    }
    let verdicts = run.verdicts();
    let (verdict, reason) = &verdicts["messenger.im.inbound"];
    assert_eq!(verdict, "error", "{reason}");
    assert!(
        reason.contains(&format!(
            "refused to send to 127.{elsewhere}.0.10:5061: the configuration does not name this address"
        )),
        "{reason}"
    );
    assert!(
        reason.contains("because the SUT's DNS pointed there"),
        "the refusal must say why: {reason}"
    );
    assert!(
        !tripwire.touched(),
        "a packet went to an address the file does not name"
    );
    // The DNS the harness exchanged with the configured server is evidence:
    // in the trace of the case that asked and in dns.pcapng.
    for trace in [
        run.report_path()
            .join("cases")
            .join("messenger.im.inbound")
            .join("trace.pcapng"),
        run.report_path().join("dns.pcapng"),
    ] {
        let output = std::process::Command::new("tshark")
            .arg("-r")
            .arg(&trace)
            .args(["-d", "udp.port==5353,dns", "-Y", "dns.flags.response == 1"])
            .args(["-T", "fields", "-e", "dns.qry.name", "-e", "dns.a"])
            .output()
            .expect("tshark is required for this test");
        let shown = text(&output.stdout);
        assert!(
            shown.contains(&format!("sip.contoso.test\t127.{elsewhere}.0.10")),
            "{}: no answer for sip.contoso.test:\n{shown}",
            trace.display()
        );
    }
    drop(dir);
}

#[test]
fn an_srv_record_on_a_port_the_edge_does_not_listen_on_fails_dns_01() {
    let net = test_net(203);
    let (dir, config) = staging_dir(net);
    // The SUT's DNS publishes its SRV record on port 5062; the file names
    // the Edge on 5061 only, so the allow-list refuses 5062: that refusal
    // is the SUT's DNS breaking DNS-01, not a harness error.
    let dns_listen = format!("127.{net}.0.53:5353");
    let mut dns = binary()
        .args(["dns", "serve", "--embedded-net"])
        .arg(format!("127.{net}.0.0"))
        .args(["--listen", &dns_listen, "--sut-fault", "dns-srv-wrong-port"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("dns serve");
    // Something answers TCP where the file says the Edge listens, so the
    // run sees an Edge alive and judges the case.
    let _edge = Tripwire::at(&format!("127.{net}.0.10:5061"));
    let text_before = std::fs::read_to_string(&config).expect("read");
    std::fs::write(
        &config,
        text_before.replace(
            &format!("server = \"in-process\"\nlisten = \"127.{net}.0.2:5353\""),
            &format!("server = \"{dns_listen}\""),
        ) + &format!("\n[providers.partner]\nlisten = \"127.{net}.2.1:5061\"\n"),
    )
    .expect("write");
    std::thread::sleep(Duration::from_millis(500));
    let run = run_suite(
        203,
        &[
            "--config",
            &config.display().to_string(),
            "partner.im.inbound",
            "--exact",
        ],
    );
    let _ = dns.kill();
    let _ = dns.wait();
    let verdicts = run.verdicts();
    let (verdict, reason) = &verdicts["partner.im.inbound"];
    assert_eq!(verdict, "fail", "{reason}");
    for phrase in ["DNS-01", "5062", "because the SUT pointed there"] {
        assert!(reason.contains(phrase), "{phrase:?} missing: {reason}");
    }
    drop(dir);
}

#[test]
fn doctor_names_each_problem_and_what_to_fix() {
    let net = test_net(185);
    let (_dir, config) = staging_dir(net);
    let text_before = std::fs::read_to_string(&config).expect("read");
    // An address no interface has (TEST-NET-1), and no Edge listening.
    std::fs::write(
        &config,
        text_before.replace(&format!("127.{net}.0.20:5061"), "192.0.2.20:5061"),
    )
    .expect("write");
    let output = run_picharness(&["doctor", "--config", &config.display().to_string()]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        text(&output.stderr)
    );
    for expected in [
        "ok       bind providers.messenger.listen",
        "PROBLEM  bind pool.listen: 192.0.2.20:5061 is not an address of this machine: add it to an interface or change pool.listen",
        "ok       pki: the CA and its key match",
        &format!("PROBLEM  sut.external[0]: TCP connection to 127.{net}.0.10:5061 refused"),
        "problem(s); fix them before a run",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }
    assert!(Path::new(&config).exists());
}

#[test]
fn the_example_configuration_in_the_repository_is_valid() {
    let dir = tempfile::tempdir().expect("temp dir");
    pki_init(dir.path(), &[]);
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("staging.example.toml");
    let config = dir.path().join("staging.toml");
    std::fs::copy(&example, &config).expect("copy the example");
    let stdout = dry_run(&config);
    assert!(stdout.contains("sandwich mode"), "{stdout}");
    assert!(stdout.contains("203.0.113.12:50000-59999"), "{stdout}");
}

/// The A/V table a plan test adds: the default dialects (MS-TURN only).
const AV_TABLE: &str = r#"
[av]
udp = "127.{net}.0.12:3478"
tcp = "127.{net}.0.12:10443"
username = "messenger-av"
password = "secret"
client_ip = "127.{net}.1.100"
media_peer_ip = "127.{net}.0.21"
"#;

/// Each selected case as `(id, "RUN" or the skip reason)`, sorted.
type Planned = Vec<(String, String)>;

fn planned_by_dry_run(stdout: &str) -> Planned {
    let mut planned: Planned = stdout
        .lines()
        .filter_map(|line| {
            let line = line.trim_start();
            if let Some(id) = line.strip_prefix("run   ") {
                return Some((id.to_owned(), "RUN".to_owned()));
            }
            let (id, reason) = line.strip_prefix("skip  ")?.split_once(": ")?;
            Some((id.to_owned(), reason.to_owned()))
        })
        .collect();
    planned.sort();
    planned
}

fn done_by_run(summary: &serde_json::Value) -> Planned {
    let mut done: Planned = summary["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|case| {
            let id = case["id"].as_str().expect("id").to_owned();
            match case["verdict"].as_str() {
                Some("skipped") => (id, case["reason"].as_str().expect("reason").to_owned()),
                _ => (id, "RUN".to_owned()),
            }
        })
        .collect();
    done.sort();
    done
}

#[test]
fn dry_run_plans_exactly_what_the_run_does() {
    let net = test_net(247);
    let (_dir, config) = staging_dir(net);
    let text_before = std::fs::read_to_string(&config).expect("read");
    std::fs::write(
        &config,
        text_before + &AV_TABLE.replace("{net}", &net.to_string()),
    )
    .expect("write");
    let config_arg = config.display().to_string();
    // No Edge listens: every case that runs fails fast, and only which
    // cases run or are skipped (and why) is compared.
    let combinations: [&[&str]; 5] = [
        &["edge."],
        &[".tls.", "--skip", "aol", "--shard", "1/2"],
        &["--no-av", "av.stun"],
        &["av.turn"],
        &["--skip", "av.", "--skip", "messenger.av", "--shard", "2/3"],
    ];
    for extra in combinations {
        let mut dry = vec!["run", "--dry-run", "--config", &config_arg];
        dry.extend_from_slice(extra);
        let output = run_picharness(&dry);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let planned = planned_by_dry_run(&text(&output.stdout));
        assert!(!planned.is_empty(), "{extra:?}: empty plan");
        let mut args = vec!["--config", config_arg.as_str()];
        args.extend_from_slice(extra);
        let run = run_suite(247, &args);
        assert_eq!(
            done_by_run(&run.summary),
            planned,
            "{extra:?}: the run did something other than the plan"
        );
    }
}

#[test]
fn a_skip_reason_names_the_configuration_key_or_the_flag_the_user_passed() {
    let net = test_net(187);
    let (_dir, config) = staging_dir(net);
    let text_before = std::fs::read_to_string(&config).expect("read");
    std::fs::write(
        &config,
        text_before + &AV_TABLE.replace("{net}", &net.to_string()),
    )
    .expect("write");
    let config_arg = config.display().to_string();
    let from_file = dry_run_with(&config_arg, &["av.turn.relay-range"]);
    assert!(
        from_file.contains(&format!(
            "skip  av.turn.relay-range: not applicable: the A/V Edge is judged in MS-TURN only, not standard TURN (av.dialects in {config_arg}"
        )),
        "{from_file}"
    );
    assert!(!from_file.contains("--av-dialect"), "{from_file}");
    let from_flag = dry_run_with(
        &config_arg,
        &["--av-dialect", "standard", "av.msturn.allocate"],
    );
    assert!(
        from_flag.contains("skip  av.msturn.allocate: not applicable: the A/V Edge is judged in standard TURN only, not MS-TURN (--av-dialect standard)"),
        "{from_flag}"
    );
}

fn dry_run_with(config: &str, extra: &[&str]) -> String {
    let mut args = vec!["run", "--dry-run", "--config", config];
    args.extend_from_slice(extra);
    let output = run_picharness(&args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    text(&output.stdout)
}

/// `--shard K/2` for the shard that does not hold `id`: shards deal the
/// whole sorted catalogue round-robin, so which one holds a case moves as
/// the catalogue grows.
fn the_other_shard(id: &str) -> [String; 2] {
    let listed = binary().arg("list").output().expect("list runs");
    let mut ids: Vec<String> = text(&listed.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .filter(|word| word.contains('.'))
        .collect();
    ids.sort();
    let index = ids
        .iter()
        .position(|i| i == id)
        .expect("the case is listed");
    ["--shard".to_owned(), format!("{}/2", 2 - index % 2)]
}

#[test]
fn a_selection_that_matches_no_case_stops_with_exit_2() {
    let [shard_flag, shard] = the_other_shard("edge.sip.max-forwards");
    for extra in [
        &["no.such.case"][..],
        &[
            "messenger.im.inbound",
            "--exact",
            "--skip",
            "messenger.im.inbound",
        ][..],
        &[
            shard_flag.as_str(),
            shard.as_str(),
            "edge.sip.max-forwards",
            "--exact",
        ][..],
    ] {
        let report = tempfile::tempdir().expect("temp dir");
        let report_dir = report.path().join("report");
        let report_arg = report_dir.display().to_string();
        let net = format!("127.{}.0.0", test_net(188));
        let mut args = vec!["run", "--embedded-net", &net, "--report-dir", &report_arg];
        args.extend_from_slice(extra);
        let output = run_picharness(&args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(
            stderr.contains("no case is selected") && stderr.contains("nothing was run"),
            "{stderr}"
        );
        assert!(!report_dir.exists(), "a report was written");
    }
}

#[test]
fn zero_test_threads_is_refused_instead_of_waiting_forever() {
    let output = run_picharness(&["run", "--test-threads", "0", "edge.sip.max-forwards"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--test-threads must be at least 1"),
        "{stderr}"
    );
}

#[test]
fn a_ca_key_that_does_not_match_its_certificate_fails_the_dry_run_naming_the_field() {
    let net = test_net(189);
    let (dir, config) = staging_dir(net);
    let other = dir.path().join("other");
    std::fs::create_dir(&other).expect("mkdir");
    pki_init(&other, &[]);
    let text_before = std::fs::read_to_string(&config).expect("read");
    std::fs::write(
        &config,
        text_before.replace(
            "ca_key = \"pki/ca/root.key\"",
            "ca_key = \"other/pki/ca/root.key\"",
        ),
    )
    .expect("write");
    for command in [&["run", "--dry-run"][..], &["doctor"][..]] {
        let mut args = command.to_vec();
        let config_arg = config.display().to_string();
        args.extend(["--config", &config_arg]);
        let output = run_picharness(&args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(
            stderr.contains("staging.toml:13: field `pki.ca_key`")
                && stderr.contains("the CA private key does not belong to the CA certificate"),
            "{command:?}: {stderr}"
        );
    }
}
