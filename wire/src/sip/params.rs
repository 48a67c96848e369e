//! Generic parameters (`;name=value`) as RFC 3261 §7.3.1 and §25.1 write
//! them: linear white space allowed around `;` and `=`, values that are
//! tokens, hosts or quoted strings.

use super::syntax::{is_token, split_outside_quotes};

/// One parameter: its name as written and its value (`None` for a flag such
/// as `lr`). Quoted values keep their quotes.
pub type Param = (String, Option<String>);

/// Why a parameter list does not follow the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("has an empty parameter (\";;\" or a trailing \";\")")]
    Empty,
    #[error("has a parameter name {0:?} that is not a token")]
    BadName(String),
    #[error(
        "has parameter {name} with a value {value:?} that is neither a token, a host nor a quoted string"
    )]
    BadValue { name: String, value: String },
}

/// Splits `text` (what follows the first `;`) into parameters leniently:
/// empty pieces are skipped and whitespace trimmed.
pub fn parse_params_lenient(text: &str) -> Vec<Param> {
    split_outside_quotes(text, ';')
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(split_param)
        .collect()
}

/// Splits `text` into parameters and checks each against the grammar.
pub fn parse_params_strict(text: &str) -> Result<Vec<Param>, ParamError> {
    let mut out = Vec::new();
    for piece in split_outside_quotes(text, ';') {
        let piece = piece.trim();
        if piece.is_empty() {
            return Err(ParamError::Empty);
        }
        let (name, value) = split_param(piece);
        if !is_token(&name) {
            return Err(ParamError::BadName(name));
        }
        if let Some(v) = &value
            && !is_gen_value(v)
        {
            return Err(ParamError::BadValue {
                name,
                value: v.clone(),
            });
        }
        out.push((name, value));
    }
    Ok(out)
}

fn split_param(piece: &str) -> Param {
    match piece.split_once('=') {
        Some((k, v)) => (k.trim().to_owned(), Some(v.trim().to_owned())),
        None => (piece.to_owned(), None),
    }
}

/// `gen-value = token / host / quoted-string` (RFC 3261 §25.1). A bare
/// IPv6 address is accepted too, for Via `received` (RFC 5118 §4.5).
fn is_gen_value(value: &str) -> bool {
    if is_token(value) {
        return true;
    }
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        return super::syntax::quotes_balanced(value);
    }
    if let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    value.parse::<std::net::IpAddr>().is_ok()
}

/// The value of the first parameter called `name` (case-insensitive).
pub(crate) fn find_param<'a>(params: &'a [Param], name: &str) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref())
}

/// Writes parameters back as `;name=value` pieces.
pub(crate) fn write_params(params: &[Param], out: &mut String) {
    for (name, value) in params {
        out.push(';');
        out.push_str(name);
        if let Some(v) = value {
            out.push('=');
            out.push_str(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lws_around_separators_is_allowed() {
        let p = parse_params_strict("   tag    = 1918181833n").expect("params");
        assert_eq!(p, vec![("tag".to_owned(), Some("1918181833n".to_owned()))]);
        let p =
            parse_params_strict(" newparam =\n newvalue ; secondparam ; q = 0.33").expect("params");
        assert_eq!(p.len(), 3);
        assert_eq!(find_param(&p, "Q"), Some(Some("0.33")));
        assert_eq!(find_param(&p, "secondparam"), Some(None));
    }

    #[test]
    fn empty_params_are_an_error_in_strict_mode_only() {
        assert_eq!(parse_params_strict(";,;,,"), Err(ParamError::Empty));
        assert_eq!(parse_params_lenient(";;lr;"), vec![("lr".to_owned(), None)]);
    }

    #[test]
    fn values_may_be_hosts_and_quoted_strings() {
        assert!(parse_params_strict("received=[2001:db8::9:255]").is_ok());
        assert!(parse_params_strict("received=2001:db8::9:255").is_ok());
        assert!(parse_params_strict("x=\"a b;c\"").is_ok());
        assert!(matches!(
            parse_params_strict("x=a b"),
            Err(ParamError::BadValue { .. })
        ));
    }
}
