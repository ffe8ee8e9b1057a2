//! Unit tests for `validation`.

use super::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

fn meta() -> ObjectMeta {
    ObjectMeta { name: Some("good".into()), namespace: Some("default".into()), ..Default::default() }
}

fn messages(errs: &ErrorList) -> Vec<String> {
    errs.iter().map(|e| e.to_string()).collect()
}

#[test]
fn display_matches_upstream_error_string() {
    let e = FieldError::invalid("metadata.name", "Foo", SUBDOMAIN_MSG);
    assert_eq!(e.to_string(), format!("metadata.name: Invalid value: \"Foo\": {SUBDOMAIN_MSG}"));
    let e = FieldError::required("metadata.name", "name or generateName is required");
    assert_eq!(e.to_string(), "metadata.name: Required value: name or generateName is required");
    assert_eq!(FieldError::required("metadata.namespace", "").to_string(), "metadata.namespace: Required value");
    assert_eq!(
        FieldError::forbidden("metadata.namespace", "not allowed on this type").to_string(),
        "metadata.namespace: Forbidden: not allowed on this type"
    );
    assert_eq!(
        FieldError::too_long("metadata.annotations", 262144).to_string(),
        "metadata.annotations: Too long: may not be more than 262144 bytes"
    );
    assert_eq!(FieldError::too_long("x", 1).to_string(), "x: Too long: may not be more than 1 byte");
    assert_eq!(FieldError::too_long_unbounded("x").to_string(), "x: Too long: value is too long");
    assert_eq!(
        FieldError::not_supported("spec.restartPolicy", "Sometimes", &["Always", "Never", "OnFailure"]).to_string(),
        "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"Never\", \"OnFailure\""
    );
    assert_eq!(
        FieldError::not_supported::<&str>("x", "y", &[]).to_string(),
        "x: Unsupported value: \"y\"",
        "no valid values means no detail"
    );
    assert_eq!(
        FieldError::duplicate("spec.containers[1].name", "app").to_string(),
        "spec.containers[1].name: Duplicate value: \"app\""
    );
    assert_eq!(FieldError::not_found("spec.x", "y").to_string(), "spec.x: Not found: \"y\"");
    assert_eq!(
        FieldError::too_many("spec.items", Some(5), Some(3)).to_string(),
        "spec.items: Too many: 5: must have at most 3 items"
    );
    assert_eq!(FieldError::too_many("spec.items", None, None).to_string(), "spec.items: Too many: has too many items");
    assert_eq!(FieldError::internal("metadata.name", "boom").to_string(), "metadata.name: Internal error: boom");
    assert_eq!(
        FieldError::invalid("spec.replicas", -1i32, "must be greater than or equal to 0").to_string(),
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
    assert_eq!(FieldError::invalid("spec.x", true, "").to_string(), "spec.x: Invalid value: true");
    assert_eq!(FieldError::invalid_value_omitted("a", "b").to_string(), "a: Invalid value: b");
}

#[test]
fn reasons_are_metav1_cause_types() {
    let cases = [
        (FieldError::invalid("f", "v", ""), "FieldValueInvalid"),
        (FieldError::required("f", ""), "FieldValueRequired"),
        (FieldError::duplicate("f", "v"), "FieldValueDuplicate"),
        (FieldError::not_found("f", "v"), "FieldValueNotFound"),
        (FieldError::not_supported::<&str>("f", "v", &[]), "FieldValueNotSupported"),
        (FieldError::forbidden("f", ""), "FieldValueForbidden"),
        (FieldError::too_long("f", 3), "FieldValueTooLong"),
        (FieldError::too_many("f", None, Some(1)), "FieldValueTooMany"),
        (FieldError::internal("f", "x"), "InternalError"),
    ];
    for (err, reason) in cases {
        assert_eq!(err.reason(), reason, "reason of {err}");
    }
}

#[test]
fn body_omits_field_path() {
    let e = FieldError::invalid("metadata.name", "a", "bad");
    assert_eq!(e.body(), "Invalid value: \"a\": bad");
}

#[test]
fn values_are_go_quoted() {
    assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
    assert_eq!(go_quote("tab\there\n"), r#""tab\there\n""#);
    assert_eq!(go_quote("\u{1}\u{7f}"), r#""\x01\x7f""#);
    assert_eq!(go_quote("é日本"), "\"é日本\"");
    assert_eq!(go_quote("\u{ad}\u{feff}"), r#""\u00ad\ufeff""#);
    assert_eq!(go_quote("\u{f0000}"), r#""\U000f0000""#);
    assert_eq!(go_quote("\u{a0}"), r#""\u00a0""#);
    assert_eq!(vec!["orphan".to_string(), "x".to_string()].render(), r#"[]string{"orphan", "x"}"#);
}

#[test]
fn aggregate_joins_and_dedups() {
    assert_eq!(aggregate_message(&[]), "");
    let a = FieldError::required("a", "");
    let b = FieldError::required("b", "");
    assert_eq!(aggregate_message(std::slice::from_ref(&a)), "a: Required value");
    assert_eq!(aggregate_message(&[a.clone(), b, a]), "[a: Required value, b: Required value]");
}

#[test]
fn dns1123_label_rules_and_messages() {
    for ok in ["a", "0", "my-name", "123-abc", "a-1-b", &"a".repeat(63)] {
        assert!(is_dns1123_label(ok).is_empty(), "{ok:?} should be a valid label");
    }
    assert_eq!(is_dns1123_label("Foo"), vec![LABEL_MSG.to_string()]);
    assert_eq!(is_dns1123_label(""), vec![LABEL_MSG.to_string()]);
    assert_eq!(is_dns1123_label("-a"), vec![LABEL_MSG.to_string()]);
    assert_eq!(is_dns1123_label("a-"), vec![LABEL_MSG.to_string()]);
    assert_eq!(is_dns1123_label("a.b"), vec!["must not contain dots".to_string()]);
    assert_eq!(is_dns1123_label(&"a".repeat(64)), vec!["must be no more than 63 characters".to_string()]);
    assert_eq!(
        is_dns1123_label(&format!("{}_", "a".repeat(64))),
        vec!["must be no more than 63 characters".to_string(), LABEL_MSG.to_string()]
    );
}

#[test]
fn dns1123_subdomain_rules_and_messages() {
    let label63 = "a".repeat(63);
    let max = format!("{label63}.{label63}.{label63}.{}", "a".repeat(61));
    assert_eq!(max.len(), 253);
    for ok in ["a", "example.com", "a-b.c-d", "0.0", max.as_str()] {
        assert!(is_dns1123_subdomain(ok).is_empty(), "{ok:?} should be a valid subdomain");
    }
    for bad in ["", "A", ".a", "a.", "a..b", "a_b", "-a.b", "a.-b", "ü"] {
        assert_eq!(is_dns1123_subdomain(bad), vec![SUBDOMAIN_MSG.to_string()], "{bad:?}");
    }
    let too_long = format!("{max}a");
    assert_eq!(is_dns1123_subdomain(&too_long), vec!["must be no more than 253 characters".to_string()]);
}

#[test]
fn dns1035_label_rules_and_messages() {
    assert!(is_dns1035_label("my-name").is_empty());
    assert!(is_dns1035_label("abc-123").is_empty());
    assert_eq!(is_dns1035_label("1abc"), vec![DNS1035_MSG.to_string()]);
    assert_eq!(is_dns1035_label("a.b"), vec![DNS1035_MSG.to_string()]);
    assert_eq!(is_dns1035_label(&"a".repeat(64)), vec!["must be no more than 63 characters".to_string()]);
}

#[test]
fn qualified_name_rules_and_messages() {
    for ok in ["a", "MyName", "my.name", "123-abc", "example.com/MyName", "a/b", &"a".repeat(63)] {
        assert!(is_qualified_name(ok).is_empty(), "{ok:?} should be a qualified name");
    }
    assert_eq!(is_qualified_name(""), vec!["name part must be non-empty".to_string(), NAME_PART_MSG.to_string()]);
    assert_eq!(is_qualified_name("a_"), vec![NAME_PART_MSG.to_string()]);
    assert_eq!(is_qualified_name(&"a".repeat(64)), vec!["name part must be no more than 63 characters".to_string()]);
    assert_eq!(is_qualified_name("/a"), vec!["prefix part must be non-empty".to_string()]);
    assert_eq!(is_qualified_name("Example.com/a"), vec![format!("prefix part {SUBDOMAIN_MSG}")]);
    assert_eq!(
        is_qualified_name("example.com/"),
        vec!["name part must be non-empty".to_string(), NAME_PART_MSG.to_string()]
    );
    assert_eq!(
        is_qualified_name("a/b/c"),
        vec!["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_string()]
    );
    // The prefix may be as long as a subdomain, only the name part is limited to 63.
    let prefix = format!("{}.com", "a".repeat(60));
    assert!(is_qualified_name(&format!("{prefix}/{}", "b".repeat(63))).is_empty());
}

#[test]
fn label_value_rules_and_messages() {
    for ok in ["", "a", "MyValue", "my_value", "12345", "a.b-c_d", &"v".repeat(63)] {
        assert!(is_valid_label_value(ok).is_empty(), "{ok:?} should be a label value");
    }
    for bad in ["-a", "a-", "a b", "a/b", "ä"] {
        assert_eq!(is_valid_label_value(bad), vec![LABEL_VALUE_MSG.to_string()], "{bad:?}");
    }
    assert_eq!(is_valid_label_value(&"v".repeat(64)), vec!["must be no more than 63 characters".to_string()]);
}

#[test]
fn path_segment_names() {
    assert!(is_path_segment_name("system:admin").is_empty());
    assert_eq!(is_path_segment_name("."), vec!["may not be '.'".to_string()]);
    assert_eq!(is_path_segment_name(".."), vec!["may not be '..'".to_string()]);
    assert_eq!(
        is_path_segment_name("a/b%c"),
        vec!["may not contain '/'".to_string(), "may not contain '%'".to_string()]
    );
    assert!(is_path_segment_prefix("..").is_empty(), "a prefix may be '..'");
}

#[test]
fn labels_report_key_and_value_at_the_map_path() {
    let labels = BTreeMap::from([("a_".to_string(), "ok".to_string()), ("k".to_string(), "-bad".to_string())]);
    assert_eq!(
        messages(&validate_labels(&labels, "metadata.labels")),
        vec![
            format!("metadata.labels: Invalid value: \"a_\": {NAME_PART_MSG}"),
            format!("metadata.labels: Invalid value: \"-bad\": {LABEL_VALUE_MSG}"),
        ]
    );
}

#[test]
fn annotation_keys_are_case_insensitive_and_size_limited() {
    let ok = BTreeMap::from([("Example.COM/Key".to_string(), "anything at all!".to_string())]);
    assert!(validate_annotations(&ok, "metadata.annotations").is_empty());
    let bad = BTreeMap::from([("bad key".to_string(), String::new())]);
    let errs = validate_annotations(&bad, "metadata.annotations");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].bad_value.as_deref(), Some("\"bad key\""), "original key reported");

    let key = "k".to_string();
    let at_limit = BTreeMap::from([(key.clone(), "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES - key.len()))]);
    assert!(validate_annotations(&at_limit, "metadata.annotations").is_empty(), "exactly 256 KiB is allowed");
    let over = BTreeMap::from([(key.clone(), "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_BYTES - key.len() + 1))]);
    assert_eq!(
        messages(&validate_annotations(&over, "metadata.annotations")),
        vec!["metadata.annotations: Too long: may not be more than 262144 bytes".to_string()]
    );
}

#[test]
fn object_name_rules() {
    assert!(validate_object_name("a.b", NameRule::Dns1123Subdomain, "metadata.name").is_empty());
    assert_eq!(
        messages(&validate_object_name("a.b", NameRule::Dns1123Label, "metadata.name")),
        vec!["metadata.name: Invalid value: \"a.b\": must not contain dots".to_string()]
    );
    assert_eq!(validate_object_name("1a", NameRule::Dns1035Label, "metadata.name").len(), 1);
    assert!(validate_object_name("system:node:x", NameRule::PathSegment, "metadata.name").is_empty());
    assert_eq!(
        messages(&validate_object_name("", NameRule::PathSegment, "metadata.name")),
        vec!["metadata.name: Required value: name or generateName is required".to_string()]
    );
    assert_eq!(
        messages(&validate_object_name("Foo", NameRule::Dns1123Subdomain, "metadata.name")),
        vec![format!("metadata.name: Invalid value: \"Foo\": {SUBDOMAIN_MSG}")]
    );
}

#[test]
fn object_meta_valid() {
    assert!(validate_object_meta(&meta(), true, NameRule::Dns1123Subdomain).is_empty());
    let cluster = ObjectMeta { name: Some("n1".into()), ..Default::default() };
    assert!(validate_object_meta(&cluster, false, NameRule::Dns1123Subdomain).is_empty());
}

#[test]
fn object_meta_requires_name_or_generate_name() {
    let m = ObjectMeta { namespace: Some("default".into()), ..Default::default() };
    assert_eq!(
        messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
        vec!["metadata.name: Required value: name or generateName is required".to_string()]
    );
    let m = ObjectMeta { generate_name: Some("web-".into()), namespace: Some("default".into()), ..Default::default() };
    assert!(validate_object_meta(&m, true, NameRule::Dns1123Subdomain).is_empty(), "trailing dash masked");
    let m = ObjectMeta { generate_name: Some("Web-".into()), namespace: Some("default".into()), ..Default::default() };
    assert_eq!(
        messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
        vec![format!("metadata.generateName: Invalid value: \"Web-\": {SUBDOMAIN_MSG}")]
    );
    // Upstream's mask drops two characters: "a.-" becomes "aa" … but "a-" becomes "a".
    assert_eq!(mask_trailing_dash("a-"), "a");
    assert_eq!(mask_trailing_dash("ab-"), "aa");
    assert_eq!(mask_trailing_dash("-"), "-");
    assert_eq!(mask_trailing_dash("é-"), "a", "never splits a character");
    let m = ObjectMeta { generate_name: Some("-".into()), namespace: Some("default".into()), ..Default::default() };
    assert_eq!(validate_object_meta(&m, true, NameRule::Dns1123Subdomain).len(), 1);
}

#[test]
fn object_meta_namespace_rules() {
    let mut m = meta();
    m.namespace = None;
    assert_eq!(
        messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
        vec!["metadata.namespace: Required value".to_string()]
    );
    m.namespace = Some("Bad".into());
    assert_eq!(
        messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
        vec![format!("metadata.namespace: Invalid value: \"Bad\": {LABEL_MSG}")]
    );
    m.namespace = Some("default".into());
    assert_eq!(
        messages(&validate_object_meta(&m, false, NameRule::Dns1123Subdomain)),
        vec!["metadata.namespace: Forbidden: not allowed on this type".to_string()]
    );
}

#[test]
fn object_meta_labels_annotations_generation() {
    let mut m = meta();
    m.labels = Some(BTreeMap::from([("app".into(), "-x".into())]));
    m.annotations = Some(BTreeMap::from([("a/b/c".into(), "".into())]));
    m.generation = Some(-1);
    let errs = validate_object_meta(&m, true, NameRule::Dns1123Subdomain);
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["metadata.generation", "metadata.labels", "metadata.annotations"]);
    assert_eq!(errs[0].to_string(), "metadata.generation: Invalid value: -1: must be greater than or equal to 0");
}

fn owner(kind: &str, name: &str, controller: Option<bool>) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: kind.into(),
        name: name.into(),
        uid: "u1".into(),
        controller,
        block_owner_deletion: None,
    }
}

#[test]
fn owner_references() {
    let mut m = meta();
    m.owner_references = Some(vec![owner("ReplicaSet", "a", Some(true)), owner("ReplicaSet", "b", Some(false))]);
    assert!(validate_object_meta(&m, true, NameRule::Dns1123Subdomain).is_empty());

    m.owner_references = Some(vec![owner("ReplicaSet", "a", Some(true)), owner("StatefulSet", "b", Some(true))]);
    assert_eq!(
        messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
        vec!["metadata.ownerReferences: Invalid value: Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/a and StatefulSet/b".to_string()]
    );

    let empty = OwnerReference::default();
    assert_eq!(
        messages(&validate_owner_references(&[empty], "metadata.ownerReferences")),
        vec![
            "metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty".to_string(),
            "metadata.ownerReferences.kind: Invalid value: \"\": must not be empty".to_string(),
            "metadata.ownerReferences.name: Invalid value: \"\": must not be empty".to_string(),
            "metadata.ownerReferences.uid: Invalid value: \"\": must not be empty".to_string(),
        ]
    );
    let mut r = owner("Event", "e", None);
    r.api_version = "v1".into();
    assert_eq!(
        messages(&validate_owner_references(&[r], "p")),
        vec!["p: Invalid value: /v1, Kind=Event is disallowed from being an owner".to_string()]
    );
    let mut r = owner("X", "x", None);
    r.api_version = "a/b/c".into();
    assert_eq!(validate_owner_references(&[r], "p").len(), 1, "malformed apiVersion has no version");
    let mut r = owner("X", "x", None);
    r.api_version = "apps/".into();
    assert_eq!(validate_owner_references(&[r], "p").len(), 1, "group without version");
}

#[test]
fn finalizers() {
    let mut m = meta();
    m.finalizers = Some(vec!["kubernetes.io/pv-protection".into(), "foregroundDeletion".into()]);
    assert!(validate_object_meta(&m, true, NameRule::Dns1123Subdomain).is_empty());
    m.finalizers = Some(vec!["bad finalizer".into()]);
    assert_eq!(
        messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
        vec![format!("metadata.finalizers: Invalid value: \"bad finalizer\": {NAME_PART_MSG}")]
    );
    m.finalizers = Some(vec!["orphan".into(), "foregroundDeletion".into()]);
    assert_eq!(
        messages(&validate_object_meta(&m, true, NameRule::Dns1123Subdomain)),
        vec!["metadata.finalizers: Invalid value: []string{\"orphan\", \"foregroundDeletion\"}: finalizer orphan and foregroundDeletion cannot be both set".to_string()]
    );
}

#[test]
fn managed_fields() {
    let good = ManagedFieldsEntry {
        operation: Some("Apply".into()),
        fields_type: Some("FieldsV1".into()),
        manager: Some("kubectl".into()),
        ..Default::default()
    };
    assert!(validate_managed_fields(&[good], "metadata.managedFields").is_empty());
    let bad = ManagedFieldsEntry {
        operation: Some("Patch".into()),
        fields_type: Some("FieldsV2".into()),
        manager: Some(format!("{}\u{7}", "m".repeat(128))),
        subresource: Some("s".repeat(257)),
        ..Default::default()
    };
    let manager = format!("{}\u{7}", "m".repeat(128));
    assert_eq!(
        messages(&validate_managed_fields(&[bad], "metadata.managedFields")),
        vec![
            "metadata.managedFields[0].operation: Invalid value: \"Patch\": must be `Apply` or `Update`".to_string(),
            "metadata.managedFields[0].fieldsType: Invalid value: \"FieldsV2\": must be `FieldsV1`".to_string(),
            "metadata.managedFields[0].manager: Too long: may not be more than 128 bytes".to_string(),
            format!(
                "metadata.managedFields[0].manager: Invalid value: {}: invalid character U+0007 (at position 128)",
                go_quote(&manager)
            ),
            "metadata.managedFields[0].subresource: Too long: may not be more than 256 bytes".to_string(),
        ]
    );
}

#[test]
fn paths() {
    assert_eq!(child_path("", "metadata"), "metadata");
    assert_eq!(child_path("metadata", "name"), "metadata.name");
    assert_eq!(index_path("spec.containers", 2), "spec.containers[2]");
    assert_eq!(key_path("values[0]", "app"), "values[0][app]");
}

#[test]
fn junk_never_panics() {
    let junk =
        ["", "/", "//", "-", "-/-", ".", "..", "é", "日本/語", "\u{0}", "a/\u{ffff}", "\\", "%", "a-", "é-", "--"];
    for s in junk {
        let _ = is_dns1123_label(s);
        let _ = is_dns1123_subdomain(s);
        let _ = is_dns1035_label(s);
        let _ = is_qualified_name(s);
        let _ = is_valid_label_value(s);
        let _ = is_path_segment_name(s);
        for rule in [NameRule::Dns1123Subdomain, NameRule::Dns1123Label, NameRule::Dns1035Label, NameRule::PathSegment]
        {
            let _ = rule.check(s, true);
            let _ = rule.check(s, false);
        }
        let m = ObjectMeta {
            name: Some(s.into()),
            generate_name: Some(s.into()),
            namespace: Some(s.into()),
            labels: Some(BTreeMap::from([(s.to_string(), s.to_string())])),
            annotations: Some(BTreeMap::from([(s.to_string(), s.to_string())])),
            finalizers: Some(vec![s.to_string()]),
            ..Default::default()
        };
        for e in validate_object_meta(&m, true, NameRule::Dns1123Subdomain) {
            let _ = e.to_string();
        }
    }
}
