use super::*;

const MESSAGE: &str = "MESSAGE sip:{user.lync}@{sut.domain} SIP/2.0
Via: SIP/2.0/TLS {local.fqdn}:5061;branch={branch}
Max-Forwards: 70
From: <sip:{user.peer}@{peer.domain}>;tag={tag}
To: <sip:{user.lync}@{sut.domain}>
Call-ID: {call_id}
CSeq: 1 MESSAGE
Content-Type: text/plain; charset=UTF-8
Content-Length: {content_length}

Hello.
";

fn mutate(target: Target, op: Op) -> Mutated {
    apply(MESSAGE, target, op, &mut Rng::for_id("test")).expect("applies")
}

fn line<'a>(mutated: &'a Mutated, prefix: &str) -> Vec<&'a str> {
    mutated
        .template
        .lines()
        .filter(|l| l.starts_with(prefix))
        .collect()
}

#[test]
fn letters_replace_a_number_and_keep_the_rest() {
    let m = mutate(Target::Header("cseq"), Op::Letters);
    assert_eq!(line(&m, "CSeq:"), ["CSeq: one MESSAGE"]);
    let m = mutate(Target::Header("max-forwards"), Op::Letters);
    assert_eq!(line(&m, "Max-Forwards:"), ["Max-Forwards: seventy"]);
    assert!(m.template.ends_with("\n\nHello.\n"), "{}", m.template);
}

#[test]
fn empty_leaves_the_name_alone() {
    let m = mutate(Target::Header("call-id"), Op::Empty);
    assert_eq!(line(&m, "Call-ID"), ["Call-ID:"]);
    let m = mutate(Target::RequestUri, Op::Empty);
    assert!(
        m.template.starts_with("MESSAGE  SIP/2.0\n"),
        "{}",
        m.template
    );
}

#[test]
fn a_byte_is_never_put_inside_a_variable() {
    for id in 0..200 {
        let mut rng = Rng::for_id(&format!("id{id}"));
        for target in [
            Target::RequestUri,
            Target::Header("from"),
            Target::Header("content-length"),
        ] {
            let m = apply(MESSAGE, target, Op::Nul, &mut rng).expect("applies");
            for variable in [
                "{user.lync}",
                "{sut.domain}",
                "{user.peer}",
                "{peer.domain}",
                "{tag}",
                "{content_length}",
            ] {
                let expected = MESSAGE.matches(variable).count();
                assert_eq!(
                    m.template.matches(variable).count(),
                    expected,
                    "{variable} in {}",
                    m.template
                );
            }
            assert_eq!(m.template.matches('\0').count(), 1);
        }
    }
}

#[test]
fn a_control_byte_is_a_control_byte() {
    let m = mutate(Target::Header("via"), Op::Ctl);
    let via = line(&m, "Via:")[0];
    assert!(
        via.chars().any(|c| c.is_ascii_control() && c != '\t'),
        "{via:?}"
    );
    assert!(!via.contains(['\r', '\n', '\t']));
}

#[test]
fn format_strings_go_where_a_percent_cannot() {
    let m = mutate(Target::Header("from"), Op::Format);
    assert_eq!(
        line(&m, "From:"),
        [format!("From: <sip:{FORMAT_TOKENS}@{{peer.domain}}>;tag={{tag}}").as_str()]
    );
    let m = mutate(Target::Header("via"), Op::Format);
    assert_eq!(
        line(&m, "Via:"),
        [format!("Via: SIP/2.0/TLS {FORMAT_TOKENS}:5061;branch={{branch}}").as_str()]
    );
    let options = "OPTIONS sip:{sut.fqdn} SIP/2.0\nCSeq: 1 OPTIONS\n";
    let m = apply(
        options,
        Target::RequestUri,
        Op::Format,
        &mut Rng::for_id("x"),
    )
    .expect("applies");
    assert!(
        m.template
            .starts_with(&format!("OPTIONS sip:{FORMAT_TOKENS}@{{sut.fqdn}} SIP/2.0"))
    );
}

#[test]
fn nesting_goes_deep_inside_the_brackets() {
    let m = mutate(Target::Header("to"), Op::Nesting);
    let to = line(&m, "To:")[0];
    assert!(
        to.starts_with("To: <sip:{user.lync}@{sut.domain};x-nest=<sip:n255@"),
        "{to}"
    );
    assert_eq!(to.matches('<').count(), NESTING_DEPTH + 1);
    assert!(to.ends_with(">>"));
}

#[test]
fn a_duplicate_differs_from_the_first() {
    let m = mutate(Target::Header("cseq"), Op::Duplicate);
    assert_eq!(line(&m, "CSeq:"), ["CSeq: 1 MESSAGE", "CSeq: 2 MESSAGE"]);
    let m = mutate(Target::Header("content-length"), Op::Duplicate);
    assert_eq!(
        line(&m, "Content-Length:"),
        ["Content-Length: {content_length}", "Content-Length: 0"]
    );
}

#[test]
fn overlong_numbers_have_their_digits() {
    let m = mutate(Target::Header("cseq"), Op::Overlong);
    let cseq = line(&m, "CSeq:")[0];
    let number = cseq["CSeq: ".len()..].split(' ').next().expect("number");
    assert_eq!(number.len(), OVERLONG_DIGITS);
    assert!(!number.starts_with('0'));
    assert!(cseq.ends_with(" MESSAGE"));
}

#[test]
fn the_same_id_gives_the_same_bytes_and_another_id_may_not() {
    let a = apply(
        MESSAGE,
        Target::Header("to"),
        Op::Ctl,
        &mut Rng::for_id("same"),
    )
    .expect("a");
    let b = apply(
        MESSAGE,
        Target::Header("to"),
        Op::Ctl,
        &mut Rng::for_id("same"),
    )
    .expect("b");
    assert_eq!(a, b);
    let differ = (0..50).any(|i| {
        apply(
            MESSAGE,
            Target::Header("to"),
            Op::Ctl,
            &mut Rng::for_id(&format!("other{i}")),
        )
        .expect("c")
            != a
    });
    assert!(differ);
}

#[test]
fn a_mutation_that_does_not_apply_says_so() {
    let mut rng = Rng::for_id("x");
    assert!(apply(MESSAGE, Target::Header("expires"), Op::Empty, &mut rng).is_err());
    assert!(apply(MESSAGE, Target::Header("call-id"), Op::Letters, &mut rng).is_err());
    assert!(
        apply(
            MESSAGE,
            Target::Header("content-type"),
            Op::Duplicate,
            &mut rng
        )
        .is_err()
    );
}
