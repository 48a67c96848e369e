//! Provider profiles: each public IM provider described as data (its
//! federation FQDN, the SIP domains it owns, what it demands of the Edge's
//! certificate), read from `scenarios/profiles/*.toml`.

use std::path::Path;

use serde::Deserialize;

use crate::locate::LocateEdge;
use crate::scenario::ScenarioError;

/// One provider, as a peer simulator plays it and the Edge routes to it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderProfile {
    /// Short name used in case ids and steps (`messenger`).
    pub name: String,
    pub display_name: String,
    /// The provider's federation FQDN (Lync's ProxyFqdn).
    pub federation_fqdn: String,
    /// SIP domains the provider owns; the first is used for its test users.
    pub domains: Vec<String>,
    /// Whether the provider refuses an Edge certificate without the clientAuth EKU.
    #[serde(default)]
    pub require_client_auth_eku: bool,
    /// How the provider's peer finds the Edge: `"fqdn"` (default; the
    /// provisioned access-edge FQDN, as PIC providers do) or `"srv"`
    /// (`_sipfederationtls._tcp` SRV with RFC 2782 ordering, as open
    /// federation partners do).
    #[serde(default)]
    pub locate_edge: LocateEdge,
    /// What the provider's service does (see [`FEATURES`]); cases that need
    /// a feature the profile lacks are skipped for it. Default: all of them.
    #[serde(default = "all_features")]
    pub features: Vec<String>,
    /// Known differences from plain RFC behaviour, for people reading the
    /// profile and the reports.
    #[serde(default)]
    pub quirks: Vec<String>,
}

/// Service features a profile may list and a case may need.
pub const FEATURES: &[(&str, &str)] = &[
    ("im-page", "page-mode instant messages (MESSAGE, RFC 3428)"),
    ("im-session", "INVITE-based IM sessions"),
    (
        "presence-pidf",
        "presence subscriptions with PIDF documents (RFC 3856, RFC 3863)",
    ),
    ("av", "audio/video calls through the A/V Edge"),
];

fn all_features() -> Vec<String> {
    FEATURES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect()
}

impl ProviderProfile {
    pub fn has_feature(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }
}

/// Loads every profile in `dir`, sorted by name.
pub fn load_profiles(dir: &Path) -> Result<Vec<ProviderProfile>, ScenarioError> {
    let error = |file: &Path, line: usize, field: &str, message: String| ScenarioError {
        file: file.to_path_buf(),
        line,
        field: field.to_owned(),
        message,
    };
    let entries = std::fs::read_dir(dir)
        .map_err(|e| error(dir, 0, "", format!("cannot read profile directory: {e}")))?;
    let mut profiles = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| error(dir, 0, "", e.to_string()))?.path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = crate::data_file::read_data_file(&path)
            .map_err(|e| error(&path, 0, "", format!("the profile file {e}")))?;
        let profile: ProviderProfile =
            toml::from_str(&text).map_err(|e| ScenarioError::from_toml(&path, &text, &e))?;
        if profile.domains.is_empty() {
            return Err(error(
                &path,
                0,
                "domains",
                "a provider must own at least one SIP domain".into(),
            ));
        }
        let valid_name = !profile.name.is_empty()
            && profile
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !valid_name || ["pool", "dns", "edge", "av"].contains(&profile.name.as_str()) {
            return Err(error(
                &path,
                1,
                "name",
                format!("{:?} is not a usable provider name", profile.name),
            ));
        }
        if let Some(unknown) = profile
            .features
            .iter()
            .find(|f| !FEATURES.iter().any(|(k, _)| k == f))
        {
            let known: Vec<&str> = FEATURES.iter().map(|(k, _)| *k).collect();
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("features"))
                .map_or(0, |i| i + 1);
            return Err(error(
                &path,
                line,
                "features",
                format!("unknown feature {unknown:?}; known: {}", known.join(", ")),
            ));
        }
        profiles.push(profile);
    }
    profiles.sort_by(|a, b| a.name.cmp(&b.name));
    if profiles.is_empty() {
        return Err(error(dir, 0, "", "no provider profiles found".into()));
    }
    Ok(profiles)
}
