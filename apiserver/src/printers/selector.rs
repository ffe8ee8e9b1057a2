//! Label sets and label selectors rendered as upstream's `labels.FormatLabels`, `metav1.FormatLabelSelector`
//! and `labels.Selector.String()` render them.

use serde_json::Value;

use super::fields;

/// `labels.FormatLabels`: "k1=v1,k2=v2" sorted by key, or "<none>" when empty.
pub(super) fn format_labels(v: &Value, path: &str) -> String {
    let mut pairs = fields::string_map(v, path);
    if pairs.is_empty() {
        return "<none>".to_string();
    }
    pairs.sort_unstable();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// Why a label selector cannot be turned into a selector.
#[derive(Debug)]
pub(super) struct InvalidSelector;

/// `metav1.LabelSelectorAsSelector(sel).String()`: "" for a missing or empty selector, else its
/// requirements sorted by key ("app=web,tier in (a,b),!legacy").
pub(super) fn selector_string(v: &Value, path: &str) -> Result<String, InvalidSelector> {
    let Some(selector) = fields::get(v, path).filter(|s| !s.is_null()) else {
        return Ok(String::new());
    };
    let mut requirements: Vec<(String, String)> = Vec::new();
    for (key, value) in fields::obj(selector, "matchLabels").into_iter().flatten() {
        let value = value.as_str().ok_or(InvalidSelector)?;
        validate_key(key)?;
        validate_value(value)?;
        requirements.push((key.clone(), format!("{key}={value}")));
    }
    for expr in fields::arr(selector, "matchExpressions") {
        let key = fields::str(expr, "key");
        validate_key(key)?;
        let mut values = Vec::new();
        for value in fields::arr(expr, "values") {
            let value = value.as_str().ok_or(InvalidSelector)?;
            validate_value(value)?;
            values.push(value);
        }
        values.sort_unstable();
        let rendered = match fields::str(expr, "operator") {
            "In" | "NotIn" if values.is_empty() => return Err(InvalidSelector),
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" | "DoesNotExist" if !values.is_empty() => return Err(InvalidSelector),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return Err(InvalidSelector),
        };
        requirements.push((key.to_string(), rendered));
    }
    // Upstream sorts requirements by key; a stable sort keeps matchLabels ahead of expressions on ties.
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(requirements.into_iter().map(|(_, r)| r).collect::<Vec<_>>().join(","))
}

/// `metav1.FormatLabelSelector`: the selector string, "<none>" when it selects by nothing, "<error>"
/// when it is invalid.
pub(super) fn format_label_selector(v: &Value, path: &str) -> String {
    match selector_string(v, path) {
        Ok(s) if s.is_empty() => "<none>".to_string(),
        Ok(s) => s,
        Err(InvalidSelector) => "<error>".to_string(),
    }
}

/// A label key is a qualified name: an optional DNS-subdomain prefix and "/", then a name.
fn validate_key(key: &str) -> Result<(), InvalidSelector> {
    let name = match key.split_once('/') {
        Some((prefix, name)) => {
            if !is_dns_subdomain(prefix) {
                return Err(InvalidSelector);
            }
            name
        }
        None => key,
    };
    if name.is_empty() || !is_label_name(name) {
        return Err(InvalidSelector);
    }
    Ok(())
}

/// A label value is empty or a label name.
fn validate_value(value: &str) -> Result<(), InvalidSelector> {
    if value.is_empty() || is_label_name(value) { Ok(()) } else { Err(InvalidSelector) }
}

/// At most 63 of `[A-Za-z0-9_.-]`, starting and ending alphanumeric.
fn is_label_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// RFC 1123 subdomain: dot-separated lowercase labels of `[a-z0-9-]`, each starting and ending
/// alphanumeric, at most 253 characters in all.
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && is_lower_alnum(b[0])
                && is_lower_alnum(b[b.len() - 1])
                && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        })
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}
