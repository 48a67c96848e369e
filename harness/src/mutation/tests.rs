//! The generated set against the real catalogue: every planned mutation
//! applies, and the class it claims is how the wire framer and validator
//! (the reference Edge's parser) meet its bytes.

use picharness_wire::sip::{
    DEFAULT_MAX_MESSAGE_SIZE, Frame, Severity, SipMessage, StreamDecoder, validate_stream,
};

use super::*;
use crate::catalogue::{default_scenarios_dir, load_catalogue};
use crate::scenario::{Action, TemplateVars, render_message};

fn vars() -> TemplateVars {
    let mut vars = TemplateVars::default();
    for (name, value) in [
        ("user.lync", "bob"),
        ("user.peer", "alice"),
        ("sut.domain", "contoso.test"),
        ("sut.fqdn", "sip.contoso.test"),
        ("peer.domain", "hotmail.test"),
        ("local.fqdn", "sip.messenger.test"),
        ("branch", "z9hG4bK-1"),
        ("tag", "t1"),
        ("call_id", "c1@x"),
    ] {
        vars.set(name, value);
    }
    vars
}

/// How the reference Edge's parser meets `bytes`.
fn parsed_class(bytes: &[u8]) -> Result<Class, String> {
    let mut decoder = StreamDecoder::new(DEFAULT_MAX_MESSAGE_SIZE);
    decoder.push(bytes);
    match decoder.next_frame() {
        Err(_) => Ok(Class::Framing),
        Ok(None) => Err("the message does not end".to_owned()),
        Ok(Some(Frame::Message(message))) => match SipMessage::parse(&message) {
            Err(_) => Ok(Class::Framing),
            Ok(message) => {
                let errors: Vec<String> = validate_stream(&message)
                    .into_iter()
                    .filter(|f| f.severity == Severity::Error)
                    .map(|f| f.to_string())
                    .collect();
                if errors.is_empty() {
                    Err("the validator finds no error".to_owned())
                } else {
                    Ok(Class::Syntax)
                }
            }
        },
        Ok(Some(other)) => Err(format!("frames as {other:?}")),
    }
}

#[test]
fn every_planned_mutation_is_generated_from_the_catalogue_with_its_class() {
    let catalogue = load_catalogue(&default_scenarios_dir()).expect("catalogue loads");
    let generated: Vec<_> = catalogue
        .cases
        .iter()
        .filter(|c| c.id.starts_with(ID_PREFIX))
        .collect();
    assert_eq!(generated.len(), PLAN.len());
    let mut wrong = Vec::new();
    for planned in PLAN {
        let id = case_id(*planned);
        let case = generated
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("{id} generated"));
        let Some(template) = case.steps.iter().find_map(|s| match &s.action {
            Action::Send { template, .. } => Some(template),
            _ => None,
        }) else {
            panic!("{id} sends");
        };
        let bytes = render_message(template, &vars());
        match parsed_class(&bytes) {
            Ok(found) if found == class(*planned) => {}
            found => wrong.push(format!(
                "{id}: claims {:?}, parser says {found:?}: {:?}",
                class(*planned),
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn ids_are_unique_and_well_formed() {
    let mut ids: Vec<String> = PLAN.iter().map(|p| case_id(*p)).collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count);
    assert!((50..=150).contains(&count), "{count} mutations");
    for id in &ids {
        assert!(
            id.split('.').all(|part| !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')),
            "{id}"
        );
    }
    let syntax = ids_of_class(Class::Syntax).len();
    let framing = ids_of_class(Class::Framing).len();
    assert_eq!(syntax + framing, count);
}
