//! Field errors as upstream's `util/validation/field` renders them, plus the
//! Go-style quoting those messages need.

use std::fmt;

/// Why a field is invalid; one to one with `metav1.CauseType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorType {
    Invalid,
    Required,
    Duplicate,
    NotFound,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
}

impl ErrorType {
    /// The `metav1.CauseType` (`reason` of a status cause).
    pub fn reason(self) -> &'static str {
        match self {
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::NotFound => "FieldValueNotFound",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::Internal => "InternalError",
        }
    }

    /// The human phrase upstream prints for the type (`ErrorType.String()`).
    pub fn phrase(self) -> &'static str {
        match self {
            ErrorType::Invalid => "Invalid value",
            ErrorType::Required => "Required value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::NotFound => "Not found",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Internal => "Internal error",
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.phrase())
    }
}

/// One field-level validation error (upstream `field.Error`).
///
/// `bad_value` holds the value *as upstream renders it* in the message: a string
/// Go-quoted (`"Foo"`), a number bare (`-1`), a list in Go syntax
/// (`[]string{"a", "b"}`); `None` when the message carries no value. The
/// constructors do the rendering; build the struct by hand only with an
/// already rendered value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub error_type: ErrorType,
    pub field: String,
    pub bad_value: Option<String>,
    pub detail: String,
}

/// A list of field errors; empty means valid.
pub type ErrorList = Vec<FieldError>;

/// A value that can appear in a field error, rendered as upstream's `%q` / `%v`.
pub trait BadValue {
    /// The value as it appears in the message.
    fn render(&self) -> String;
}

impl BadValue for str {
    fn render(&self) -> String {
        go_quote(self)
    }
}

impl BadValue for String {
    fn render(&self) -> String {
        go_quote(self)
    }
}

impl<T: BadValue + ?Sized> BadValue for &T {
    fn render(&self) -> String {
        (**self).render()
    }
}

macro_rules! bare_bad_value {
    ($($t:ty),*) => {$(
        impl BadValue for $t {
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
bare_bad_value!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize, bool);

/// A list of strings, rendered as Go's `%#v` of a `[]string`.
impl BadValue for [String] {
    fn render(&self) -> String {
        go_string_slice(self)
    }
}

impl BadValue for Vec<String> {
    fn render(&self) -> String {
        go_string_slice(self)
    }
}

impl FieldError {
    fn new(
        error_type: ErrorType,
        field: impl Into<String>,
        bad_value: Option<String>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError { error_type, field: field.into(), bad_value, detail: detail.into() }
    }

    /// A malformed value (failed format check, out of range …).
    pub fn invalid(field: impl Into<String>, value: impl BadValue, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Invalid, field, Some(value.render()), detail)
    }

    /// Like [`FieldError::invalid`] but without the value in the message.
    pub fn invalid_value_omitted(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Invalid, field, None, detail)
    }

    /// A required value is missing.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Required, field, None, detail)
    }

    /// A value that must be unique is not.
    pub fn duplicate(field: impl Into<String>, value: impl BadValue) -> Self {
        Self::new(ErrorType::Duplicate, field, Some(value.render()), "")
    }

    /// A referenced value does not exist.
    pub fn not_found(field: impl Into<String>, value: impl BadValue) -> Self {
        Self::new(ErrorType::NotFound, field, Some(value.render()), "")
    }

    /// A value outside an enumeration; `valid` lists the accepted values.
    pub fn not_supported<S: AsRef<str>>(field: impl Into<String>, value: impl BadValue, valid: &[S]) -> Self {
        let detail = if valid.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid.iter().map(|v| go_quote(v.as_ref())).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(ErrorType::NotSupported, field, Some(value.render()), detail)
    }

    /// A well-formed value that is not allowed here.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Forbidden, field, None, detail)
    }

    /// A value longer than `max_bytes`; the value itself is never printed.
    pub fn too_long(field: impl Into<String>, max_bytes: usize) -> Self {
        let unit = if max_bytes == 1 { "byte" } else { "bytes" };
        Self::new(ErrorType::TooLong, field, None, format!("may not be more than {max_bytes} {unit}"))
    }

    /// A value that is too long, when no limit is worth stating.
    pub fn too_long_unbounded(field: impl Into<String>) -> Self {
        Self::new(ErrorType::TooLong, field, None, "value is too long")
    }

    /// A list with more than `max` items (`actual` items, when known).
    pub fn too_many(field: impl Into<String>, actual: Option<usize>, max: Option<usize>) -> Self {
        let detail = match max {
            Some(max) => format!("must have at most {max} items"),
            None => "has too many items".to_string(),
        };
        Self::new(ErrorType::TooMany, field, actual.map(|a| a.to_string()), detail)
    }

    /// A failure unrelated to the input.
    pub fn internal(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Internal, field, None, detail)
    }

    /// The `metav1.CauseType` of this error ("FieldValueInvalid", …).
    pub fn reason(&self) -> &'static str {
        self.error_type.reason()
    }

    /// The message without the field path (upstream `ErrorBody()`), as used in
    /// `status.details.causes[].message`.
    pub fn body(&self) -> String {
        let mut s = String::from(self.error_type.phrase());
        let shows_value = !matches!(
            self.error_type,
            ErrorType::Required | ErrorType::Forbidden | ErrorType::TooLong | ErrorType::Internal
        );
        if let Some(value) = self.bad_value.as_ref().filter(|_| shows_value) {
            s.push_str(": ");
            s.push_str(value);
        }
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

impl std::error::Error for FieldError {}

/// The message of a whole list, as upstream's `ErrorList.ToAggregate().Error()`:
/// one error alone, several as `[a, b]`, duplicates dropped, empty for none.
pub fn aggregate_message(errors: &[FieldError]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in errors {
        let msg = e.to_string();
        if !seen.contains(&msg) {
            seen.push(msg);
        }
    }
    match seen.len() {
        0 => String::new(),
        1 => seen.remove(0),
        _ => format!("[{}]", seen.join(", ")),
    }
}

/// `parent.child`, or `child` at the root (upstream `Path.Child`).
pub fn child_path(parent: &str, child: &str) -> String {
    if parent.is_empty() { child.to_string() } else { format!("{parent}.{child}") }
}

/// `parent[index]` (upstream `Path.Index`).
pub fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// `parent[key]` (upstream `Path.Key`).
pub fn key_path(parent: &str, key: &str) -> String {
    format!("{parent}[{key}]")
}

// ---------------------------------------------------------------------------
// Go rendering helpers
// ---------------------------------------------------------------------------

/// Go's `strconv.Quote` / `%q`: double quotes, backslash escapes, non-printable
/// characters as `\x`, `\u` or `\U` escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if go_is_print(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `strconv.IsPrint`: everything but control and
/// format characters, separators other than the ASCII space, private-use code
/// points and non-characters.
pub(crate) fn go_is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format_or_private = matches!(
        u,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0xE000..=0xF8FF
            | 0xFDD0..=0xFDEF
            | 0x110BD
            | 0x110CD
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
            | 0xF0000..
    );
    let non_character = (u & 0xFFFE) == 0xFFFE;
    !(format_or_private || non_character)
}

/// Go's `%#v` of a `[]string`.
fn go_string_slice(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}
