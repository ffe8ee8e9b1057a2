//! Unit tests for `label_selector`.

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn sel(s: &str) -> LabelSelector {
    LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

fn err(s: &str) -> SelectorError {
    match LabelSelector::parse(s) {
        Ok(parsed) => panic!("{s:?} should not parse, got {parsed}"),
        Err(e) => e,
    }
}

const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

#[test]
fn empty_string_is_everything() {
    for s in ["", "  ", "\t\n"] {
        let parsed = sel(s);
        assert!(parsed.is_everything(), "{s:?}");
        assert!(parsed.matches(&labels(&[])));
        assert!(parsed.matches(&labels(&[("a", "b")])));
    }
    assert_eq!(LabelSelector::default(), LabelSelector::everything());
}

#[test]
fn every_operator_parses() {
    let cases: &[(&str, Operator, &[&str])] = &[
        ("a", Operator::Exists, &[]),
        ("!a", Operator::DoesNotExist, &[]),
        ("a=b", Operator::Equals, &["b"]),
        ("a==b", Operator::DoubleEquals, &["b"]),
        ("a!=b", Operator::NotEquals, &["b"]),
        ("a in (c,b)", Operator::In, &["b", "c"]),
        ("a notin (b, c)", Operator::NotIn, &["b", "c"]),
        ("a>5", Operator::GreaterThan, &["5"]),
        ("a<5", Operator::LessThan, &["5"]),
        ("a=", Operator::Equals, &[""]),
        ("a in ()", Operator::In, &[""]),
        ("a in (b,,c)", Operator::In, &["", "b", "c"]),
        ("a in (,b)", Operator::In, &["", "b"]),
        ("a in (b,)", Operator::In, &["", "b"]),
        ("a in (b,b)", Operator::In, &["b"]),
        ("a in (in,notin)", Operator::In, &["in", "notin"]),
        ("a=in", Operator::Equals, &["in"]),
    ];
    for (s, op, values) in cases {
        let parsed = sel(s);
        assert_eq!(parsed.requirements().len(), 1, "{s:?}");
        let r = &parsed.requirements()[0];
        assert_eq!(r.key, "a", "{s:?}");
        assert_eq!(r.operator, *op, "{s:?}");
        assert_eq!(r.values, values.iter().map(|v| v.to_string()).collect::<Vec<_>>(), "{s:?}");
    }
}

#[test]
fn keywords_can_be_keys() {
    let parsed = sel("in in (in),notin notin (x)");
    let keys: Vec<&str> = parsed.requirements().iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, vec!["in", "notin"]);
    assert!(sel("in").requirements()[0].operator == Operator::Exists);
}

#[test]
fn whitespace_is_free() {
    let a = sel("  x  in  ( a , b ) ,\ty != c ,\n!z , w = v ");
    let b = sel("x in (a,b),y!=c,!z,w=v");
    assert_eq!(a, b);
    assert_eq!(sel("a = b"), sel("a=b"));
    assert_eq!(sel("! a"), sel("!a"));
}

#[test]
fn requirements_are_sorted_by_key_and_display_is_canonical() {
    let parsed = sel("z=1,a in (y,x),m,!b,c notin (q),d>1,e<2,f==g,h!=i");
    assert_eq!(parsed.to_string(), "a in (x,y),!b,c notin (q),d>1,e<2,f==g,h!=i,m,z=1");
    let keys: Vec<&str> = parsed.requirements().iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, vec!["a", "b", "c", "d", "e", "f", "h", "m", "z"]);
}

#[test]
fn display_round_trips() {
    for s in [
        "a",
        "!a",
        "a=b",
        "a==b",
        "a!=b",
        "a in (b)",
        "a notin (b,c)",
        "a>1",
        "a<1",
        "a=",
        "a in ()",
        "a in (,b)",
        "example.com/app=web,tier notin (db,cache),!legacy",
        "x in (foo,,baz),y,z notin ()",
    ] {
        let parsed = sel(s);
        let shown = parsed.to_string();
        assert_eq!(sel(&shown), parsed, "{s:?} displayed as {shown:?} must parse back the same");
        assert_eq!(shown.parse::<LabelSelector>().map(|p| p.to_string()), Ok(shown.clone()));
    }
}

#[test]
fn matching_semantics() {
    let l = labels(&[("app", "web"), ("tier", "front"), ("n", "7")]);
    let empty = labels(&[]);
    let cases: &[(&str, bool, bool)] = &[
        // (selector, matches l, matches empty)
        ("app", true, false),
        ("!app", false, true),
        ("missing", false, false),
        ("!missing", true, true),
        ("app=web", true, false),
        ("app==web", true, false),
        ("app=db", false, false),
        ("app!=db", true, true),
        ("app!=web", false, true),
        ("missing!=x", true, true),
        ("app in (web,db)", true, false),
        ("app in (db)", false, false),
        ("app notin (db)", true, true),
        ("app notin (web)", false, true),
        ("missing notin (x)", true, true),
        ("n>6", true, false),
        ("n>7", false, false),
        ("n<8", true, false),
        ("n<7", false, false),
        ("app>1", false, false),
        ("app=web,tier=front", true, false),
        ("app=web,tier=back", false, false),
        ("missing=", false, false),
    ];
    for (s, on_l, on_empty) in cases {
        let parsed = sel(s);
        assert_eq!(parsed.matches(&l), *on_l, "{s:?} against {l:?}");
        assert_eq!(parsed.matches(&empty), *on_empty, "{s:?} against no labels");
        assert_eq!(parsed.matches_opt(None), *on_empty, "{s:?} against absent labels");
        assert_eq!(parsed.matches_opt(Some(&l)), *on_l);
    }
    assert!(sel("a=").matches(&labels(&[("a", "")])), "empty value matches an empty label");
}

#[test]
fn nothing_matches_nothing() {
    let n = LabelSelector::nothing();
    assert!(!n.matches(&labels(&[])));
    assert!(!n.matches_opt(None));
    assert!(!n.is_everything());
    assert!(n.is_nothing());
    assert_eq!(n.to_string(), "");
    assert_ne!(n, LabelSelector::everything());
}

#[test]
fn exact_match_lookup() {
    let parsed = sel("a=1,b in (2),c in (3,4),d!=5,e==6");
    assert_eq!(parsed.requires_exact_match("a"), Some("1"));
    assert_eq!(parsed.requires_exact_match("b"), Some("2"));
    assert_eq!(parsed.requires_exact_match("c"), None);
    assert_eq!(parsed.requires_exact_match("d"), None);
    assert_eq!(parsed.requires_exact_match("e"), Some("6"));
    assert_eq!(parsed.requires_exact_match("z"), None);
}

#[test]
fn and_keeps_order() {
    let r = Requirement::new("m", Operator::Exists, vec![]).unwrap();
    let s = sel("a,z").and(r);
    assert_eq!(s.to_string(), "a,m,z");
}

#[test]
fn parse_errors_say_what_was_found_and_where() {
    let cases: &[(&str, &str, usize)] = &[
        (",", "found ',', expected: !, identifier, or 'end of string'", 0),
        ("a,", "found '', expected: identifier after ','", 2),
        ("a,,b", "found ',', expected: identifier after ','", 2),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt", 2),
        ("a=b c", "found 'c', expected: ',' or 'end of string'", 4),
        ("!a=b", "found '=', expected: ',' or 'end of string'", 2),
        ("!", "unable to parse requirement: found '', expected: identifier", 1),
        ("!=a", "found '!=', expected: !, identifier, or 'end of string'", 0),
        ("a=(b)", "unable to parse requirement: found '(', expected: identifier", 2),
        ("a in b", "unable to parse requirement: found 'b' expected: '('", 5),
        ("a in (", "unable to parse requirement: found '', expected: ',', ')' or identifier", 6),
        ("a in (=", "unable to parse requirement: found '=', expected: ',', ')' or identifier", 6),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'", 7),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'", 8),
        ("a in (b,", "unable to parse requirement: found '', expected: ',', or identifier", 8),
        ("a in (b,=)", "unable to parse requirement: found '=', expected: ',', or identifier", 8),
        ("a in", "unable to parse requirement: found '' expected: '('", 4),
        (
            "a<-5",
            "unable to parse requirement: values[0][a]: Invalid value: \"-5\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            2,
        ),
        ("a ! b", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt", 2),
        (
            "é b",
            "unable to parse requirement: <nil>: Invalid value: \"é\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            0,
        ),
        (
            "x,é=b,y",
            "unable to parse requirement: <nil>: Invalid value: \"é\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
            2,
        ),
        (
            "a=é",
            "unable to parse requirement: values[0][a]: Invalid value: \"é\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            2,
        ),
        (
            "a>x",
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer",
            2,
        ),
        (
            "a>",
            "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer",
            2,
        ),
    ];
    for (s, upstream, position) in cases {
        let e = err(s);
        assert_eq!(e.upstream_message(), *upstream, "message for {s:?}");
        assert_eq!(e.position, *position, "position for {s:?}");
        assert_eq!(e.message, format!("{upstream} (at position {position})"), "{s:?}");
        assert_eq!(e.to_string(), e.message);
    }
}

#[test]
fn invalid_keys_and_values_use_upstream_text() {
    let e = err("a_=b");
    assert_eq!(
        e.upstream_message(),
        format!("unable to parse requirement: <nil>: Invalid value: \"a_\": {NAME_PART_MSG}")
    );
    let long = "v".repeat(64);
    let e = err(&format!("a={long}"));
    assert_eq!(
        e.upstream_message(),
        format!(
            "unable to parse requirement: values[0][a]: Invalid value: \"{long}\": must be no more than 63 characters"
        )
    );
    let e = err("a>-x-");
    assert_eq!(
        e.upstream_message(),
        format!(
            "unable to parse requirement: [values[0]: Invalid value: \"-x-\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][a]: Invalid value: \"-x-\": {LABEL_VALUE_MSG}]"
        )
    );
    assert!(LabelSelector::parse(&format!("{}=b", "k".repeat(63))).is_ok(), "63-character key");
    assert!(LabelSelector::parse(&format!("{}=b", "k".repeat(64))).is_err(), "64-character key");
    assert!(LabelSelector::parse(&format!("a={}", "v".repeat(63))).is_ok(), "63-character value");
}

#[test]
fn requirement_new_validates() {
    let e = Requirement::new("a", Operator::In, vec![]).unwrap_err();
    assert_eq!(
        e.message,
        "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
    );
    let e = Requirement::new("a", Operator::Exists, vec!["x".into()]).unwrap_err();
    assert_eq!(
        e.message,
        "values: Invalid value: []string{\"x\"}: values set must be empty for exists and does not exist"
    );
    let e = Requirement::new("a", Operator::Equals, vec!["x".into(), "y".into()]).unwrap_err();
    assert_eq!(
        e.message,
        "values: Invalid value: []string{\"x\", \"y\"}: exact-match compatibility requires one single value"
    );
    let e = Requirement::new("a", Operator::GreaterThan, vec![]).unwrap_err();
    assert_eq!(
        e.message,
        "values: Invalid value: []string(nil): for 'Gt', 'Lt' operators, exactly one value is required"
    );
    let e = Requirement::new("", Operator::Exists, vec![]).unwrap_err();
    assert_eq!(e.message, format!("key: Invalid value: \"\": name part must be non-empty; {NAME_PART_MSG}"));
    let r = Requirement::new("a", Operator::NotIn, vec!["b".into(), "a".into(), "b".into()]).unwrap();
    assert_eq!(r.values, vec!["a", "b"], "sorted and deduplicated");
    assert_eq!(r.to_string(), "a notin (a,b)");
    assert_eq!(Operator::GreaterThan.as_str(), "gt");
}

fn expr(key: &str, op: &str, values: Option<&[&str]>) -> metav1::LabelSelectorRequirement {
    metav1::LabelSelectorRequirement {
        key: key.into(),
        operator: op.into(),
        values: values.map(|v| v.iter().map(|s| s.to_string()).collect()),
    }
}

#[test]
fn from_meta_nil_is_nothing_and_empty_is_everything() {
    assert!(LabelSelector::from_meta(None).unwrap().is_nothing());
    let empty = metav1::LabelSelector::default();
    assert!(LabelSelector::from_meta(Some(&empty)).unwrap().is_everything());
    let empty_maps = metav1::LabelSelector { match_labels: Some(BTreeMap::new()), match_expressions: Some(vec![]) };
    assert!(LabelSelector::from_meta(Some(&empty_maps)).unwrap().is_everything());
}

#[test]
fn from_meta_combines_labels_and_expressions() {
    let ps = metav1::LabelSelector {
        match_labels: Some(labels(&[("app", "web")])),
        match_expressions: Some(vec![
            expr("tier", "In", Some(&["front", "edge"])),
            expr("env", "NotIn", Some(&["dev"])),
            expr("ready", "Exists", None),
            expr("legacy", "DoesNotExist", Some(&[])),
        ]),
    };
    let s = LabelSelector::from_meta(Some(&ps)).unwrap();
    assert_eq!(s.to_string(), "app=web,env notin (dev),!legacy,ready,tier in (edge,front)");
    assert!(s.matches(&labels(&[("app", "web"), ("tier", "edge"), ("ready", "")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("tier", "edge"), ("ready", ""), ("legacy", "1")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("tier", "edge"), ("ready", ""), ("env", "dev")])));
    assert_eq!(s, sel(&s.to_string()));
}

#[test]
fn from_meta_errors() {
    let bad_op =
        metav1::LabelSelector { match_expressions: Some(vec![expr("a", "Gt", Some(&["1"]))]), ..Default::default() };
    assert_eq!(
        LabelSelector::from_meta(Some(&bad_op)).unwrap_err().message,
        "\"Gt\" is not a valid pod selector operator"
    );
    let empty_in = metav1::LabelSelector { match_expressions: Some(vec![expr("a", "In", None)]), ..Default::default() };
    assert_eq!(
        LabelSelector::from_meta(Some(&empty_in)).unwrap_err().message,
        "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
    );
    let empty_notin =
        metav1::LabelSelector { match_expressions: Some(vec![expr("a", "NotIn", Some(&[]))]), ..Default::default() };
    assert!(LabelSelector::from_meta(Some(&empty_notin)).is_err());
    let exists_values = metav1::LabelSelector {
        match_expressions: Some(vec![expr("a", "Exists", Some(&["x"]))]),
        ..Default::default()
    };
    assert!(LabelSelector::from_meta(Some(&exists_values)).is_err());
    let bad_key = metav1::LabelSelector { match_labels: Some(labels(&[("a b", "c")])), ..Default::default() };
    assert!(LabelSelector::from_meta(Some(&bad_key)).unwrap_err().message.starts_with("key: Invalid value: \"a b\""));
    let bad_value = metav1::LabelSelector { match_labels: Some(labels(&[("a", "-c")])), ..Default::default() };
    assert_eq!(
        LabelSelector::from_meta(Some(&bad_value)).unwrap_err().message,
        format!("values[0][a]: Invalid value: \"-c\": {LABEL_VALUE_MSG}")
    );
    assert_eq!(LabelSelector::from_meta(Some(&bad_value)).unwrap_err().position, 0);
}

#[test]
fn from_match_labels_is_a_set_selector() {
    let s = LabelSelector::from_match_labels(&labels(&[("b", "2"), ("a", "1")]));
    assert_eq!(s.to_string(), "a=1,b=2");
    assert!(s.matches(&labels(&[("a", "1"), ("b", "2"), ("c", "3")])));
    assert!(!s.matches(&labels(&[("a", "1")])));
    assert!(LabelSelector::from_match_labels(&BTreeMap::new()).is_everything());
}

#[test]
fn junk_never_panics() {
    let alphabet = [
        "a",
        "b",
        "=",
        "!",
        "(",
        ")",
        ",",
        ">",
        "<",
        " ",
        "\t",
        "in",
        "notin",
        "é",
        "日",
        "/",
        "-",
        "_",
        ".",
        "1",
        "\u{0}",
        "\\",
        "\u{1F600}",
        "==",
        "!=",
    ];
    // Every string of up to three pieces, plus a deterministic pseudo-random sample of longer ones.
    let mut inputs: Vec<String> = Vec::new();
    for a in alphabet {
        inputs.push(a.to_string());
        for b in alphabet {
            inputs.push(format!("{a}{b}"));
            for c in alphabet {
                inputs.push(format!("{a}{b}{c}"));
            }
        }
    }
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        let mut s = String::new();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 12) as usize;
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            s.push_str(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        inputs.push(s);
    }
    for input in &inputs {
        match LabelSelector::parse(input) {
            Ok(parsed) => {
                let shown = parsed.to_string();
                let again = LabelSelector::parse(&shown).unwrap_or_else(|e| panic!("{input:?} → {shown:?}: {e}"));
                assert_eq!(again, parsed, "{input:?} round trip via {shown:?}");
                let _ = parsed.matches(&labels(&[("a", "1"), ("b", "")]));
            }
            Err(e) => {
                assert!(e.position <= input.chars().count(), "{input:?}: position {} out of range", e.position);
                assert!(!e.upstream_message().is_empty());
            }
        }
    }
}
