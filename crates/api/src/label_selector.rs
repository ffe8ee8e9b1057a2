//! Label selectors: the string grammar of `labels.Parse`, `metav1.LabelSelector`
//! conversion, and matching against an object's labels.
//!
//! Follows upstream `k8s.io/apimachinery/pkg/labels/selector.go`; error texts are
//! upstream's (a parse error additionally says at which character it stopped).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;

use crate::validation::{self, BadValue, FieldError};

/// How a requirement relates a label's value to its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `key=value`
    Equals,
    /// `key==value`
    DoubleEquals,
    /// `key!=value`; also true when the label is absent.
    NotEquals,
    /// `key in (a,b)`
    In,
    /// `key notin (a,b)`; also true when the label is absent.
    NotIn,
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>5` (integers)
    GreaterThan,
    /// `key<5` (integers)
    LessThan,
}

impl Operator {
    /// Upstream's `selection.Operator` spelling, as used in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// One clause of a selector: `key operator values`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    /// Sorted and deduplicated.
    pub values: Vec<String>,
}

/// A selector parse or conversion failure.
///
/// `message` is upstream's wording; for errors of the string parser it ends with
/// ` (at position N)`, N being the 0-based character offset where parsing stopped.
/// [`SelectorError::upstream_message`] gives the text without that suffix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectorError {
    /// 0-based character offset into the parsed string (0 for non-string input).
    pub position: usize,
    pub message: String,
}

impl SelectorError {
    fn at(input: &str, byte_offset: usize, upstream: impl Into<String>) -> Self {
        let position = input.get(..byte_offset).map_or(byte_offset, |s| s.chars().count());
        SelectorError { position, message: format!("{} (at position {position})", upstream.into()) }
    }

    fn plain(upstream: impl Into<String>) -> Self {
        SelectorError { position: 0, message: upstream.into() }
    }

    /// The message exactly as upstream's apiserver would word it.
    pub fn upstream_message(&self) -> &str {
        let suffix = format!(" (at position {})", self.position);
        self.message.strip_suffix(suffix.as_str()).unwrap_or(&self.message)
    }
}

impl Requirement {
    /// Builds a validated requirement (upstream `NewRequirement`): the key must be
    /// a qualified name and every value a label value; `In`/`NotIn` need values,
    /// the equality operators exactly one, `Exists`/`DoesNotExist` none, and
    /// `GreaterThan`/`LessThan` exactly one integer.
    pub fn new(key: impl Into<String>, operator: Operator, values: Vec<String>) -> Result<Self, SelectorError> {
        let key = key.into();
        let mut errs: Vec<FieldError> = Vec::new();
        let key_errors = validation::is_qualified_name(&key);
        if !key_errors.is_empty() {
            errs.push(FieldError::invalid("key", &key, key_errors.join("; ")));
        }
        match operator {
            Operator::In | Operator::NotIn => {
                if values.is_empty() {
                    errs.push(invalid_values(&values, "for 'in', 'notin' operators, values set can't be empty"));
                }
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
                if values.len() != 1 {
                    errs.push(invalid_values(&values, "exact-match compatibility requires one single value"));
                }
            }
            Operator::Exists | Operator::DoesNotExist => {
                if !values.is_empty() {
                    errs.push(invalid_values(&values, "values set must be empty for exists and does not exist"));
                }
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(invalid_values(&values, "for 'Gt', 'Lt' operators, exactly one value is required"));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(FieldError::invalid(
                            validation::index_path("values", i),
                            v,
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
        }
        for (i, v) in values.iter().enumerate() {
            let value_errors = validation::is_valid_label_value(v);
            if !value_errors.is_empty() {
                let path = validation::key_path(&validation::index_path("values", i), &key);
                errs.push(FieldError::invalid(path, v, value_errors.join("; ")));
            }
        }
        if !errs.is_empty() {
            return Err(SelectorError::plain(validation::aggregate_message(&errs)));
        }
        let mut values = values;
        values.sort();
        values.dedup();
        Ok(Requirement { key, operator, values })
    }

    /// Whether `labels` satisfy this requirement. `NotEquals`, `NotIn` and
    /// `DoesNotExist` hold when the label is absent; `GreaterThan`/`LessThan`
    /// need the label present and an integer.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => value.is_some_and(|v| self.has_value(v)),
            Operator::NotIn | Operator::NotEquals => value.is_none_or(|v| !self.has_value(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(actual), [wanted]) = (value, self.values.as_slice()) else {
                    return false;
                };
                let (Ok(actual), Ok(wanted)) = (actual.parse::<i64>(), wanted.parse::<i64>()) else {
                    return false;
                };
                if self.operator == Operator::GreaterThan { actual > wanted } else { actual < wanted }
            }
        }
    }

    fn has_value(&self, value: &str) -> bool {
        self.values.iter().any(|v| v == value)
    }
}

/// An invalid-values error; the values render as Go's `%#v` of the slice upstream
/// builds with `append([]string(nil), …)`, which is `[]string(nil)` when empty.
fn invalid_values(values: &[String], detail: &str) -> FieldError {
    let rendered = if values.is_empty() { "[]string(nil)".to_string() } else { values.render() };
    FieldError {
        error_type: validation::ErrorType::Invalid,
        field: "values".to_string(),
        bad_value: Some(rendered),
        detail: detail.to_string(),
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.operator {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
        };
        f.write_str(op)?;
        let set = matches!(self.operator, Operator::In | Operator::NotIn);
        if set {
            f.write_str("(")?;
        }
        f.write_str(&self.values.join(","))?;
        if set {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A label selector: the AND of its requirements, or "nothing".
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct LabelSelector {
    /// Sorted by key (stable for equal keys).
    requirements: Vec<Requirement>,
    /// Matches no object at all (a nil `metav1.LabelSelector`).
    nothing: bool,
}

impl LabelSelector {
    /// Parses the string form (`labels.Parse`); the empty string selects everything.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let tokens = lex(s);
        let mut parser = Parser { input: s, tokens, pos: 0 };
        let mut requirements = parser.parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements, nothing: false })
    }

    /// A selector matching every object.
    pub fn everything() -> Self {
        LabelSelector::default()
    }

    /// A selector matching no object.
    pub fn nothing() -> Self {
        LabelSelector { requirements: Vec::new(), nothing: true }
    }

    /// Whether this selector places no restriction at all.
    pub fn is_everything(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// Whether this is the [`LabelSelector::nothing`] selector.
    pub fn is_nothing(&self) -> bool {
        self.nothing
    }

    /// The requirements, sorted by key (empty for everything and for nothing).
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Adds a requirement (AND), keeping the requirements sorted by key.
    /// Adding to the nothing selector leaves it matching nothing.
    pub fn and(mut self, requirement: Requirement) -> Self {
        let at = self.requirements.partition_point(|r| r.key <= requirement.key);
        self.requirements.insert(at, requirement);
        self
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Like [`LabelSelector::matches`]; absent labels are an empty set.
    pub fn matches_opt(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        match labels {
            Some(labels) => self.matches(labels),
            None => self.matches(&BTreeMap::new()),
        }
    }

    /// The value `label` must have for this selector to match, when the selector
    /// pins it to exactly one (`=`, `==`, or `in` with one value); for index lookups.
    pub fn requires_exact_match(&self, label: &str) -> Option<&str> {
        let r = self.requirements.iter().find(|r| r.key == label)?;
        match (r.operator, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [value]) => Some(value),
            _ => None,
        }
    }

    /// Converts an API `LabelSelector` (upstream `LabelSelectorAsSelector`): `None`
    /// selects nothing, an empty one everything; `matchLabels` become `=`
    /// requirements and `matchExpressions` use `In`, `NotIn`, `Exists`, `DoesNotExist`.
    pub fn from_meta(selector: Option<&metav1::LabelSelector>) -> Result<Self, SelectorError> {
        let Some(selector) = selector else {
            return Ok(LabelSelector::nothing());
        };
        let match_labels = selector.match_labels.as_ref();
        let expressions = selector.match_expressions.as_deref().unwrap_or_default();
        if match_labels.is_none_or(|m| m.is_empty()) && expressions.is_empty() {
            return Ok(LabelSelector::everything());
        }
        let mut requirements = Vec::new();
        for (key, value) in match_labels.into_iter().flatten() {
            requirements.push(Requirement::new(key.clone(), Operator::Equals, vec![value.clone()])?);
        }
        for expr in expressions {
            let operator = match expr.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError::plain(format!(
                        "{} is not a valid pod selector operator",
                        validation::go_quote(other)
                    )));
                }
            };
            let values = expr.values.clone().unwrap_or_default();
            requirements.push(Requirement::new(expr.key.clone(), operator, values)?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector { requirements, nothing: false })
    }

    /// A selector requiring exactly these labels (upstream `SelectorFromSet`, as
    /// used by ReplicationControllers and Services); empty selects everything.
    /// Like upstream, the keys and values are not validated.
    pub fn from_match_labels(labels: &BTreeMap<String, String>) -> Self {
        let requirements = labels
            .iter()
            .map(|(k, v)| Requirement { key: k.clone(), operator: Operator::Equals, values: vec![v.clone()] })
            .collect();
        LabelSelector { requirements, nothing: false }
    }
}

/// The canonical string (upstream `String()`): requirements sorted by key,
/// comma separated; empty for everything — and for nothing, as upstream.
impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl FromStr for LabelSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LabelSelector::parse(s)
    }
}

// ---------------------------------------------------------------------------
// Lexer and parser, after upstream's
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    /// The literal text; empty for end of string.
    lit: String,
    /// Byte offset of the token in the input.
    start: usize,
}

fn keyword(s: &str) -> Option<Tok> {
    Some(match s {
        ")" => Tok::ClosedPar,
        "," => Tok::Comma,
        "!" => Tok::DoesNotExist,
        "==" => Tok::DoubleEquals,
        "=" => Tok::Equals,
        ">" => Tok::GreaterThan,
        "in" => Tok::In,
        "<" => Tok::LessThan,
        "!=" => Tok::NotEquals,
        "notin" => Tok::NotIn,
        "(" => Tok::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits the input into tokens, ending with `EndOfString`. Works on bytes like
/// upstream; token boundaries are always ASCII, so slices stay valid UTF-8.
fn lex(s: &str) -> Vec<Token> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut tokens = Vec::new();
    loop {
        while pos < b.len() && is_whitespace(b[pos]) {
            pos += 1;
        }
        let start = pos;
        if pos >= b.len() {
            tokens.push(Token { tok: Tok::EndOfString, lit: String::new(), start });
            return tokens;
        }
        if is_special(b[pos]) {
            // Longest run of special symbols that is still an operator.
            let mut end = pos + 1;
            while end < b.len() && is_special(b[end]) && keyword(&s[start..=end]).is_some() {
                end += 1;
            }
            let lit = &s[start..end];
            // Every single special symbol is a token, so this always succeeds.
            let tok = keyword(lit).unwrap_or(Tok::Identifier);
            tokens.push(Token { tok, lit: lit.to_string(), start });
            pos = end;
        } else {
            while pos < b.len() && !is_special(b[pos]) && !is_whitespace(b[pos]) {
                pos += 1;
            }
            let lit = &s[start..pos];
            let tok = keyword(lit).unwrap_or(Tok::Identifier);
            tokens.push(Token { tok, lit: lit.to_string(), start });
        }
    }
}

/// Where a token is read: `in`/`notin` are plain identifiers when a value is expected.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token>,
    pos: usize,
}

const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

impl Parser<'_> {
    fn token(&self, index: usize) -> &Token {
        // The last token is always EndOfString; reading past it keeps returning it.
        &self.tokens[index.min(self.tokens.len() - 1)]
    }

    fn lookahead(&self, ctx: Context) -> (Tok, String, usize) {
        let t = self.token(self.pos);
        (contextual(t.tok, ctx), t.lit.clone(), t.start)
    }

    fn consume(&mut self, ctx: Context) -> (Tok, String, usize) {
        let r = self.lookahead(ctx);
        self.pos += 1;
        r
    }

    fn error(&self, at: usize, upstream: String) -> SelectorError {
        SelectorError::at(self.input, at, upstream)
    }

    fn requirement_error(&self, at: usize, upstream: String) -> SelectorError {
        self.error(at, format!("unable to parse requirement: {upstream}"))
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            let (tok, lit, at) = self.lookahead(Context::Values);
            match tok {
                Tok::Identifier | Tok::DoesNotExist => {
                    requirements.push(self.parse_requirement()?);
                    let (t, l, at) = self.consume(Context::Values);
                    match t {
                        Tok::EndOfString => return Ok(requirements),
                        Tok::Comma => {
                            let (t2, l2, at2) = self.lookahead(Context::Values);
                            if t2 != Tok::Identifier && t2 != Tok::DoesNotExist {
                                return Err(self.error(at2, format!("found '{l2}', expected: identifier after ','")));
                            }
                        }
                        _ => {
                            return Err(self.error(at, format!("found '{l}', expected: ',' or 'end of string'")));
                        }
                    }
                }
                Tok::EndOfString => return Ok(requirements),
                _ => {
                    return Err(self.error(at, format!("found '{lit}', expected: !, identifier, or 'end of string'")));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, SelectorError> {
        let (key, key_at, negated) = self.parse_key()?;
        let (next, _, _) = self.lookahead(Context::Values);
        if negated || matches!(next, Tok::EndOfString | Tok::Comma) {
            let operator = if negated { Operator::DoesNotExist } else { Operator::Exists };
            return Requirement::new(key, operator, Vec::new()).map_err(|e| self.requirement_error(key_at, e.message));
        }
        let (op_tok, op_lit, op_at) = self.consume(Context::KeyAndOperator);
        let operator = match op_tok {
            Tok::In => Operator::In,
            Tok::Equals => Operator::Equals,
            Tok::DoubleEquals => Operator::DoubleEquals,
            Tok::GreaterThan => Operator::GreaterThan,
            Tok::LessThan => Operator::LessThan,
            Tok::NotIn => Operator::NotIn,
            Tok::NotEquals => Operator::NotEquals,
            _ => {
                return Err(self.requirement_error(op_at, format!("found '{op_lit}', expected: {BINARY_OPERATORS}")));
            }
        };
        let (values, values_at) = match operator {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(key, operator, values).map_err(|e| self.requirement_error(values_at, e.message))
    }

    /// `[!] KEY`, the key checked to be a qualified name.
    fn parse_key(&mut self) -> Result<(String, usize, bool), SelectorError> {
        let (mut tok, mut lit, mut at) = self.consume(Context::Values);
        let negated = tok == Tok::DoesNotExist;
        if negated {
            (tok, lit, at) = self.consume(Context::Values);
        }
        if tok != Tok::Identifier {
            return Err(self.requirement_error(at, format!("found '{lit}', expected: identifier")));
        }
        let errs = validation::is_qualified_name(&lit);
        if !errs.is_empty() {
            let e = FieldError::invalid("<nil>", &lit, errs.join("; "));
            return Err(self.requirement_error(at, e.to_string()));
        }
        Ok((lit, at, negated))
    }

    /// `( VALUE [, VALUE]* )`, where values may be empty: `()` and `(a,,b)` contain "".
    fn parse_values(&mut self) -> Result<(Vec<String>, usize), SelectorError> {
        let (tok, lit, at) = self.consume(Context::Values);
        if tok != Tok::OpenPar {
            return Err(self.requirement_error(at, format!("found '{lit}' expected: '('")));
        }
        let (tok, lit, at) = self.lookahead(Context::Values);
        match tok {
            Tok::Identifier | Tok::Comma => {
                let values = self.parse_identifiers_list()?;
                let (tok, _, close_at) = self.consume(Context::Values);
                if tok != Tok::ClosedPar {
                    return Err(self.requirement_error(close_at, format!("found '{lit}', expected: ')'")));
                }
                Ok((values, at))
            }
            Tok::ClosedPar => {
                self.consume(Context::Values);
                Ok((vec![String::new()], at))
            }
            _ => Err(self.requirement_error(at, format!("found '{lit}', expected: ',', ')' or identifier"))),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<Vec<String>, SelectorError> {
        let mut values: Vec<String> = Vec::new();
        loop {
            let (tok, lit, at) = self.consume(Context::Values);
            match tok {
                Tok::Identifier => {
                    values.push(lit);
                    let (tok2, lit2, at2) = self.lookahead(Context::Values);
                    match tok2 {
                        Tok::Comma => continue,
                        Tok::ClosedPar => return Ok(values),
                        _ => {
                            return Err(self.requirement_error(at2, format!("found '{lit2}', expected: ',' or ')'")));
                        }
                    }
                }
                Tok::Comma => {
                    // "(," and ",," and ",)" all contribute an empty value.
                    if values.is_empty() {
                        values.push(String::new());
                    }
                    let (tok2, _, _) = self.lookahead(Context::Values);
                    if tok2 == Tok::ClosedPar {
                        values.push(String::new());
                        return Ok(values);
                    }
                    if tok2 == Tok::Comma {
                        values.push(String::new());
                    }
                }
                _ => {
                    return Err(self.requirement_error(at, format!("found '{lit}', expected: ',', or identifier")));
                }
            }
        }
    }

    /// The single value after `=`, `==`, `!=`, `>` or `<`; missing means "".
    fn parse_exact_value(&mut self) -> Result<(Vec<String>, usize), SelectorError> {
        let (tok, _, at) = self.lookahead(Context::Values);
        if matches!(tok, Tok::EndOfString | Tok::Comma) {
            return Ok((vec![String::new()], at));
        }
        let (tok, lit, at) = self.consume(Context::Values);
        if tok == Tok::Identifier {
            return Ok((vec![lit], at));
        }
        Err(self.requirement_error(at, format!("found '{lit}', expected: identifier")))
    }
}

fn contextual(tok: Tok, ctx: Context) -> Tok {
    match (ctx, tok) {
        (Context::Values, Tok::In | Tok::NotIn) => Tok::Identifier,
        _ => tok,
    }
}

#[cfg(test)]
mod tests;
