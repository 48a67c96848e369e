//! Applying one mutation to a request template: text in, text out, no I/O.
//! The template's `{variables}` are kept whole (a byte is never inserted
//! inside one), so the case fills them as it fills any template.

use super::{Op, Rng, Target};

/// The control characters a mutation inserts: every C0 control but HT, CR
/// and LF (which are line structure or whitespace), and DEL.
const CTLS: [char; 29] = [
    '\u{01}', '\u{02}', '\u{03}', '\u{04}', '\u{05}', '\u{06}', '\u{07}', '\u{08}', '\u{0b}',
    '\u{0c}', '\u{0e}', '\u{0f}', '\u{10}', '\u{11}', '\u{12}', '\u{13}', '\u{14}', '\u{15}',
    '\u{16}', '\u{17}', '\u{18}', '\u{19}', '\u{1a}', '\u{1b}', '\u{1c}', '\u{1d}', '\u{1e}',
    '\u{1f}', '\u{7f}',
];

/// The format-string tokens (`printf` conversions that read and write
/// memory in a C parser that passes input as a format).
pub const FORMAT_TOKENS: &str = "%s%n%x%s%n%x%d%p";

/// How deep the nested URI parameter goes.
pub const NESTING_DEPTH: usize = 256;

/// How many digits an overlong number has.
pub const OVERLONG_DIGITS: usize = 300;

/// A mutated template and a sentence saying what was done to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutated {
    pub template: String,
    pub what: String,
}

/// Applies `op` to `target` in `template`; `rng` makes the choices left to
/// chance. An error says why the mutation does not apply (the template has
/// no such header, or the value is not of the kind the mutation needs).
pub fn apply(template: &str, target: Target, op: Op, rng: &mut Rng) -> Result<Mutated, String> {
    let normalised = template.replace("\r\n", "\n");
    let (head, body) = match normalised.split_once("\n\n") {
        Some((head, body)) => (head.to_owned(), Some(body.to_owned())),
        None => (normalised.trim_end_matches('\n').to_owned(), None),
    };
    let mut lines: Vec<String> = head.lines().map(str::to_owned).collect();
    let (index, name, value) = locate(&lines, target)?;
    let display = display_name(target, &name);
    let (new_value, extra, what) = mutate_value(target, op, &value, &display, rng)?;
    lines[index] = rebuild(target, &lines[index], &name, &new_value);
    if let Some(extra) = extra {
        lines.insert(index + 1, format!("{name}: {extra}"));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    if let Some(body) = body {
        out.push('\n');
        out.push_str(&body);
    }
    Ok(Mutated {
        template: out,
        what,
    })
}

/// The line index, the header name as written (or the method, for the
/// Request-URI) and the value to mutate.
fn locate(lines: &[String], target: Target) -> Result<(usize, String, String), String> {
    match target {
        Target::RequestUri => {
            let first = lines.first().ok_or("the template is empty")?;
            let parts: Vec<&str> = first.split(' ').collect();
            match parts.as_slice() {
                [method, uri, _version] => Ok((0, (*method).to_owned(), (*uri).to_owned())),
                _ => Err(format!("{first:?} is not a request line")),
            }
        }
        Target::Header(wanted) => lines
            .iter()
            .enumerate()
            .skip(1)
            .find_map(|(i, line)| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case(wanted)
                    .then(|| (i, name.trim().to_owned(), value.trim().to_owned()))
            })
            .ok_or_else(|| format!("the template has no {wanted} header")),
    }
}

/// "the Request-URI", or "From's URI".
fn uri_of(name: &str) -> String {
    if name.starts_with("the ") {
        name.to_owned()
    } else {
        format!("{name}'s URI")
    }
}

fn display_name(target: Target, written: &str) -> String {
    match target {
        Target::RequestUri => "the Request-URI".to_owned(),
        Target::Header(_) => written.to_owned(),
    }
}

fn rebuild(target: Target, line: &str, name: &str, value: &str) -> String {
    match target {
        Target::RequestUri => {
            let version = line.rsplit(' ').next().unwrap_or("SIP/2.0");
            format!("{name} {value} {version}")
        }
        Target::Header(_) if value.is_empty() => format!("{name}:"),
        Target::Header(_) => format!("{name}: {value}"),
    }
}

/// The kinds of value a mutation knows how to break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The number is the whole value (Max-Forwards, Content-Length, Expires).
    Number,
    /// A number and a method (CSeq).
    CSeq,
    /// A URI, bare (Request-URI) or in angle brackets (From, To, Contact).
    Uri,
    /// A Via value: its sent-by host is what a format string replaces.
    Via,
    /// Anything else (Call-ID, Content-Type, Accept, Event).
    Other,
}

fn kind(target: Target) -> Kind {
    match target {
        Target::RequestUri | Target::Header("from" | "to" | "contact") => Kind::Uri,
        Target::Header("via") => Kind::Via,
        Target::Header("cseq") => Kind::CSeq,
        Target::Header("max-forwards" | "content-length" | "expires") => Kind::Number,
        Target::Header(_) => Kind::Other,
    }
}

type Value = (String, Option<String>, String);

fn mutate_value(
    target: Target,
    op: Op,
    value: &str,
    name: &str,
    rng: &mut Rng,
) -> Result<Value, String> {
    let kind = kind(target);
    let unsupported = || {
        Err(format!(
            "mutation {} does not apply to {}",
            op.name(),
            target.name()
        ))
    };
    Ok(match (op, kind) {
        (Op::Empty, _) => (String::new(), None, format!("{name} has an empty value")),
        (Op::Letters, Kind::Number) => (
            word_for(target).to_owned(),
            None,
            format!("{name} is the word {:?}, not a number", word_for(target)),
        ),
        (Op::Letters, Kind::CSeq) => (
            replace_number(value, "one"),
            None,
            format!("{name}'s sequence number is the word \"one\""),
        ),
        (Op::Nul, _) => (
            insert_at_random(value, '\0', rng),
            None,
            format!("{name} holds a NUL byte"),
        ),
        (Op::Ctl, _) => {
            let ctl = CTLS[rng.below(CTLS.len())];
            (
                insert_at_random(value, ctl, rng),
                None,
                format!("{name} holds the control byte 0x{:02x}", u32::from(ctl)),
            )
        }
        (Op::Format, Kind::Number) => (
            FORMAT_TOKENS.to_owned(),
            None,
            format!("{name} is the format string {FORMAT_TOKENS:?}, not a number"),
        ),
        (Op::Format, Kind::CSeq) => (
            replace_number(value, FORMAT_TOKENS),
            None,
            format!("{name}'s sequence number is the format string {FORMAT_TOKENS:?}"),
        ),
        (Op::Format, Kind::Uri) => (
            uri_with_format_user(value)?,
            None,
            format!(
                "the user part of {} is the format string {FORMAT_TOKENS:?} (a % must start an escape %HH)",
                uri_of(name)
            ),
        ),
        (Op::Format, Kind::Via) => (
            via_with_format_host(value)?,
            None,
            format!("{name}'s sent-by host is the format string {FORMAT_TOKENS:?}"),
        ),
        (Op::Overlong, Kind::Number) => (
            digits(rng),
            None,
            format!("{name} is a number of {OVERLONG_DIGITS} digits"),
        ),
        (Op::Overlong, Kind::CSeq) => (
            replace_number(value, &digits(rng)),
            None,
            format!(
                "{name}'s sequence number has {OVERLONG_DIGITS} digits (it must be below 2^31)"
            ),
        ),
        (Op::Nesting, Kind::Uri) => (
            uri_with_nesting(value)?,
            None,
            format!(
                "{} carries a parameter whose value is a bracketed URI, nested {NESTING_DEPTH} deep",
                uri_of(name)
            ),
        ),
        (Op::Duplicate, _) => {
            let other = duplicate_value(target, value)
                .ok_or_else(|| format!("mutation duplicate does not apply to {}", target.name()))?;
            (
                value.to_owned(),
                Some(other.clone()),
                format!("{name} appears twice, the second time as {other:?}"),
            )
        }
        (Op::Negative, Kind::Number) => ("-1".to_owned(), None, format!("{name} is -1")),
        (Op::TwoTo64, Kind::Number) => (
            "18446744073709551616".to_owned(),
            None,
            format!("{name} is 2^64 (18446744073709551616)"),
        ),
        _ => return unsupported(),
    })
}

fn word_for(target: Target) -> &'static str {
    match target {
        Target::Header("max-forwards") => "seventy",
        Target::Header("content-length") => "twenty",
        Target::Header("expires") => "never",
        _ => "one",
    }
}

/// `value` with its leading number replaced.
fn replace_number(value: &str, number: &str) -> String {
    let rest = value.trim_start_matches(|c: char| c.is_ascii_digit());
    format!("{number}{rest}")
}

/// `count` digits, the first not 0.
fn digits(rng: &mut Rng) -> String {
    (0..OVERLONG_DIGITS)
        .map(|i| {
            let digit = if i == 0 {
                1 + rng.below(9)
            } else {
                rng.below(10)
            };
            char::from(b'0' + u8::try_from(digit).unwrap_or(0))
        })
        .collect()
}

/// `value` with `c` inserted at a random character boundary strictly
/// inside it and outside every `{variable}` (a control byte at either end
/// of a value could pass for whitespace around it). A value that is one
/// variable gets `c` and an `x` after it.
fn insert_at_random(value: &str, c: char, rng: &mut Rng) -> String {
    let mut points = Vec::new();
    let mut depth = 0usize;
    for (i, ch) in value.char_indices() {
        if depth == 0 && i > 0 {
            points.push(i);
        }
        match ch {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if points.is_empty() {
        return format!("{value}{c}x");
    }
    let at = points[rng.below(points.len())];
    let mut out = String::with_capacity(value.len() + 1);
    out.push_str(&value[..at]);
    out.push(c);
    out.push_str(&value[at..]);
    out
}

/// The URI part of a value: the whole value, or what is inside `<...>`.
fn uri_span(value: &str) -> Result<(usize, usize), String> {
    match (value.find('<'), value.find('>')) {
        (Some(open), Some(close)) if open < close => Ok((open + 1, close)),
        (None, None) => Ok((0, value.len())),
        _ => Err(format!("{value:?} has unbalanced angle brackets")),
    }
}

fn uri_with_format_user(value: &str) -> Result<String, String> {
    let (start, end) = uri_span(value)?;
    let uri = &value[start..end];
    let (scheme, rest) = uri
        .split_once(':')
        .ok_or_else(|| format!("{uri:?} has no scheme"))?;
    let host_part = rest.split_once('@').map_or(rest, |(_, host)| host);
    Ok(format!(
        "{}{scheme}:{FORMAT_TOKENS}@{host_part}{}",
        &value[..start],
        &value[end..]
    ))
}

fn via_with_format_host(value: &str) -> Result<String, String> {
    let (protocol, rest) = value
        .split_once(' ')
        .ok_or_else(|| format!("{value:?} is not a Via value"))?;
    let after_host = rest.find([':', ';']).unwrap_or(rest.len());
    Ok(format!("{protocol} {FORMAT_TOKENS}{}", &rest[after_host..]))
}

fn uri_with_nesting(value: &str) -> Result<String, String> {
    let (_, end) = uri_span(value)?;
    let mut nested = String::from("sip:n0@nest.invalid");
    for level in 1..NESTING_DEPTH {
        nested = format!("sip:n{level}@nest.invalid;x-nest=<{nested}>");
    }
    Ok(format!(
        "{};x-nest=<{nested}>{}",
        &value[..end],
        &value[end..]
    ))
}

/// The second value of a duplicated singleton header: one that differs
/// from the first, so the receiver cannot take the two for one.
fn duplicate_value(target: Target, value: &str) -> Option<String> {
    Some(match target {
        Target::Header("from") => "<sip:other@{peer.domain}>;tag=other-{tag}".to_owned(),
        Target::Header("to") => "<sip:other@{sut.domain}>".to_owned(),
        Target::Header("call-id") => "other-{call_id}".to_owned(),
        Target::Header("cseq") => {
            let method = value.split_whitespace().nth(1)?;
            format!("2 {method}")
        }
        Target::Header("max-forwards") => "69".to_owned(),
        Target::Header("content-length") => "0".to_owned(),
        Target::Header("expires") => "60".to_owned(),
        _ => return None,
    })
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
