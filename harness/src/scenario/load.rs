//! Reading scenario files and turning them into validated [`Case`]s.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use picharness_reports::FindingKind;
use toml::Spanned;

use super::abuse_kind::{AbuseKind, AbuseStep};
use super::error::{ScenarioError, line_of};
use super::file_format::{CaseFile, StepFile};
use super::model::{
    Action, Actor, Case, CheckKind, HeaderExpectation, IfUnmet, MessageExpectation, StatusPattern,
    Step,
};
use super::template::{KNOWN_VARIABLES, MAX_FILL_TO, is_known_variable, variables_in};

const DEFAULT_TIMEOUT_MS: u64 = 8_000;
const MAX_TIMEOUT_MS: u64 = 600_000;

struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn error<T>(
        &self,
        span: Option<std::ops::Range<usize>>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Result<T, ScenarioError> {
        Err(ScenarioError {
            file: self.file.to_path_buf(),
            line: span.map_or(0, |s| line_of(self.text, s.start)),
            field: field.into(),
            message: message.into(),
        })
    }

    fn at<T, U>(
        &self,
        spanned: &Spanned<U>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Result<T, ScenarioError> {
        self.error(Some(spanned.span()), field, message)
    }
}

/// How long `expect = "refusal-or-silence"` waits before it takes silence
/// as the Edge discarding the input.
pub(crate) const REFUSAL_SILENCE_WAIT: Duration = Duration::from_secs(2);

/// Loads every `*.toml` file under `dir` (recursively, in path order).
/// All files are read; every error found is returned, not just the first.
pub fn load_cases(dir: &Path, providers: &[String]) -> Result<Vec<Case>, Vec<ScenarioError>> {
    let mut files = Vec::new();
    if let Err(e) = collect_toml_files(dir, &mut files) {
        return Err(vec![ScenarioError {
            file: dir.to_path_buf(),
            line: 0,
            field: String::new(),
            message: format!("cannot read scenario directory: {e}"),
        }]);
    }
    files.sort();
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match load_case_file(&file, providers) {
            Ok(case) => cases.push(case),
            Err(e) => errors.push(e),
        }
    }
    let mut seen = BTreeSet::new();
    for case in &cases {
        if !seen.insert(case.id.clone()) {
            errors.push(ScenarioError {
                file: case.source.clone(),
                line: 1,
                field: "id".into(),
                message: format!("case id {:?} is used by another file", case.id),
            });
        }
    }
    if errors.is_empty() {
        Ok(cases)
    } else {
        Err(errors)
    }
}

fn collect_toml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        // Anything named *.toml is a case file, whatever it is: reading a
        // directory or FIFO by that name is then an error, never a silent skip.
        if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        } else if path.is_dir() {
            collect_toml_files(&path, out)?;
        }
    }
    Ok(())
}

/// Reads and validates one scenario file.
pub fn load_case_file(file: &Path, providers: &[String]) -> Result<Case, ScenarioError> {
    let text = crate::data_file::read_data_file(file).map_err(|e| ScenarioError {
        file: file.to_path_buf(),
        line: 0,
        field: String::new(),
        message: format!("the scenario file {e}"),
    })?;
    parse_case(file, &text, providers)
}

fn toml_error(ctx: &Ctx<'_>, e: &toml::de::Error) -> ScenarioError {
    ScenarioError::from_toml(ctx.file, ctx.text, e)
}

fn is_case_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('.').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !p.starts_with('-')
        })
}

fn is_requirement_id(id: &str) -> bool {
    id.split_once('-').is_some_and(|(area, number)| {
        !area.is_empty()
            && area.bytes().all(|b| b.is_ascii_uppercase())
            && !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Validates the text of one scenario file.
pub fn parse_case(file: &Path, text: &str, providers: &[String]) -> Result<Case, ScenarioError> {
    let ctx = Ctx { file, text };
    let raw: CaseFile = toml::from_str(text).map_err(|e| toml_error(&ctx, &e))?;
    let id = raw.id.get_ref().clone();
    if !is_case_id(&id) {
        return ctx.at(
            &raw.id,
            "id",
            format!("{id:?} is not a lowercase dotted id like messenger.im.inbound"),
        );
    }
    let prefix = id.split('.').next().unwrap_or_default();
    if prefix != "edge" && prefix != "av" && !providers.iter().any(|p| p == prefix) {
        return ctx.at(
            &raw.id,
            "id",
            format!("id must start with a provider name, edge or av, not {prefix:?}"),
        );
    }
    if raw.title.get_ref().trim().is_empty() {
        return ctx.at(&raw.title, "title", "title is empty");
    }
    if raw.requirements.get_ref().is_empty() {
        return ctx.at(
            &raw.requirements,
            "requirements",
            "a case must cite at least one requirement id",
        );
    }
    for requirement in raw.requirements.get_ref() {
        if !is_requirement_id(requirement.get_ref()) {
            return ctx.at(
                requirement,
                "requirements",
                format!(
                    "{:?} is not a requirement id like FED-09",
                    requirement.get_ref()
                ),
            );
        }
    }
    for (index, provider) in raw.providers.get_ref().iter().enumerate() {
        if raw.providers.get_ref()[..index]
            .iter()
            .any(|earlier| earlier.get_ref() == provider.get_ref())
        {
            return ctx.at(
                provider,
                "providers",
                format!("provider {:?} is listed twice", provider.get_ref()),
            );
        }
        if !providers.iter().any(|p| p == provider.get_ref()) {
            return ctx.at(
                provider,
                "providers",
                format!(
                    "unknown provider {:?}; known: {}",
                    provider.get_ref(),
                    providers.join(", ")
                ),
            );
        }
    }
    let timeout_ms = match &raw.timeout_ms {
        Some(t) if *t.get_ref() == 0 || *t.get_ref() > MAX_TIMEOUT_MS => {
            return ctx.at(
                t,
                "timeout_ms",
                format!("must be between 1 and {MAX_TIMEOUT_MS}"),
            );
        }
        Some(t) => *t.get_ref(),
        None => DEFAULT_TIMEOUT_MS,
    };
    if raw.steps.get_ref().is_empty() {
        return ctx.at(&raw.steps, "steps", "a case needs at least one step");
    }
    let steps = raw
        .steps
        .get_ref()
        .iter()
        .enumerate()
        .map(|(i, step)| parse_step(&ctx, i, step, providers, raw.requirements.get_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    check_dialog_variables(&ctx, &raw.steps, &steps)?;
    for need in &raw.needs {
        if !crate::profile::FEATURES
            .iter()
            .any(|(k, _)| k == need.get_ref())
        {
            let known: Vec<&str> = crate::profile::FEATURES.iter().map(|(k, _)| *k).collect();
            return ctx.at(
                need,
                "needs",
                format!(
                    "unknown feature {:?}; known: {}",
                    need.get_ref(),
                    known.join(", ")
                ),
            );
        }
    }
    check_controls(&ctx, &raw, &steps)?;
    check_abuse_order(&ctx, &raw, &steps)?;
    let disturbs = steps.iter().any(|s| {
        matches!(
            s.action,
            Action::SetState { .. }
                | Action::Check(CheckKind::RefusesImpostor(_) | CheckKind::RefusesRevokedImpostor)
        )
    });
    if disturbs && !raw.exclusive {
        return ctx.at(
            &raw.steps,
            "exclusive",
            "a case that takes an actor down or replaces it with an impostor must say `exclusive = true`",
        );
    }
    Ok(Case {
        id,
        title: raw.title.into_inner(),
        requirements: raw
            .requirements
            .into_inner()
            .into_iter()
            .map(Spanned::into_inner)
            .collect(),
        providers: raw
            .providers
            .into_inner()
            .into_iter()
            .map(Spanned::into_inner)
            .collect(),
        tags: raw.tags.into_iter().map(Spanned::into_inner).collect(),
        timeout: Duration::from_millis(timeout_ms),
        no_fault_reason: raw.no_fault_reason,
        exclusive: raw.exclusive,
        needs: raw.needs.into_iter().map(Spanned::into_inner).collect(),
        steps,
        source: file.to_path_buf(),
    })
}

/// Variables that only have a value inside a dialog: a request built on an
/// empty one would be blamed on the SUT.
const DIALOG_VARIABLES: [&str; 2] = ["{dialog.target}", "{dialog.remote}"];

/// A send that uses a dialog variable needs an earlier expect step of the
/// same actor: only a received message forms the actor's dialog.
fn check_dialog_variables(
    ctx: &Ctx<'_>,
    raw: &Spanned<Vec<Spanned<StepFile>>>,
    steps: &[Step],
) -> Result<(), ScenarioError> {
    for (index, (step, file)) in steps.iter().zip(raw.get_ref()).enumerate() {
        let Some(template) = &file.get_ref().send else {
            continue;
        };
        let Some(variable) = DIALOG_VARIABLES
            .iter()
            .find(|v| template.get_ref().contains(**v))
        else {
            continue;
        };
        let received_before = steps[..index]
            .iter()
            .any(|s| s.actor == step.actor && matches!(s.action, Action::Expect(_)));
        if !received_before {
            return ctx.at(
                template,
                format!("steps[{index}].send"),
                format!(
                    "{variable} needs a dialog, but {} has no earlier expect step whose message could form one",
                    step.actor.name()
                ),
            );
        }
    }
    Ok(())
}

/// Abuse steps pair up: each start is followed by an end before the next
/// start or the end of the case, and an abuse runs only in an exclusive
/// robustness case (it disturbs the Edge for everyone).
fn check_abuse_order(ctx: &Ctx<'_>, raw: &CaseFile, steps: &[Step]) -> Result<(), ScenarioError> {
    let spans = raw.steps.get_ref();
    let mut running: Option<usize> = None;
    for (index, step) in steps.iter().enumerate() {
        let Action::Abuse(abuse) = step.action else {
            continue;
        };
        let span = spans.get(index).map(Spanned::span);
        let field = format!("steps[{index}].abuse");
        if !raw.exclusive || !raw.tags.iter().any(|t| t.get_ref() == "robustness") {
            return ctx.error(
                span,
                field,
                "an abuse step belongs to a robustness case (tag `robustness`, `exclusive = true`): it disturbs the Edge for everyone",
            );
        }
        match (abuse, running) {
            (AbuseStep::Start(_), Some(started)) => {
                return ctx.error(
                    span,
                    field,
                    format!(
                        "the abuse of step {} is still running: end it first",
                        started + 1
                    ),
                );
            }
            (AbuseStep::Start(_), None) => running = Some(index),
            (AbuseStep::End, None) => {
                return ctx.error(span, field, "abuse = \"end\" ends no running abuse");
            }
            (AbuseStep::End, Some(_)) => running = None,
        }
    }
    match running {
        Some(started) => ctx.error(
            spans.get(started).map(Spanned::span),
            format!("steps[{started}].abuse"),
            "this abuse is never ended: add an `abuse = \"end\"` step after the probe",
        ),
        None => Ok(()),
    }
}

/// A refusal (a closed connection, an error response, a refused
/// handshake) is also what an Edge that does nothing produces, so a case
/// that counts one as a pass must prove, in a control step, that this Edge
/// delivers a good request on the same path.
fn check_controls(ctx: &Ctx<'_>, raw: &CaseFile, steps: &[Step]) -> Result<(), ScenarioError> {
    let spans = raw.steps.get_ref();
    for (index, (step, spanned)) in steps.iter().zip(spans).enumerate() {
        if step.control && step.is_refusal() {
            return ctx.error(
                Some(spanned.span()),
                format!("steps[{index}].control"),
                "a refusal step cannot be a control step: a control proves the Edge works",
            );
        }
    }
    let Some((index, _)) = steps.iter().enumerate().find(|(_, s)| s.is_refusal()) else {
        return Ok(());
    };
    // A liveness probe delivers a good MESSAGE and brings its 200 back:
    // run as a control it proves the Edge works as an expect step does.
    let proves = steps.iter().any(|s| {
        s.control
            && matches!(
                s.action,
                Action::Expect(
                    MessageExpectation::Request { .. } | MessageExpectation::Response { .. }
                ) | Action::Check(CheckKind::LivenessProbe)
            )
    });
    if proves {
        return Ok(());
    }
    ctx.error(
        spans.get(index).map(Spanned::span),
        format!("steps[{index}].control"),
        format!(
            "step {} counts a refusal as a pass, which an Edge that does nothing also gives: mark the steps that prove this Edge works (a good request on the same path delivered and answered) with `control = true`, at least one of them an expect step or a liveness probe",
            index + 1
        ),
    )
}

fn check_variables(
    ctx: &Ctx<'_>,
    spanned: &Spanned<String>,
    field: &str,
) -> Result<(), ScenarioError> {
    for name in variables_in(spanned.get_ref()) {
        if let Some(count) = name.strip_prefix("fill_to:")
            && !is_known_variable(name)
        {
            return ctx.at(
                spanned,
                field,
                format!(
                    "{{fill_to:{count}}} must be a byte count of at most {MAX_FILL_TO} (1 MiB)"
                ),
            );
        }
        if !is_known_variable(name) {
            return ctx.at(
                spanned,
                field,
                format!(
                    "unknown variable {{{name}}}; known: {}",
                    KNOWN_VARIABLES.join(", ")
                ),
            );
        }
    }
    Ok(())
}

fn parse_status_pattern(text: &str) -> Option<StatusPattern> {
    let bytes = text.as_bytes();
    if bytes.len() != 3 || !(b'1'..=b'6').contains(&bytes[0]) {
        return None;
    }
    if &text[1..] == "xx" {
        return Some(StatusPattern::Class(bytes[0] - b'0'));
    }
    text.parse().ok().map(StatusPattern::Exact)
}

fn parse_step(
    ctx: &Ctx<'_>,
    index: usize,
    spanned: &Spanned<StepFile>,
    providers: &[String],
    requirements: &[Spanned<String>],
) -> Result<Step, ScenarioError> {
    let step = spanned.get_ref();
    let field = |name: &str| format!("steps[{index}].{name}");
    let line = line_of(ctx.text, spanned.span().start);
    let actor_name = step.actor.get_ref().as_str();
    let actor = match actor_name {
        "pool" => Actor::Pool,
        "dns" => Actor::Dns,
        "av" => Actor::Av,
        name if providers.iter().any(|p| p == name) => Actor::Peer(name.to_owned()),
        other => {
            return ctx.at(
                &step.actor,
                field("actor"),
                format!(
                    "unknown actor {other:?}; use pool, dns, av or a provider ({})",
                    providers.join(", ")
                ),
            );
        }
    };
    let chosen: Vec<&str> = [
        step.send.as_ref().map(|_| "send"),
        step.send_raw.as_ref().map(|_| "send_raw"),
        step.expect.as_ref().map(|_| "expect"),
        step.reply.as_ref().map(|_| "reply"),
        step.check.as_ref().map(|_| "check"),
        step.state.as_ref().map(|_| "state"),
        step.abuse.as_ref().map(|_| "abuse"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if chosen.len() != 1 {
        return ctx.error(
            Some(spanned.span()),
            field("send|expect|reply|check"),
            format!(
                "a step needs exactly one of send, send_raw, expect, reply, check, state or abuse; found {}",
                if chosen.is_empty() {
                    "none".to_owned()
                } else {
                    chosen.join(", ")
                }
            ),
        );
    }
    let has_header_rules = !step.has_headers.is_empty()
        || !step.lacks_headers.is_empty()
        || !step.header_contains.is_empty()
        || !step.first_value_contains.is_empty()
        || !step.value_count.is_empty()
        || !step.body_contains.is_empty()
        || step.body_as_sent_by.is_some()
        || step.same_connection
        || !step.names_edge.is_empty()
        || !step.secure_uri.is_empty()
        || !step.first_value_host.is_empty()
        || step.same_branch_as.is_some()
        || step.same_dialog_as.is_some()
        || !step.value_at_most.is_empty()
        || step.observe.is_some();
    if has_header_rules && step.expect.is_none() {
        return ctx.error(
            Some(spanned.span()),
            field("has_headers"),
            "header rules belong to an expect step",
        );
    }
    if step.reuse_connection && step.send.is_none() && step.send_raw.is_none() {
        return ctx.error(
            Some(spanned.span()),
            field("reuse_connection"),
            "reuse_connection belongs to a send or send_raw step",
        );
    }
    if let Some(method) = &step.reply_to
        && (step.reply.is_none()
            || method.get_ref().is_empty()
            || !method.get_ref().bytes().all(|b| b.is_ascii_uppercase()))
    {
        return ctx.at(
            method,
            field("reply_to"),
            "reply_to names an upper-case method and belongs to a reply step",
        );
    }
    if (step.reply_body.is_some() || step.reply_content_type.is_some())
        && (step.reply.is_none() || step.reply_body.is_none())
    {
        return ctx.error(
            Some(spanned.span()),
            field("reply_body"),
            "reply_body belongs to a reply step (and reply_content_type to a reply_body)",
        );
    }
    if let Some(sender) = &step.body_as_sent_by
        && sender.get_ref() != "pool"
        && !providers.iter().any(|p| p == sender.get_ref())
    {
        return ctx.at(
            sender,
            field("body_as_sent_by"),
            format!(
                "body_as_sent_by names {:?}, which is neither pool nor a provider",
                sender.get_ref()
            ),
        );
    }
    if matches!(actor, Actor::Dns | Actor::Av) && step.check.is_none() {
        return ctx.at(
            &step.actor,
            field("actor"),
            format!("the {} actor only runs checks", actor.name()),
        );
    }
    if step.hostile && step.send.is_none() {
        return ctx.error(
            Some(spanned.span()),
            field("hostile"),
            "hostile belongs to a send step",
        );
    }
    let action = if let Some(abuse) = &step.abuse {
        parse_abuse(ctx, abuse, &field("abuse"), &actor)?
    } else if let Some(template) = &step.send {
        check_variables(ctx, template, &field("send"))?;
        let first_line = template.get_ref().lines().next().unwrap_or_default();
        if !step.hostile && first_line.split(' ').count() != 3 {
            return ctx.at(
                template,
                field("send"),
                format!("first line {first_line:?} is not a SIP request or status line"),
            );
        }
        Action::Send {
            template: template.get_ref().clone(),
            reuse_connection: step.reuse_connection,
        }
    } else if let Some(raw) = &step.send_raw {
        if raw.get_ref().is_empty() {
            return ctx.at(raw, field("send_raw"), "send_raw is empty");
        }
        Action::SendRaw {
            bytes: raw.get_ref().as_bytes().to_vec(),
            reuse_connection: step.reuse_connection,
        }
    } else if let Some(state) = &step.state {
        let up = match state.get_ref().as_str() {
            "up" => true,
            "down" => false,
            other => {
                return ctx.at(
                    state,
                    field("state"),
                    format!("{other:?} is neither `down` nor `up`"),
                );
            }
        };
        if !matches!(actor, Actor::Pool) {
            return ctx.at(
                &step.actor,
                field("actor"),
                "only the pool can go down and come back up",
            );
        }
        Action::SetState { up }
    } else if let Some(expect) = &step.expect {
        let mut headers = Vec::new();
        for name in &step.has_headers {
            headers.push(HeaderExpectation::Present(name.get_ref().clone()));
        }
        for name in &step.lacks_headers {
            headers.push(HeaderExpectation::Absent(name.get_ref().clone()));
        }
        for (name, needle) in &step.header_contains {
            check_variables(ctx, needle, &field(&format!("header_contains.{name}")))?;
            headers.push(HeaderExpectation::Contains {
                name: name.clone(),
                needle: needle.get_ref().clone(),
            });
        }
        for (name, needle) in &step.first_value_contains {
            check_variables(ctx, needle, &field(&format!("first_value_contains.{name}")))?;
            headers.push(HeaderExpectation::FirstContains {
                name: name.clone(),
                needle: needle.get_ref().clone(),
            });
        }
        for (name, count) in &step.value_count {
            headers.push(HeaderExpectation::Count {
                name: name.clone(),
                count: *count.get_ref(),
            });
        }
        for needle in &step.body_contains {
            check_variables(ctx, needle, &field("body_contains"))?;
            headers.push(HeaderExpectation::BodyContains(needle.get_ref().clone()));
        }
        if let Some(sender) = &step.body_as_sent_by {
            headers.push(HeaderExpectation::BodyAsSentBy(sender.get_ref().clone()));
        }
        if step.same_connection {
            headers.push(HeaderExpectation::SameConnection);
        }
        for name in &step.names_edge {
            headers.push(HeaderExpectation::NamesEdge(name.get_ref().clone()));
        }
        for name in &step.secure_uri {
            headers.push(HeaderExpectation::SecureUri(name.get_ref().clone()));
        }
        for (name, host) in &step.first_value_host {
            check_variables(ctx, host, &field(&format!("first_value_host.{name}")))?;
            headers.push(HeaderExpectation::FirstHost {
                name: name.clone(),
                host: host.get_ref().clone(),
            });
        }
        if let Some(method) = &step.same_branch_as {
            if method.get_ref().is_empty()
                || !method.get_ref().bytes().all(|b| b.is_ascii_uppercase())
            {
                return ctx.at(
                    method,
                    field("same_branch_as"),
                    "same_branch_as names an upper-case method",
                );
            }
            headers.push(HeaderExpectation::SameBranchAs(method.get_ref().clone()));
        }
        if let Some(method) = &step.same_dialog_as {
            if method.get_ref().is_empty()
                || !method.get_ref().bytes().all(|b| b.is_ascii_uppercase())
            {
                return ctx.at(
                    method,
                    field("same_dialog_as"),
                    "same_dialog_as names an upper-case method",
                );
            }
            headers.push(HeaderExpectation::SameDialogAs(method.get_ref().clone()));
        }
        for (name, max) in &step.value_at_most {
            headers.push(HeaderExpectation::AtMost {
                name: name.clone(),
                max: *max.get_ref(),
            });
        }
        if let Some(observe) = &step.observe {
            let rules = observe.get_ref();
            if rules.first_value_host.is_empty()
                && !rules.same_connection
                && rules.has_headers.is_empty()
                && rules.pong_within_ms.is_none()
            {
                return ctx.at(observe, field("observe"), "observe holds no rule");
            }
            for name in &rules.has_headers {
                headers.push(HeaderExpectation::Observe(Box::new(
                    HeaderExpectation::Present(name.get_ref().clone()),
                )));
            }
            for (name, host) in &rules.first_value_host {
                check_variables(
                    ctx,
                    host,
                    &field(&format!("observe.first_value_host.{name}")),
                )?;
                headers.push(HeaderExpectation::Observe(Box::new(
                    HeaderExpectation::FirstHost {
                        name: name.clone(),
                        host: host.get_ref().clone(),
                    },
                )));
            }
            if rules.same_connection {
                headers.push(HeaderExpectation::Observe(Box::new(
                    HeaderExpectation::SameConnection,
                )));
            }
        }
        let text = expect.get_ref().trim();
        if let Some(observe) = &step.observe
            && observe.get_ref().pong_within_ms.is_some()
            && text != "pong"
        {
            return ctx.at(
                observe,
                field("observe.pong_within_ms"),
                "pong_within_ms belongs to expect = \"pong\"",
            );
        }
        let expectation = match text.split_once(' ') {
            None if text == "refusal" => MessageExpectation::Refusal { headers },
            None if text == "refusal-or-silence" && headers.is_empty() => {
                MessageExpectation::RefusalOrSilence(REFUSAL_SILENCE_WAIT)
            }
            None if text == "pong" && headers.is_empty() => {
                match step
                    .observe
                    .as_ref()
                    .and_then(|o| o.get_ref().pong_within_ms.as_ref())
                {
                    Some(ms) => {
                        MessageExpectation::PongWithin(Duration::from_millis(*ms.get_ref()))
                    }
                    None => MessageExpectation::Pong,
                }
            }
            None if text == "pong" => {
                return ctx.at(
                    expect,
                    field("expect"),
                    "a pong carries no headers to check",
                );
            }
            Some(("request", method))
                if !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase()) =>
            {
                MessageExpectation::Request {
                    method: method.to_owned(),
                    headers,
                }
            }
            Some(("response", status)) => match parse_status_pattern(status) {
                Some(status) => MessageExpectation::Response { status, headers },
                None => {
                    return ctx.at(
                        expect,
                        field("expect"),
                        format!("{status:?} is not a status code or class like 4xx"),
                    );
                }
            },
            _ => {
                return ctx.at(
                    expect,
                    field("expect"),
                    format!("{text:?} is neither `request METHOD` nor `response CODE`"),
                );
            }
        };
        Action::Expect(expectation)
    } else if let Some(status) = &step.reply {
        if !(100..=699).contains(status.get_ref()) {
            return ctx.at(
                status,
                field("reply"),
                format!("{} is not a SIP status code (100-699)", status.get_ref()),
            );
        }
        let body = match &step.reply_body {
            Some(template) => {
                check_variables(ctx, template, &field("reply_body"))?;
                let content_type = step
                    .reply_content_type
                    .as_ref()
                    .map_or("application/sdp", |t| t.get_ref().as_str());
                Some((content_type.to_owned(), template.get_ref().clone()))
            }
            None => None,
        };
        Action::Reply {
            status: *status.get_ref(),
            to_method: step.reply_to.as_ref().map(|m| m.get_ref().clone()),
            body,
        }
    } else if let Some(check) = &step.check {
        let Some((_, kind)) = CheckKind::ALL
            .iter()
            .find(|(name, _)| name == check.get_ref())
        else {
            let known: Vec<&str> = CheckKind::ALL.iter().map(|(n, _)| *n).collect();
            return ctx.at(
                check,
                field("check"),
                format!(
                    "unknown check {:?}; known: {}",
                    check.get_ref(),
                    known.join(", ")
                ),
            );
        };
        let fits = match kind {
            CheckKind::DnsSrvExists
            | CheckKind::DnsSrvPort
            | CheckKind::DnsSrvTargetResolves
            | CheckKind::DnsSrvTargetAddress
            | CheckKind::DnsOverTcp => matches!(actor, Actor::Dns),
            CheckKind::ServerCertificate
            | CheckKind::ClientCertificateEku
            | CheckKind::DnsSrvTargetInSan => {
                matches!(actor, Actor::Peer(_))
            }
            CheckKind::CertificateSubject
            | CheckKind::CertificateTrust
            | CheckKind::CertificateValidity
            | CheckKind::CertificateSignature
            | CheckKind::CertificateCrlDistributionPoint
            | CheckKind::CertificateKey
            | CheckKind::CertificateSipDomains
            | CheckKind::CertificatePoolMembers
            | CheckKind::ClientCertificateProperties
            | CheckKind::TlsVersions
            | CheckKind::RefusesPeer(_)
            | CheckKind::RefusesImpostor(_)
            | CheckKind::RefusesRevokedPeer
            | CheckKind::RefusesRevokedImpostor
            | CheckKind::AcceptsLegacyPeer(_)
            | CheckKind::LivenessProbe
            | CheckKind::PipelinedMessages
            | CheckKind::NothingRelayedOutward => matches!(actor, Actor::Peer(_)),
            CheckKind::NothingMalformedInward => matches!(actor, Actor::Pool),
            CheckKind::StunBindingUdp
            | CheckKind::StunBindingTcp
            | CheckKind::TurnAuthChallenge
            | CheckKind::TurnRelayRange
            | CheckKind::TurnRelayRoundtrip
            | CheckKind::RtpStream
            | CheckKind::StunUnknownAttribute
            | CheckKind::TurnRelayRoundtripTcp
            | CheckKind::MsTurnAuthChallenge
            | CheckKind::MsTurnNoCookieIgnored
            | CheckKind::MsTurnUnknownAttribute
            | CheckKind::MsTurnAllocate
            | CheckKind::MsTurnTcpPseudoTls
            | CheckKind::MsTurnTcpNoCookieCloses
            | CheckKind::MsTurnSendAndData
            | CheckKind::MsTurnActiveDestination
            | CheckKind::MsTurnTcpRelay
            | CheckKind::TurnAllocationExpiry
            | CheckKind::AvCallAllocate
            | CheckKind::AvCallMedia
            | CheckKind::AvMalformedStun
            | CheckKind::AvAllocateFlood
            | CheckKind::AvStrayTraffic
            | CheckKind::AvLivenessProbe => matches!(actor, Actor::Av),
        };
        if !fits {
            return ctx.at(
                &step.actor,
                field("actor"),
                format!(
                    "check {} cannot be run by {}",
                    check.get_ref(),
                    actor.name()
                ),
            );
        }
        Action::Check(*kind)
    } else {
        return ctx.error(
            Some(spanned.span()),
            field("send|expect|reply|check"),
            "a step needs an action",
        );
    };
    let if_unmet = parse_if_unmet(ctx, index, spanned, requirements)?;
    Ok(Step {
        actor,
        action,
        line,
        note: step.note.clone(),
        control: step.control,
        if_unmet,
    })
}

/// `abuse = "NAME"` starts a background abuse, `abuse = "end"` ends it;
/// every abuse so far is run by a provider peer.
fn parse_abuse(
    ctx: &Ctx<'_>,
    abuse: &Spanned<String>,
    field: &str,
    actor: &Actor,
) -> Result<Action, ScenarioError> {
    let word = abuse.get_ref().as_str();
    let step = if word == "end" {
        AbuseStep::End
    } else if let Some((_, kind)) = AbuseKind::ALL.iter().find(|(name, _)| *name == word) {
        AbuseStep::Start(*kind)
    } else {
        let known: Vec<&str> = AbuseKind::ALL.iter().map(|(n, _)| *n).collect();
        return ctx.at(
            abuse,
            field,
            format!(
                "unknown abuse {word:?}; known: {}, or end",
                known.join(", ")
            ),
        );
    };
    if !matches!(actor, Actor::Peer(_)) {
        return ctx.at(
            abuse,
            field,
            format!(
                "abuse {word:?} is run by a provider peer, not {}",
                actor.name()
            ),
        );
    }
    Ok(Action::Abuse(step))
}

/// `if_unmet = "warning" | "observation"` with `cites = "<one of the
/// case's requirements>"`; both or neither.
fn parse_if_unmet(
    ctx: &Ctx<'_>,
    index: usize,
    spanned: &Spanned<StepFile>,
    requirements: &[Spanned<String>],
) -> Result<Option<IfUnmet>, ScenarioError> {
    let step = spanned.get_ref();
    let field = |name: &str| format!("steps[{index}].{name}");
    let (kind, cites) = match (&step.if_unmet, &step.cites) {
        (None, None) => return Ok(None),
        (Some(kind), Some(cites)) => (kind, cites),
        (Some(_), None) | (None, Some(_)) => {
            return ctx.error(
                Some(spanned.span()),
                field("if_unmet"),
                "if_unmet and cites go together: the finding must cite a requirement",
            );
        }
    };
    let Some(kind) = FindingKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind.get_ref())
    else {
        return ctx.at(
            kind,
            field("if_unmet"),
            format!(
                "if_unmet is {:?}; use \"warning\" or \"observation\"",
                kind.get_ref()
            ),
        );
    };
    if !requirements.iter().any(|r| r.get_ref() == cites.get_ref()) {
        return ctx.at(
            cites,
            field("cites"),
            format!(
                "cites {:?}, which is not among the case's requirements",
                cites.get_ref()
            ),
        );
    }
    Ok(Some(IfUnmet {
        kind,
        cites: cites.get_ref().clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn providers() -> Vec<String> {
        vec!["messenger".into(), "yahoo".into(), "aol".into()]
    }

    const GOOD: &str = r#"id = "messenger.im.inbound"
title = "t"
requirements = ["IM-01"]
providers = ["messenger"]

[[steps]]
actor = "messenger"
send = """
MESSAGE sip:{user.lync}@{sut.domain} SIP/2.0
Content-Length: {content_length}
"""

[[steps]]
actor = "pool"
expect = "request MESSAGE"
has_headers = ["Record-Route"]

[[steps]]
actor = "pool"
reply = 200

[[steps]]
actor = "messenger"
expect = "response 2xx"
"#;

    #[test]
    fn good_case_loads() {
        let case = parse_case(Path::new("g.toml"), GOOD, &providers()).expect("loads");
        assert_eq!(case.steps.len(), 4);
        assert_eq!(
            case.steps[1].line, 13,
            "a step's line is its [[steps]] header"
        );
        assert_eq!(
            case.steps[3].action,
            Action::Expect(MessageExpectation::Response {
                status: StatusPattern::Class(2),
                headers: vec![]
            })
        );
    }

    #[test]
    fn edge_naming_branch_bound_and_observe_rules_load() {
        let rules = "has_headers = [\"Record-Route\"]\nnames_edge = [\"Record-Route\"]\nsecure_uri = [\"Record-Route\"]\nsame_branch_as = \"INVITE\"\nvalue_at_most = { \"Max-Forwards\" = 69 }\nobserve = { has_headers = [\"Allow\"], first_value_host = { \"Record-Route\" = \"{sut.fqdn}\" }, same_connection = true }";
        let text = GOOD.replace("has_headers = [\"Record-Route\"]", rules);
        let case = parse_case(Path::new("g.toml"), &text, &providers()).expect("loads");
        let Action::Expect(MessageExpectation::Request { headers, .. }) = &case.steps[1].action
        else {
            panic!("an expect step: {:?}", case.steps[1].action)
        };
        for rule in [
            HeaderExpectation::NamesEdge("Record-Route".to_owned()),
            HeaderExpectation::SecureUri("Record-Route".to_owned()),
            HeaderExpectation::SameBranchAs("INVITE".to_owned()),
            HeaderExpectation::AtMost {
                name: "Max-Forwards".to_owned(),
                max: 69,
            },
            HeaderExpectation::Observe(Box::new(HeaderExpectation::FirstHost {
                name: "Record-Route".to_owned(),
                host: "{sut.fqdn}".to_owned(),
            })),
            HeaderExpectation::Observe(Box::new(HeaderExpectation::SameConnection)),
            HeaderExpectation::Observe(Box::new(HeaderExpectation::Present("Allow".to_owned()))),
        ] {
            assert!(headers.contains(&rule), "{rule:?} missing from {headers:?}");
        }
        for (bad, field) in [
            ("same_branch_as = \"invite\"", "steps[1].same_branch_as"),
            ("observe = {}", "steps[1].observe"),
            (
                "observe = { first_value_host = { \"Via\" = \"{no.such}\" } }",
                "steps[1].observe.first_value_host.Via",
            ),
        ] {
            let text = GOOD.replace("has_headers = [\"Record-Route\"]", bad);
            let err = parse_case(Path::new("b.toml"), &text, &providers()).unwrap_err();
            assert_eq!(err.field, field, "{err}");
        }
    }

    #[test]
    fn if_unmet_turns_a_step_into_a_finding_citing_a_case_requirement() {
        let with = |extra: &str| {
            GOOD.replace(
                "has_headers = [\"Record-Route\"]",
                &format!("has_headers = [\"Record-Route\"]\n{extra}"),
            )
        };
        let good = with("if_unmet = \"observation\"\ncites = \"IM-01\"");
        let case = parse_case(Path::new("g.toml"), &good, &providers()).expect("loads");
        assert_eq!(
            case.steps[1].if_unmet,
            Some(IfUnmet {
                kind: FindingKind::Observation,
                cites: "IM-01".to_owned()
            })
        );
        assert_eq!(case.steps[0].if_unmet, None);
        let warning = with("if_unmet = \"warning\"\ncites = \"IM-01\"");
        let case = parse_case(Path::new("g.toml"), &warning, &providers()).expect("loads");
        assert_eq!(
            case.steps[1].if_unmet.as_ref().map(|u| u.kind),
            Some(FindingKind::Warning)
        );
        for (extra, field, message) in [
            (
                "if_unmet = \"observation\"",
                "steps[1].if_unmet",
                "go together",
            ),
            ("cites = \"IM-01\"", "steps[1].if_unmet", "go together"),
            (
                "if_unmet = \"maybe\"\ncites = \"IM-01\"",
                "steps[1].if_unmet",
                "\"warning\" or \"observation\"",
            ),
            (
                "if_unmet = \"warning\"\ncites = \"FED-10\"",
                "steps[1].cites",
                "not among the case's requirements",
            ),
        ] {
            let err = parse_case(Path::new("bad.toml"), &with(extra), &providers()).unwrap_err();
            assert_eq!(err.field, field, "{extra}: {err}");
            assert!(err.to_string().contains(message), "{extra}: {err}");
            assert!(err.line >= 13, "{extra}: {err}");
        }
    }

    #[test]
    fn unknown_actor_names_file_line_and_field() {
        let bad = GOOD.replace("actor = \"pool\"\nreply", "actor = \"poool\"\nreply");
        let err = parse_case(Path::new("bad.toml"), &bad, &providers()).unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (19, "steps[2].actor"));
        assert!(
            err.to_string()
                .starts_with("bad.toml:19: field `steps[2].actor`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_is_rejected_with_its_line() {
        let bad = GOOD.replace("reply = 200", "reply = 200\ncolour = \"red\"");
        let err = parse_case(Path::new("bad.toml"), &bad, &providers()).unwrap_err();
        assert_eq!(err.field, "steps[2].colour");
        assert!(err.line >= 19, "{err}");
    }

    #[test]
    fn body_rules_and_reply_bodies_load_and_are_checked() {
        let case = GOOD
            .replace("reply = 200", "reply = 200\nreply_body = \"v=0\\n\"")
            .replace(
                "expect = \"request MESSAGE\"",
                "expect = \"request MESSAGE\"\nbody_as_sent_by = \"messenger\"",
            );
        let parsed = parse_case(Path::new("c.toml"), &case, &providers()).expect("loads");
        let has_rule = parsed.steps.iter().any(|s| {
            matches!(&s.action, Action::Expect(MessageExpectation::Request { headers, .. })
                if headers.contains(&HeaderExpectation::BodyAsSentBy("messenger".to_owned())))
        });
        let has_body = parsed.steps.iter().any(|s| {
            matches!(&s.action, Action::Reply { body: Some((t, b)), .. }
                if t == "application/sdp" && b == "v=0\n")
        });
        assert!(has_rule && has_body, "{parsed:?}");
        let stranger = case.replace(
            "body_as_sent_by = \"messenger\"",
            "body_as_sent_by = \"bob\"",
        );
        let err = parse_case(Path::new("c.toml"), &stranger, &providers()).unwrap_err();
        assert!(err.field.ends_with("body_as_sent_by"), "{err}");
        let lonely = GOOD.replace("reply = 200", "reply_body = \"v=0\"");
        assert!(parse_case(Path::new("c.toml"), &lonely, &providers()).is_err());
    }

    #[test]
    fn certificate_and_mtls_checks_load_for_peers_only() {
        for (name, kind) in CheckKind::ALL {
            // DNS checks belong to the dns actor (except the SAN one), A/V checks to av.
            // The no-malformed-inward check belongs to the pool.
            if kind == CheckKind::NothingMalformedInward {
                continue;
            }
            let peer_check = kind == CheckKind::DnsSrvTargetInSan
                || !(kind.name().starts_with("dns-")
                    || kind.name().starts_with("stun-")
                    || kind.name().starts_with("turn-")
                    || kind.name().starts_with("msturn-")
                    || kind.name().starts_with("av-")
                    || kind.name().starts_with("rtp-"));
            if !peer_check {
                continue;
            }
            // An impostor replaces a shared actor: only exclusive cases may.
            let exclusive = matches!(
                kind,
                CheckKind::RefusesImpostor(_) | CheckKind::RefusesRevokedImpostor
            );
            let text = format!(
                "id = \"edge.cert.x\"\ntitle = \"t\"\nrequirements = [\"CERT-01\"]\nproviders = [\"yahoo\"]\nexclusive = {exclusive}\n\n[[steps]]\nactor = \"yahoo\"\ncheck = \"{name}\"\n\n[[steps]]\nactor = \"pool\"\ncontrol = true\nexpect = \"request MESSAGE\"\n"
            );
            if exclusive {
                let shared = text.replace("exclusive = true", "exclusive = false");
                let err = parse_case(Path::new("c.toml"), &shared, &providers()).unwrap_err();
                assert_eq!(err.field, "exclusive", "{name}: {err}");
            }
            let case = parse_case(Path::new("c.toml"), &text, &providers()).expect(name);
            assert_eq!(case.steps[0].action, Action::Check(kind));
            assert_eq!(kind.name(), name);
            let by_pool = text.replace("actor = \"yahoo\"", "actor = \"pool\"");
            let err = parse_case(Path::new("c.toml"), &by_pool, &providers()).unwrap_err();
            assert_eq!(err.field, "steps[0].actor", "{name}: {err}");
        }
    }

    #[test]
    fn the_inward_check_is_the_pools_and_a_liveness_probe_can_be_the_control() {
        let text = "id = \"edge.robustness.x\"\ntitle = \"t\"\nrequirements = [\"SIP-10\"]\nproviders = [\"yahoo\"]\ntags = [\"robustness\"]\n\n[[steps]]\nactor = \"yahoo\"\ncontrol = true\ncheck = \"liveness-probe\"\n\n[[steps]]\nactor = \"yahoo\"\nsend_raw = \"x\"\n\n[[steps]]\nactor = \"yahoo\"\nexpect = \"refusal-or-silence\"\n\n[[steps]]\nactor = \"pool\"\ncheck = \"nothing-malformed-inward\"\n";
        let case = parse_case(Path::new("c.toml"), text, &providers()).expect("loads");
        assert_eq!(
            case.steps[2].action,
            Action::Expect(MessageExpectation::RefusalOrSilence(REFUSAL_SILENCE_WAIT))
        );
        let by_peer = text.replace("actor = \"pool\"\ncheck", "actor = \"yahoo\"\ncheck");
        let err = parse_case(Path::new("c.toml"), &by_peer, &providers()).unwrap_err();
        assert_eq!(err.field, "steps[3].actor", "{err}");
        let no_control = text.replace("control = true\n", "");
        let err = parse_case(Path::new("c.toml"), &no_control, &providers()).unwrap_err();
        assert!(err.message.contains("liveness probe"), "{err}");
    }

    #[test]
    fn unknown_variable_is_rejected() {
        let bad = GOOD.replace("{user.lync}", "{user.nobody}");
        let err = parse_case(Path::new("bad.toml"), &bad, &providers()).unwrap_err();
        assert_eq!(err.field, "steps[0].send");
        assert!(err.message.contains("user.nobody"));
    }

    #[test]
    fn bad_expect_is_rejected() {
        let bad = GOOD.replace("response 2xx", "response 2x");
        let err = parse_case(Path::new("bad.toml"), &bad, &providers()).unwrap_err();
        assert_eq!((err.field.as_str(), err.line), ("steps[3].expect", 24));
    }

    #[test]
    fn two_actions_in_one_step_are_rejected() {
        let bad = GOOD.replace("reply = 200", "reply = 200\ncheck = \"dns-srv-exists\"");
        let err = parse_case(Path::new("bad.toml"), &bad, &providers()).unwrap_err();
        assert!(err.message.contains("exactly one"), "{err}");
    }

    const AV: &str = r#"id = "av.stun.binding-udp"
title = "t"
requirements = ["AV-02"]
providers = ["messenger"]

[[steps]]
actor = "av"
check = "stun-binding-udp"
"#;

    #[test]
    fn av_actor_runs_av_checks() {
        let case = parse_case(Path::new("av.toml"), AV, &providers()).expect("loads");
        assert_eq!(case.steps[0].actor, Actor::Av);
        assert_eq!(
            case.steps[0].action,
            Action::Check(CheckKind::StunBindingUdp)
        );
    }

    #[test]
    fn av_checks_belong_to_the_av_actor_only() {
        let bad = AV.replace("actor = \"av\"", "actor = \"messenger\"");
        let err = parse_case(Path::new("av.toml"), &bad, &providers()).unwrap_err();
        assert_eq!((err.field.as_str(), err.line), ("steps[0].actor", 7));
        assert!(err.message.contains("stun-binding-udp"), "{err}");
        let bad = AV.replace(
            "check = \"stun-binding-udp\"",
            "check = \"server-certificate\"",
        );
        let err = parse_case(Path::new("av.toml"), &bad, &providers()).unwrap_err();
        assert!(err.message.contains("cannot be run by av"), "{err}");
        let bad = AV.replace("check = \"stun-binding-udp\"", "reply = 200");
        let err = parse_case(Path::new("av.toml"), &bad, &providers()).unwrap_err();
        assert!(
            err.message.contains("the av actor only runs checks"),
            "{err}"
        );
    }
}

#[cfg(test)]
#[path = "load_limits_tests.rs"]
mod limits_tests;
