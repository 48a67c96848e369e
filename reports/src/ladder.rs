//! The ladder (sequence) diagram of one case, laid out for SVG: lifelines
//! for the roles that took part and one row per transcript entry.
//!
//! Lifelines, left to right: the provider peers (in order of appearance),
//! Edge external, Edge internal, pool, DNS, A/V; the Edge's two are always
//! drawn, the others only when the case used them. A message a peer sent or
//! received is an arrow between that peer and Edge external; one the pool
//! sent or received is an arrow between the pool and Edge internal. Runner
//! notes of the form `DNS <server>: <question> -> <answer>` become a query
//! arrow to the DNS lifeline and an answer arrow back (from the case's first
//! provider peer, which is who resolves the Edge). `step N: ...` notes become
//! step bands, and the band of the failed step (the `N` of the record's
//! `failed_step`) and every row after it are marked failed. Other notes are
//! text rows.
//!
//! This module only computes coordinates and labels; the HTML template draws
//! them.

use std::time::SystemTime;

use serde::Serialize;

use crate::bounds::bounded_text;
use crate::evidence::TranscriptEntry;

/// Horizontal distance between two lifelines, in SVG units.
pub const LIFELINE_SPACING: u32 = 220;
/// Space left of the first lifeline (time labels live there).
const LEFT_MARGIN: u32 = 150;
/// Space right of the last lifeline.
const RIGHT_MARGIN: u32 = 110;
/// The narrowest diagram, so step and note texts have room.
const MIN_WIDTH: u32 = 1100;
/// Height of the lifeline name header.
const HEADER_HEIGHT: u32 = 48;
/// Height of one row.
const ROW_HEIGHT: u32 = 30;
/// Space under the last row.
const FOOTER_HEIGHT: u32 = 16;
/// Roughly how many SVG units one label character takes.
const CHAR_WIDTH: u32 = 7;
/// Longest note text drawn on a row (the full text is in its tooltip).
const NOTE_CHARS: usize = 150;
/// The most of one message's text an arrow opens (16 KiB, counted as
/// [`crate::bounds`] counts); the transcript keeps more.
pub const MAX_ARROW_TEXT: usize = 16 * 1024;

pub const EDGE_EXTERNAL: &str = "Edge external";
pub const EDGE_INTERNAL: &str = "Edge internal";
pub const POOL: &str = "pool";
pub const DNS: &str = "DNS";
pub const AV: &str = "A/V";
/// The querier of a DNS note when the case has no provider peer.
pub const HARNESS: &str = "harness";

/// A laid-out ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ladder {
    pub width: u32,
    pub height: u32,
    pub lifelines: Vec<Lifeline>,
    pub rows: Vec<Row>,
    /// The SIP messages and DNS exchanges drawn as arrows, in row order; an
    /// arrow row's `message` indexes this list.
    pub messages: Vec<LadderMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lifeline {
    pub name: String,
    pub x: u32,
}

/// One row of the diagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Row {
    /// An arrow from `x1` to `x2` at height `y`.
    Arrow {
        y: u32,
        x1: u32,
        x2: u32,
        /// Where the label is centred.
        label_x: u32,
        label: String,
        time: String,
        message: usize,
        failed: bool,
    },
    /// The start of step `number`.
    Step {
        y: u32,
        number: usize,
        label: String,
        failed: bool,
    },
    /// A harness note.
    Note {
        y: u32,
        text: String,
        full_text: String,
        time: String,
        failed: bool,
    },
}

/// A message drawn as an arrow, with everything the page shows when the
/// arrow is opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LadderMessage {
    pub index: usize,
    pub time: String,
    pub actor: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub local: Option<String>,
    pub remote: Option<String>,
    /// The start line (request or status line).
    pub first_line: String,
    pub text: String,
    pub failed: bool,
}

/// The step number of a `failed_step` such as `"2: pool expects request MESSAGE"`.
pub fn failed_step_number(failed_step: Option<&str>) -> Option<usize> {
    failed_step?.split(':').next()?.trim().parse().ok()
}

/// Which lifeline an actor stands on, and the lifeline it talks to.
fn lifelines_of(actor: &str) -> (&str, &'static str) {
    match actor {
        "pool" => (POOL, EDGE_INTERNAL),
        "dns" => (DNS, EDGE_EXTERNAL),
        "av" | "media" | "stun" | "turn" => (AV, EDGE_EXTERNAL),
        peer => (peer, EDGE_EXTERNAL),
    }
}

/// An entry turned into what the ladder draws, before layout.
enum Item {
    Arrow {
        from: String,
        to: String,
        entry: usize,
        label: String,
        text: String,
    },
    Step {
        number: usize,
        label: String,
    },
    Note {
        entry: usize,
    },
}

/// `DNS <server>: <question> -> <answer>` split into (question, answer).
fn dns_note(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("DNS ")?;
    let (_, exchange) = rest.split_once(": ")?;
    exchange.split_once(" -> ")
}

/// `step N: ...` split into (N, the rest).
fn step_note(text: &str) -> Option<(usize, &str)> {
    let rest = text.strip_prefix("step ")?;
    let (number, label) = rest.split_once(": ")?;
    Some((number.parse().ok()?, label))
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_owned()
}

/// `+12.345 ms` after `t0`.
fn offset(t0: SystemTime, at: SystemTime) -> String {
    let micros = at.duration_since(t0).map_or(0, |d| d.as_micros());
    format!("+{}.{:03} ms", micros / 1000, micros % 1000)
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Lays out the ladder of `entries` (a case's transcript, in order).
/// `providers` are the case's provider peers; `failed_step` its record's.
pub fn build_ladder(
    entries: &[TranscriptEntry],
    providers: &[String],
    failed_step: Option<&str>,
) -> Ladder {
    let querier = providers.first().map_or(HARNESS, String::as_str);
    let mut items = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        match entry.kind.as_str() {
            "sent" | "received" => {
                let (own, other) = lifelines_of(&entry.actor);
                let (from, to) = if entry.kind == "sent" {
                    (own, other)
                } else {
                    (other, own)
                };
                items.push(Item::Arrow {
                    from: from.to_owned(),
                    to: to.to_owned(),
                    entry: index,
                    label: first_line(&entry.text),
                    text: bounded_text(&entry.text, MAX_ARROW_TEXT).into_owned(),
                });
            }
            _ => {
                if let Some((question, answer)) = dns_note(&entry.text) {
                    items.push(Item::Arrow {
                        from: querier.to_owned(),
                        to: DNS.to_owned(),
                        entry: index,
                        label: question.to_owned(),
                        text: entry.text.clone(),
                    });
                    items.push(Item::Arrow {
                        from: DNS.to_owned(),
                        to: querier.to_owned(),
                        entry: index,
                        label: answer.to_owned(),
                        text: entry.text.clone(),
                    });
                } else if let Some((number, label)) = step_note(&entry.text) {
                    items.push(Item::Step {
                        number,
                        label: label.to_owned(),
                    });
                } else {
                    items.push(Item::Note { entry: index });
                }
            }
        }
    }

    let lifelines = order_lifelines(&items);
    let x_of = |name: &str| {
        lifelines
            .iter()
            .find(|l| l.name == name)
            .map_or(LEFT_MARGIN, |l| l.x)
    };
    let last_x = lifelines.last().map_or(LEFT_MARGIN, |l| l.x);
    let width = (last_x + RIGHT_MARGIN).max(MIN_WIDTH);
    let failed_number = failed_step_number(failed_step);
    let t0 = entries.first().map_or(SystemTime::UNIX_EPOCH, |e| e.at);

    let mut rows = Vec::new();
    let mut messages = Vec::new();
    let mut failed = false;
    let mut y = HEADER_HEIGHT;
    for item in items {
        y += ROW_HEIGHT;
        match item {
            Item::Step { number, label } => {
                failed = failed_number == Some(number);
                rows.push(Row::Step {
                    y,
                    number,
                    label: truncate(&format!("step {number}: {label}"), NOTE_CHARS),
                    failed,
                });
            }
            Item::Arrow {
                from,
                to,
                entry,
                label,
                text,
            } => {
                let (x1, x2) = (x_of(&from), x_of(&to));
                // Labels may overhang the arrow by a quarter on each side.
                let span = x1.abs_diff(x2).max(LIFELINE_SPACING) * 3 / 2;
                let max_chars = usize::try_from(span / CHAR_WIDTH).unwrap_or(20);
                let e = &entries[entry];
                let time = offset(t0, e.at);
                let index = messages.len();
                messages.push(LadderMessage {
                    index,
                    time: time.clone(),
                    actor: e.actor.clone(),
                    kind: e.kind.clone(),
                    from,
                    to,
                    local: e.local.map(|a| a.to_string()),
                    remote: e.remote.map(|a| a.to_string()),
                    first_line: label.clone(),
                    text,
                    failed,
                });
                rows.push(Row::Arrow {
                    y,
                    x1,
                    x2,
                    label_x: x1.min(x2) + x1.abs_diff(x2) / 2,
                    label: truncate(&label, max_chars),
                    time,
                    message: index,
                    failed,
                });
            }
            Item::Note { entry } => {
                let e = &entries[entry];
                let full_text = e.text.split_whitespace().collect::<Vec<_>>().join(" ");
                rows.push(Row::Note {
                    y,
                    text: truncate(&full_text, NOTE_CHARS),
                    full_text,
                    time: offset(t0, e.at),
                    failed,
                });
            }
        }
    }
    Ladder {
        width,
        height: y + ROW_HEIGHT / 2 + FOOTER_HEIGHT,
        lifelines,
        rows,
        messages,
    }
}

/// Lifelines in the fixed order (see the module docs), spaced evenly.
fn order_lifelines(items: &[Item]) -> Vec<Lifeline> {
    let mut used: Vec<&str> = Vec::new();
    for item in items {
        if let Item::Arrow { from, to, .. } = item {
            for name in [from.as_str(), to.as_str()] {
                if !used.contains(&name) {
                    used.push(name);
                }
            }
        }
    }
    let fixed = [EDGE_EXTERNAL, EDGE_INTERNAL, POOL, DNS, AV];
    let mut names: Vec<&str> = used
        .iter()
        .copied()
        .filter(|n| !fixed.contains(n))
        .collect();
    for name in fixed {
        if name == EDGE_EXTERNAL || name == EDGE_INTERNAL || used.contains(&name) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .zip(0u32..)
        .map(|(name, i)| Lifeline {
            name: name.to_owned(),
            x: LEFT_MARGIN + i * LIFELINE_SPACING,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(ms: u64, actor: &str, kind: &str, text: &str) -> TranscriptEntry {
        let message = kind != "note";
        TranscriptEntry {
            at: SystemTime::UNIX_EPOCH
                + Duration::from_secs(1_795_606_661)
                + Duration::from_millis(ms),
            actor: actor.to_owned(),
            kind: kind.to_owned(),
            local: message.then(|| "127.80.1.2:40491".parse().unwrap()),
            remote: message.then(|| "127.80.0.10:5061".parse().unwrap()),
            text: text.to_owned(),
        }
    }

    fn inbound() -> Vec<TranscriptEntry> {
        vec![
            entry(
                0,
                "runner",
                "note",
                "step 1: messenger sends MESSAGE sip:{user.lync}@{sut.domain} SIP/2.0",
            ),
            entry(
                2,
                "messenger",
                "sent",
                "MESSAGE sip:a@contoso.test SIP/2.0\r\nCSeq: 1 MESSAGE\r\n\r\n",
            ),
            entry(3, "runner", "note", "step 2: pool expects request MESSAGE"),
            entry(
                4,
                "pool",
                "received",
                "MESSAGE sip:a@contoso.test SIP/2.0\r\n\r\n",
            ),
            entry(5, "runner", "note", "step 3: pool replies 200"),
            entry(5, "pool", "sent", "SIP/2.0 200 OK\r\n\r\n"),
            entry(
                6,
                "runner",
                "note",
                "step 4: messenger expects response 200",
            ),
            entry(7, "messenger", "received", "SIP/2.0 200 OK\r\n\r\n"),
        ]
    }

    fn arrows(ladder: &Ladder) -> Vec<(String, String, String, bool)> {
        ladder
            .messages
            .iter()
            .map(|m| (m.from.clone(), m.to.clone(), m.first_line.clone(), m.failed))
            .collect()
    }

    #[test]
    fn an_inbound_relay_crosses_the_edge_both_ways() {
        let ladder = build_ladder(&inbound(), &["messenger".to_owned()], None);
        let names: Vec<&str> = ladder.lifelines.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["messenger", EDGE_EXTERNAL, EDGE_INTERNAL, POOL]);
        let s = |x: &str| x.to_owned();
        assert_eq!(
            arrows(&ladder),
            vec![
                (
                    s("messenger"),
                    s(EDGE_EXTERNAL),
                    s("MESSAGE sip:a@contoso.test SIP/2.0"),
                    false
                ),
                (
                    s(EDGE_INTERNAL),
                    s(POOL),
                    s("MESSAGE sip:a@contoso.test SIP/2.0"),
                    false
                ),
                (s(POOL), s(EDGE_INTERNAL), s("SIP/2.0 200 OK"), false),
                (s(EDGE_EXTERNAL), s("messenger"), s("SIP/2.0 200 OK"), false),
            ]
        );
        assert_eq!(ladder.rows.len(), 8);
        // Rows go down the page; arrows join their lifelines.
        let ys: Vec<u32> = ladder
            .rows
            .iter()
            .map(|r| match r {
                Row::Arrow { y, .. } | Row::Step { y, .. } | Row::Note { y, .. } => *y,
            })
            .collect();
        assert!(ys.windows(2).all(|w| w[0] < w[1]), "{ys:?}");
        assert!(ladder.height > *ys.last().unwrap());
        let Row::Arrow { x1, x2, time, .. } = &ladder.rows[1] else {
            panic!("row 1 is not an arrow: {:?}", ladder.rows[1]);
        };
        assert_eq!((*x1, *x2), (ladder.lifelines[0].x, ladder.lifelines[1].x));
        assert_eq!(time, "+2.000 ms");
        assert!(ladder.width > ladder.lifelines[3].x);
    }

    #[test]
    fn the_failed_step_and_what_follows_are_marked() {
        let mut entries = inbound();
        entries.truncate(4);
        entries.push(entry(
            9,
            "runner",
            "note",
            "verdict fail: MESSAGE reached pool without a Record-Route header",
        ));
        let ladder = build_ladder(
            &entries,
            &["messenger".to_owned()],
            Some("2: pool expects request MESSAGE"),
        );
        let failed: Vec<bool> = ladder
            .rows
            .iter()
            .map(|r| match r {
                Row::Arrow { failed, .. } | Row::Step { failed, .. } | Row::Note { failed, .. } => {
                    *failed
                }
            })
            .collect();
        assert_eq!(failed, [false, false, true, true, true]);
        assert!(matches!(
            &ladder.rows[2],
            Row::Step {
                number: 2,
                failed: true,
                ..
            }
        ));
        assert!(!ladder.messages[0].failed && ladder.messages[1].failed);
    }

    #[test]
    fn dns_notes_become_a_query_and_an_answer() {
        let entries = vec![entry(
            0,
            "runner",
            "note",
            "DNS 127.80.0.2:53: SRV _sipfederationtls._tcp.contoso.test. -> [sip.contoso.test:5061]",
        )];
        let ladder = build_ladder(&entries, &["messenger".to_owned()], None);
        let s = |x: &str| x.to_owned();
        assert_eq!(
            arrows(&ladder),
            vec![
                (
                    s("messenger"),
                    s(DNS),
                    s("SRV _sipfederationtls._tcp.contoso.test."),
                    false
                ),
                (s(DNS), s("messenger"), s("[sip.contoso.test:5061]"), false),
            ]
        );
        let names: Vec<&str> = ladder.lifelines.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["messenger", EDGE_EXTERNAL, EDGE_INTERNAL, DNS]);
        let without_provider = build_ladder(&entries, &[], None);
        assert_eq!(without_provider.messages[0].from, HARNESS);
    }

    #[test]
    fn long_labels_are_cut_and_an_empty_transcript_still_draws_the_edge() {
        let long = format!("MESSAGE sip:{}@contoso.test SIP/2.0", "x".repeat(200));
        let ladder = build_ladder(&[entry(0, "aol", "sent", &long)], &[], None);
        let Row::Arrow { label, .. } = &ladder.rows[0] else {
            panic!("not an arrow");
        };
        assert!(
            label.ends_with('…') && label.chars().count() < 60,
            "{label}"
        );
        assert!(
            label.starts_with("MESSAGE sip:xxxxxxxxxxxxxxxxxxxx"),
            "{label}"
        );
        assert_eq!(ladder.messages[0].text, long);
        let huge = format!("MESSAGE sip:a SIP/2.0\r\nX: {}", "y".repeat(100_000));
        let ladder = build_ladder(&[entry(0, "aol", "sent", &huge)], &[], None);
        assert!(
            ladder.messages[0].text.len() < MAX_ARROW_TEXT + 64
                && ladder.messages[0]
                    .text
                    .ends_with("more bytes not kept in this report]"),
            "the text an arrow opens is bounded"
        );

        let empty = build_ladder(&[], &[], Some("1: x"));
        assert_eq!(empty.lifelines.len(), 2);
        assert!(empty.rows.is_empty());
        assert_eq!(
            failed_step_number(Some("12: pool expects request MESSAGE")),
            Some(12)
        );
        assert_eq!(failed_step_number(Some("nonsense")), None);
    }
}
