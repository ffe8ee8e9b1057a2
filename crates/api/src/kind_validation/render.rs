//! Values as upstream prints them in field errors: Go's `%#v` of the internal types
//! (`map[string]string{"a":"b"}`, `intstr.IntOrString{Type:1, IntVal:0, StrVal:"5%"}`,
//! `v1.LabelSelector{…}`), `time.Time.String()` for timestamps, and `null` for nil
//! pointers.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::validation::{BadValue, go_quote};

/// A value already rendered the way upstream prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Raw(pub String);

impl BadValue for Raw {
    fn render(&self) -> String {
        self.0.clone()
    }
}

/// Go's `%#v` of a `map[string]string` (keys sorted, as `fmt` prints maps);
/// a nil map is `map[string]string(nil)`.
pub(crate) fn string_map(map: Option<&BTreeMap<String, String>>) -> Raw {
    let Some(map) = map else {
        return Raw("map[string]string(nil)".into());
    };
    let entries: Vec<String> = map.iter().map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v))).collect();
    Raw(format!("map[string]string{{{}}}", entries.join(", ")))
}

/// Go's `%#v` of a `[]string`; nil is `[]string(nil)`.
pub(crate) fn string_slice(values: Option<&[String]>) -> Raw {
    match values {
        None => Raw("[]string(nil)".into()),
        Some(values) => Raw(values.to_vec().render()),
    }
}

/// Go's `%#v` of a `[]int32`.
pub(crate) fn int32_slice(values: &[i32]) -> Raw {
    let items: Vec<String> = values.iter().map(i32::to_string).collect();
    Raw(format!("[]int32{{{}}}", items.join(", ")))
}

/// Go's `%#v` of an `intstr.IntOrString` (an absent value is the zero `Int` 0).
pub(crate) fn int_or_string(value: Option<&IntOrString>) -> Raw {
    Raw(match value {
        None => "intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}".into(),
        Some(IntOrString::Int(i)) => format!("intstr.IntOrString{{Type:0, IntVal:{i}, StrVal:\"\"}}"),
        Some(IntOrString::String(s)) => format!("intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}", go_quote(s)),
    })
}

/// A `*metav1.LabelSelector` as a field error prints it: `null` when nil, else the
/// dereferenced struct in `%#v`.
pub(crate) fn label_selector(selector: Option<&LabelSelector>) -> Raw {
    let Some(selector) = selector else {
        return Raw("null".into());
    };
    let expressions = match &selector.match_expressions {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(list) => {
            let items: Vec<String> = list
                .iter()
                .map(|r| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        go_quote(&r.key),
                        go_quote(&r.operator),
                        string_slice(r.values.as_deref()).0
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
    };
    Raw(format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{}}}",
        string_map(selector.match_labels.as_ref()).0,
        expressions
    ))
}

/// A `metav1.Time` as `time.Time.String()` prints it (`2024-01-02 03:04:05 +0000 UTC`);
/// the zero time when unset.
pub(crate) fn time(value: Option<&Time>) -> Raw {
    match value {
        None => Raw("0001-01-01 00:00:00 +0000 UTC".into()),
        Some(t) => Raw(t.0.strftime("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()),
    }
}

/// A `*metav1.Time`: `null` when nil.
pub(crate) fn time_ptr(value: Option<&Time>) -> Raw {
    match value {
        None => Raw("null".into()),
        Some(_) => time(value),
    }
}

/// A pointer to a primitive: `null` when nil, else the value as `%v`/`%q` prints it.
pub(crate) fn ptr<T: BadValue>(value: Option<T>) -> Raw {
    match value {
        None => Raw("null".into()),
        Some(v) => Raw(v.render()),
    }
}

/// A struct upstream prints with `%#v` that this crate does not reproduce field by
/// field: rendered as its JSON, which names the same fields and values.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> Raw {
    Raw(serde_json::to_string(value).unwrap_or_else(|_| "{}".into()))
}
