//! Unit tests for `field_selector`.

use super::*;
use serde_json::json;

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn parse(s: &str) -> FieldSelector {
    FieldSelector::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

fn req(field: &str, op: FieldOp, value: &str) -> FieldRequirement {
    FieldRequirement { field: field.into(), op, value: value.into() }
}

#[test]
fn empty_is_everything() {
    assert!(parse("").is_everything());
    assert!(parse(",,").is_everything());
    assert!(parse("=").is_everything(), "upstream drops a term with empty field and value");
    assert_eq!(FieldSelector::default(), FieldSelector::everything());
    assert!(parse("").matches(&fields(&[])));
    assert_eq!(parse("").to_string(), "");
}

#[test]
fn operators() {
    assert_eq!(parse("a=b").requirements(), &[req("a", FieldOp::Equals, "b")]);
    assert_eq!(parse("a==b").requirements(), &[req("a", FieldOp::Equals, "b")]);
    assert_eq!(parse("a!=b").requirements(), &[req("a", FieldOp::NotEquals, "b")]);
    assert_eq!(parse("a=").requirements(), &[req("a", FieldOp::Equals, "")]);
    assert_eq!(parse("a!=").requirements(), &[req("a", FieldOp::NotEquals, "")]);
    assert_eq!(parse("=b").requirements(), &[req("", FieldOp::Equals, "b")]);
    assert_eq!(parse("a==\\=b").requirements(), &[req("a", FieldOp::Equals, "=b")]);
    assert_eq!(parse("a!=\\=b").requirements(), &[req("a", FieldOp::NotEquals, "=b")]);
}

#[test]
fn whitespace_is_not_trimmed() {
    assert_eq!(parse(" a = b ").requirements(), &[req(" a ", FieldOp::Equals, " b ")]);
}

#[test]
fn terms_are_sorted_like_upstream() {
    let s = parse("status.phase!=Running,metadata.name=x,spec.nodeName=");
    assert_eq!(s.to_string(), "metadata.name=x,spec.nodeName=,status.phase!=Running");
}

#[test]
fn escaping() {
    assert_eq!(parse(r"a=x\,y").requirements(), &[req("a", FieldOp::Equals, "x,y")]);
    assert_eq!(parse(r"a=x\=y").requirements(), &[req("a", FieldOp::Equals, "x=y")]);
    assert_eq!(parse(r"a=x\\y").requirements(), &[req("a", FieldOp::Equals, r"x\y")]);
    assert_eq!(parse(r"a=x\\,b=c").requirements(), &[req("a", FieldOp::Equals, r"x\"), req("b", FieldOp::Equals, "c")]);
    assert_eq!(escape_value(r"a\b,c=d"), r"a\\b\,c\=d");
    let s = parse(r"a=x\,y\=z\\w,b!=\,");
    assert_eq!(s.to_string(), r"a=x\,y\=z\\w,b!=\,");
}

#[test]
fn display_round_trips() {
    for s in ["a=b", "a!=b", "a=", r"a=\,\=\\", "metadata.name=x,spec.nodeName=n1", "x=é,y!=日本"] {
        let parsed = parse(s);
        assert_eq!(parse(&parsed.to_string()), parsed, "{s:?}");
        assert_eq!(parsed.to_string().parse::<FieldSelector>(), Ok(parsed.clone()));
    }
    let built = FieldSelector::one_term_equal("metadata.name", "a,b=c");
    assert_eq!(parse(&built.to_string()), built);
}

#[test]
fn errors_carry_upstream_messages() {
    let e = FieldSelector::parse("a=b,cd").unwrap_err();
    assert_eq!(e.to_string(), "invalid selector: 'a=b,cd'; can't understand 'cd'");
    assert!(matches!(e, FieldSelectorError::InvalidTerm { position: 4, .. }), "{e:?}");

    let e = FieldSelector::parse("a=b=c").unwrap_err();
    assert_eq!(e.to_string(), "invalid field selector: unescaped character in value: 61");
    assert!(matches!(e, FieldSelectorError::UnescapedCharacter { character: '=', position: 3 }), "{e:?}");

    let e = FieldSelector::parse("a!==b").unwrap_err();
    assert_eq!(e.to_string(), "invalid field selector: unescaped character in value: 61");

    let e = FieldSelector::parse(r"x=1,a=b\n").unwrap_err();
    assert_eq!(e.to_string(), r"invalid field selector: invalid escape sequence: \n");
    assert!(matches!(e, FieldSelectorError::InvalidEscapeSequence { position: 7, .. }), "{e:?}");

    let e = FieldSelector::parse(r"a=b\").unwrap_err();
    assert_eq!(e.to_string(), r"invalid field selector: invalid escape sequence: \");
    assert!(matches!(e, FieldSelectorError::InvalidEscapeSequence { position: 3, .. }), "{e:?}");

    let e = FieldSelector::parse(r"a=\é").unwrap_err();
    assert_eq!(e.to_string(), "invalid field selector: invalid escape sequence: \\é");
}

#[test]
fn matching() {
    let f = fields(&[("metadata.name", "a"), ("status.phase", "Running")]);
    assert!(parse("metadata.name=a").matches(&f));
    assert!(!parse("metadata.name=b").matches(&f));
    assert!(parse("metadata.name!=b").matches(&f));
    assert!(!parse("metadata.name!=a").matches(&f));
    assert!(parse("metadata.name=a,status.phase==Running").matches(&f));
    assert!(!parse("metadata.name=a,status.phase=Pending").matches(&f));
    assert!(parse("spec.nodeName=").matches(&f), "a missing field is the empty string");
    assert!(!parse("spec.nodeName!=").matches(&f));
    assert!(parse("spec.nodeName!=n1").matches(&f));
}

#[test]
fn exact_match_for_index_lookups() {
    let s = parse("spec.nodeName=n1,status.phase!=Failed");
    assert_eq!(s.exact_match("spec.nodeName"), Some("n1"));
    assert_eq!(s.exact_match("status.phase"), None);
    assert_eq!(s.exact_match("metadata.name"), None);
    assert_eq!(parse("spec.nodeName==").exact_match("spec.nodeName"), Some(""));
}

#[test]
fn supported_fields_per_kind() {
    assert_eq!(supported_fields("", "ConfigMap"), vec!["metadata.name", "metadata.namespace"]);
    assert_eq!(supported_fields("apps", "ReplicaSet"), vec!["metadata.name", "metadata.namespace"]);
    assert!(supported_fields("", "Pod").contains(&"spec.hostNetwork"));
    assert_eq!(supported_fields("", "Node"), vec!["metadata.name", "spec.unschedulable"]);
    assert_eq!(supported_fields("", "Namespace"), vec!["status.phase", "metadata.name"]);
    assert!(supported_fields("", "Secret").contains(&"type"));
    assert!(supported_fields("", "ReplicationController").contains(&"status.replicas"));
    assert!(supported_fields("", "Service").contains(&"spec.clusterIP"));
    assert!(supported_fields("", "Service").contains(&"spec.type"));
    assert!(supported_fields("", "Event").contains(&"involvedObject.uid"));
    assert!(supported_fields("events.k8s.io", "Event").contains(&"regarding.name"));
    assert!(supported_fields("batch", "Job").contains(&"status.successful"));
    assert!(supported_fields("certificates.k8s.io", "CertificateSigningRequest").contains(&"spec.signerName"));
    for (group, kind) in [("", "Pod"), ("", "Event"), ("batch", "Job"), ("", "Node"), ("", "Widget")] {
        for field in supported_fields(group, kind) {
            let s = FieldSelector::one_term_equal(field, "x");
            assert!(s.validate_for(group, kind).is_ok(), "{group}/{kind} should accept {field}");
        }
    }
}

#[test]
fn unsupported_fields_use_each_kinds_upstream_message() {
    let cases = [
        (
            "",
            "ConfigMap",
            "data.x",
            "\"data.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
        ),
        (
            "apps",
            "ReplicaSet",
            "status.replicas",
            "\"status.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
        ),
        ("", "Pod", "spec.containers", "field label not supported: spec.containers"),
        ("", "Node", "metadata.namespace", "field label not supported: metadata.namespace"),
        ("", "Namespace", "metadata.namespace", "field label not supported: metadata.namespace"),
        ("batch", "Job", "status.succeeded", "field label \"status.succeeded\" not supported for Job"),
        (
            "resource.k8s.io",
            "ResourceSlice",
            "spec.pool",
            "field label not supported for resource.k8s.io/v1beta1, Kind=ResourceSlice: spec.pool",
        ),
        ("events.k8s.io", "Event", "involvedObject.name", "field label not supported: involvedObject.name"),
    ];
    for (group, kind, field, message) in cases {
        let s = parse(&format!("metadata.name=a,{field}=x"));
        let e = s.validate_for(group, kind).unwrap_err();
        assert_eq!(e.to_string(), message, "{group}/{kind} {field}");
        assert!(matches!(&e, FieldSelectorError::UnsupportedField { field: f, .. } if f == field));
    }
}

#[test]
fn pod_spec_host_is_an_alias() {
    let s = parse("spec.host=n1");
    assert!(s.validate_for("", "Pod").is_ok());
    let converted = s.convert_for("", "Pod").unwrap();
    assert_eq!(converted.to_string(), "spec.nodeName=n1");
    assert!(s.convert_for("", "Node").is_err());
}

#[test]
fn pod_fields_from_json() {
    let pod = json!({
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"nodeName": "n1", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                 "serviceAccountName": "sa", "hostNetwork": true},
        "status": {"phase": "Running", "podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}],
                   "nominatedNodeName": "n2"}
    });
    let f = object_fields("", "Pod", &pod);
    assert_eq!(
        f,
        fields(&[
            ("metadata.name", "p"),
            ("metadata.namespace", "ns"),
            ("spec.nodeName", "n1"),
            ("spec.restartPolicy", "Always"),
            ("spec.schedulerName", "default-scheduler"),
            ("spec.serviceAccountName", "sa"),
            ("spec.hostNetwork", "true"),
            ("status.phase", "Running"),
            ("status.podIP", "10.0.0.1"),
            ("status.nominatedNodeName", "n2"),
        ])
    );
    let bare = object_fields("", "Pod", &json!({"metadata": {"name": "p"}}));
    assert_eq!(bare["spec.hostNetwork"], "false");
    assert_eq!(bare["spec.nodeName"], "");
    assert_eq!(bare["metadata.namespace"], "");
    let legacy = object_fields("", "Pod", &json!({"status": {"podIP": "10.1.1.1"}}));
    assert_eq!(legacy["status.podIP"], "10.1.1.1");

    let unscheduled = parse("spec.nodeName=").convert_for("", "Pod").unwrap();
    assert!(unscheduled.matches(&bare));
    assert!(!unscheduled.matches(&f));
    let running_on_n1 = parse("spec.host=n1,status.phase=Running").convert_for("", "Pod").unwrap();
    assert!(running_on_n1.matches(&f));
}

#[test]
fn other_kinds_from_json() {
    let node = object_fields("", "Node", &json!({"metadata": {"name": "n1"}}));
    assert_eq!(node, fields(&[("metadata.name", "n1"), ("spec.unschedulable", "false")]));
    let node = object_fields("", "Node", &json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": true}}));
    assert_eq!(node["spec.unschedulable"], "true");

    let ns = object_fields("", "Namespace", &json!({"metadata": {"name": "a"}, "status": {"phase": "Terminating"}}));
    assert_eq!(ns, fields(&[("metadata.name", "a"), ("status.phase", "Terminating")]));

    let secret = object_fields("", "Secret", &json!({"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque"}));
    assert_eq!(secret["type"], "Opaque");

    let rc = object_fields("", "ReplicationController", &json!({"status": {"replicas": 3}}));
    assert_eq!(rc["status.replicas"], "3");
    assert_eq!(object_fields("", "ReplicationController", &json!({}))["status.replicas"], "0");

    let svc = object_fields("", "Service", &json!({"spec": {"clusterIP": "10.96.0.1", "type": "ClusterIP"}}));
    assert_eq!(svc["spec.clusterIP"], "10.96.0.1");
    assert_eq!(svc["spec.type"], "ClusterIP");

    let job = object_fields("batch", "Job", &json!({"status": {"succeeded": 2}}));
    assert_eq!(job["status.successful"], "2");
    assert_eq!(object_fields("batch", "Job", &json!({}))["status.successful"], "0");

    let csr = object_fields(
        "certificates.k8s.io",
        "CertificateSigningRequest",
        &json!({"metadata": {"name": "c"}, "spec": {"signerName": "kubernetes.io/kubelet-serving"}}),
    );
    assert_eq!(csr, fields(&[("metadata.name", "c"), ("spec.signerName", "kubernetes.io/kubelet-serving")]));

    let slice = object_fields(
        "resource.k8s.io",
        "ResourceSlice",
        &json!({"spec": {"nodeName": "n1", "driver": "gpu.example.com"}}),
    );
    assert_eq!(slice["spec.nodeName"], "n1");
    assert_eq!(slice["spec.driver"], "gpu.example.com");

    let cm = object_fields("", "ConfigMap", &json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"k": "v"}}));
    assert_eq!(cm, fields(&[("metadata.name", "c"), ("metadata.namespace", "d")]));
}

#[test]
fn event_fields_from_json() {
    let core = json!({
        "metadata": {"name": "e", "namespace": "d"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "d", "uid": "u", "apiVersion": "v1",
                           "resourceVersion": "7", "fieldPath": "spec.containers{c}"},
        "reason": "Started", "type": "Normal", "reportingComponent": "kubelet"
    });
    let f = object_fields("", "Event", &core);
    assert_eq!(f["involvedObject.kind"], "Pod");
    assert_eq!(f["involvedObject.fieldPath"], "spec.containers{c}");
    assert_eq!(f["reason"], "Started");
    assert_eq!(f["reportingComponent"], "kubelet");
    assert_eq!(f["source"], "kubelet", "source falls back to the reporting component");
    let with_source = json!({"source": {"component": "scheduler"}, "reportingComponent": "x"});
    assert_eq!(object_fields("", "Event", &with_source)["source"], "scheduler");
    assert!(parse("involvedObject.name=p,type=Normal").validate_for("", "Event").is_ok());
    assert!(parse("involvedObject.name=p,type=Normal").matches(&f));

    let v1 = json!({
        "metadata": {"name": "e", "namespace": "d"},
        "regarding": {"kind": "Pod", "name": "p"},
        "reason": "Started", "type": "Normal", "reportingController": "kubelet",
        "deprecatedSource": {"component": "old"}
    });
    let f = object_fields("events.k8s.io", "Event", &v1);
    assert_eq!(f["regarding.name"], "p");
    assert_eq!(f["reportingController"], "kubelet");
    assert_eq!(f["source"], "old");
    let from_core_shape = object_fields("events.k8s.io", "Event", &core);
    assert_eq!(from_core_shape["regarding.name"], "p");
    assert_eq!(from_core_shape["reportingController"], "kubelet");
    for field in supported_fields("events.k8s.io", "Event") {
        assert!(f.contains_key(field), "events.k8s.io Event field {field} has a value");
    }
}

#[test]
fn supported_fields_have_values_except_pod_ips() {
    let kinds = [
        ("", "Pod"),
        ("", "Node"),
        ("", "ReplicationController"),
        ("", "Event"),
        ("", "Namespace"),
        ("", "Secret"),
        ("", "Service"),
        ("events.k8s.io", "Event"),
        ("batch", "Job"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("resource.k8s.io", "ResourceSlice"),
        ("apps", "Deployment"),
    ];
    for (group, kind) in kinds {
        let f = object_fields(group, kind, &json!({}));
        for field in supported_fields(group, kind) {
            if field == "status.podIPs" {
                assert!(!f.contains_key(field), "upstream has no value for status.podIPs");
                continue;
            }
            assert!(f.contains_key(field), "{group}/{kind}: {field} missing");
        }
    }
}

#[test]
fn junk_never_panics() {
    let alphabet = ["a", "=", "!", ",", "\\", " ", "é", "日", "==", "!=", "\u{0}", "\u{1F600}", ".", "x"];
    let mut inputs: Vec<String> = Vec::new();
    for a in alphabet {
        for b in alphabet {
            for c in alphabet {
                inputs.push(format!("{a}{b}{c}"));
                for d in alphabet {
                    inputs.push(format!("{a}{b}{c}{d}"));
                }
            }
        }
    }
    for input in &inputs {
        match FieldSelector::parse(input) {
            Ok(parsed) => {
                let shown = parsed.to_string();
                assert_eq!(FieldSelector::parse(&shown).as_ref(), Ok(&parsed), "{input:?} via {shown:?}");
                let _ = parsed.matches(&fields(&[("a", "b")]));
                let _ = parsed.validate_for("", "Pod");
            }
            Err(e) => {
                let position = match &e {
                    FieldSelectorError::InvalidTerm { position, .. }
                    | FieldSelectorError::InvalidEscapeSequence { position, .. }
                    | FieldSelectorError::UnescapedCharacter { position, .. } => *position,
                    FieldSelectorError::UnsupportedField { .. } => 0,
                };
                assert!(position < input.len(), "{input:?}: position {position}");
                assert!(input.is_char_boundary(position));
                let _ = e.to_string();
            }
        }
    }
    for junk in [json!(null), json!([1, 2]), json!("s"), json!({"metadata": 3, "spec": {"hostNetwork": "yes"}})] {
        let _ = object_fields("", "Pod", &junk);
        let _ = object_fields("", "Event", &junk);
        let _ = object_fields("events.k8s.io", "Event", &junk);
    }
}
