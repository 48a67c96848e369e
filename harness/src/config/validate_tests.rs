//! Tests of the staging configuration reader: a valid file, and each kind of
//! mistake named by line and field.

use super::*;

fn profiles() -> Vec<ProviderProfile> {
    ["messenger", "yahoo", "aol"]
        .iter()
        .map(|name| ProviderProfile {
            name: (*name).to_owned(),
            display_name: (*name).to_owned(),
            federation_fqdn: format!("sip.{name}.test"),
            domains: vec![format!("{name}.test")],
            require_client_auth_eku: false,
            locate_edge: crate::locate::LocateEdge::default(),
            features: vec![],
            quirks: vec![],
        })
        .collect()
}

/// A directory holding `ca.pem`, `ca.key` and `edge-root.pem`, and the text
/// of a valid sandwich configuration referring to them.
fn valid() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["ca.pem", "ca.key", "edge-root.pem"] {
        std::fs::write(dir.path().join(name), "x").expect("write");
    }
    let text = r#"mode = "sandwich"

[sut]
access_edge_fqdn = "sip.contoso.test"
sip_domains = ["contoso.test"]
external = ["127.90.0.10:5061"]
internal = "127.90.0.11:5061"
internal_fqdn = "edge-int.contoso.test"
trust_anchors = ["edge-root.pem"]

[pki]
ca_certificate = "ca.pem"
ca_key = "ca.key"

[dns]
server = "in-process"
listen = "127.90.0.2:5353"

[pool]
fqdn = "pool.contoso.test"
listen = "127.90.0.20:5061"

[providers.messenger]
listen = "127.90.1.2:5061"

[providers.aol]
enabled = false
"#
    .to_owned();
    (dir, text)
}

fn parse(dir: &tempfile::TempDir, text: &str) -> Result<StagingConfig, Vec<ConfigError>> {
    parse_config(&dir.path().join("staging.toml"), text, &profiles())
}

fn only_error(dir: &tempfile::TempDir, text: &str) -> ConfigError {
    let errors = parse(dir, text).expect_err("the file is invalid");
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.into_iter().next().expect("one error")
}

#[test]
fn a_valid_sandwich_file_reads_into_the_model() {
    let (dir, text) = valid();
    let config = parse(&dir, &text).expect("valid");
    assert_eq!(config.mode, TopologyMode::Sandwich);
    assert_eq!(
        config.sut.external,
        vec!["127.90.0.10:5061".parse().expect("addr")]
    );
    assert_eq!(
        config.sut.trust_anchors,
        vec![dir.path().join("edge-root.pem")]
    );
    assert_eq!(
        config.dns,
        DnsConfig::InProcess {
            listen: "127.90.0.2:5353".parse().expect("addr")
        }
    );
    assert_eq!(
        config.pool.as_ref().map(|p| p.fqdn.as_str()),
        Some("pool.contoso.test")
    );
    assert!(config.av.is_none(), "no [av] table means A/V off");
    assert_eq!(
        config.providers.keys().collect::<Vec<_>>(),
        vec!["messenger"]
    );
    let messenger = &config.providers["messenger"];
    assert_eq!(
        messenger.advertise,
        "127.90.1.2".parse::<IpAddr>().expect("ip")
    );
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let (dir, text) = valid();
    let text = text.replace("[pool]\n", "[pool]\nflavour = \"x\"\n");
    let error = only_error(&dir, &text);
    assert_eq!(error.field, "pool.flavour");
    assert_eq!(error.line, 20);
    assert!(
        error
            .to_string()
            .contains("staging.toml:20: field `pool.flavour`"),
        "{error}"
    );
}

#[test]
fn a_bad_address_names_the_field_and_line() {
    let (dir, text) = valid();
    let text = text.replace("127.90.0.20:5061", "pool-host");
    let error = only_error(&dir, &text);
    assert_eq!(error.field, "pool.listen");
    assert_eq!(error.line, 21);
}

#[test]
fn sandwich_mode_needs_a_pool_and_external_only_refuses_one() {
    let (dir, text) = valid();
    let without_pool = text.replace(
        "[pool]\nfqdn = \"pool.contoso.test\"\nlisten = \"127.90.0.20:5061\"\n",
        "",
    );
    assert_eq!(only_error(&dir, &without_pool).field, "pool");
    let external_only = text.replace("mode = \"sandwich\"", "mode = \"external-only\"");
    assert_eq!(only_error(&dir, &external_only).field, "pool");
    let both_fixed = without_pool.replace("mode = \"sandwich\"", "mode = \"external-only\"");
    let config = parse(&dir, &both_fixed).expect("external-only without a pool");
    assert_eq!(config.mode, TopologyMode::ExternalOnly);
}

#[test]
fn missing_files_unknown_providers_and_shared_listeners_are_each_reported() {
    let (dir, text) = valid();
    let text = text
        .replace("\"ca.key\"", "\"missing.key\"")
        .replace("[providers.aol]", "[providers.icq]")
        .replace("127.90.1.2:5061", "127.90.0.20:5061");
    let errors = parse(&dir, &text).expect_err("invalid");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"pki.ca_key"), "{errors:?}");
    assert!(fields.contains(&"providers.icq"), "{errors:?}");
    assert!(fields.contains(&"pool.listen"), "{errors:?}");
}

#[test]
fn av_needs_its_addresses_and_credentials_unless_disabled() {
    let (dir, text) = valid();
    let enabled = format!("{text}\n[av]\nudp = \"127.90.0.12:3478\"\n");
    let errors = parse(&dir, &enabled).expect_err("incomplete A/V");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    for field in [
        "av.tcp",
        "av.username",
        "av.password",
        "av.client_ip",
        "av.media_peer_ip",
    ] {
        assert!(fields.contains(&field), "{field} missing from {errors:?}");
    }
    let disabled = format!("{text}\n[av]\nenabled = false\n");
    assert!(parse(&dir, &disabled).expect("valid").av.is_none());
    let full = format!(
        "{text}\n[av]\nudp = \"127.90.0.12:3478\"\ntcp = \"127.90.0.12:443\"\nusername = \"u\"\npassword = \"p\"\nclient_ip = \"127.90.1.100\"\nmedia_peer_ip = \"127.90.0.21\"\ndialects = [\"standard\"]\n"
    );
    let av = parse(&dir, &full).expect("valid").av.expect("A/V on");
    assert!(av.dialects.standard && !av.dialects.ms_turn);
}

#[test]
fn an_unknown_mode_is_refused() {
    let (dir, text) = valid();
    let error = only_error(&dir, &text.replace("\"sandwich\"", "\"inside-out\""));
    assert_eq!((error.field.as_str(), error.line), ("mode", 1));
}

#[test]
fn wrong_types_syntax_duplicates_and_missing_keys_name_the_full_dotted_field() {
    let (dir, text) = valid();
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.starts_with(needle))
            .expect("needle")
            + 1
    };
    for (from, to, field, line, says) in [
        (
            "ca_key = \"ca.key\"",
            "ca_key = 5",
            "pki.ca_key",
            line_of("ca_key"),
            "invalid type",
        ),
        (
            "ca_key = \"ca.key\"",
            "",
            "pki.ca_key",
            line_of("[pki]"),
            "missing field `ca_key`",
        ),
        (
            "ca_key = \"ca.key\"",
            "ca_key = \"ca.key\"\nca_key = \"b\"",
            "pki.ca_key",
            line_of("ca_key") + 1,
            "duplicate key",
        ),
        ("[dns]", "[dns]]", "dns", line_of("[dns]"), "expected"),
        (
            "internal = \"127.90.0.11:5061\"",
            "internal = \"127.90.0.11:5061",
            "sut.internal",
            line_of("internal ="),
            "",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        let broken = text.replacen(from, to, 1);
        let error = only_error(&dir, &broken);
        assert_eq!(error.field, field, "{to:?}: {error}");
        assert_eq!(error.line, line, "{to:?}: {error}");
        assert!(error.message.contains(says), "{to:?}: {error}");
        assert!(!error.to_string().contains("field `-`"), "{error}");
    }
}

#[test]
fn the_crl_listen_address_is_read_and_its_mistakes_named() {
    let (dir, text) = valid();
    assert_eq!(parse(&dir, &text).expect("valid").crl_listen, None);
    let with_crl = format!("{text}\n[crl]\nlisten = \"127.90.0.30:80\"\n");
    assert_eq!(
        parse(&dir, &with_crl).expect("valid").crl_listen,
        Some("127.90.0.30:80".parse().expect("addr"))
    );
    for (value, expected) in [
        ("crl-host", "is not an address with a port"),
        ("0.0.0.0:80", "not an address the Edge can fetch from"),
        ("127.90.0.30:0", "port 0"),
        ("127.90.0.20:5061", "also bound by pool.listen"),
    ] {
        let bad = with_crl.replace("127.90.0.30:80", value);
        let error = only_error(&dir, &bad);
        assert_eq!(error.field, "crl.listen", "{value}: {error}");
        assert!(error.to_string().contains(expected), "{value}: {error}");
    }
    let unknown = with_crl.replace("[crl]\n", "[crl]\nurl = \"http://x/\"\n");
    assert_eq!(only_error(&dir, &unknown).field, "crl.url");
}
