//! Kubernetes `resource.Quantity`: exact fixed-point amounts such as `500m`, `1.5Gi` or `12e6`.
//!
//! Parsing, rounding and canonical formatting follow upstream's
//! `k8s.io/apimachinery/pkg/api/resource`: a parsed value keeps the kind of
//! suffix it was written with (decimal SI, binary SI or a decimal exponent),
//! is rounded away from zero to a whole number of nano units, and is written
//! back in canonical form (`1.5` → `1500m`, `1.5Gi` → `1536Mi`). Equality,
//! ordering and hashing compare values only, so `1Gi == 1024Mi == 1073741824`.
//!
//! Where this differs from upstream:
//! * The value is held exactly as `mantissa × 10^exponent` with at most
//!   [`MAX_SIGNIFICANT_DIGITS`] significant digits, where upstream uses an
//!   unbounded big decimal. That is far more than any real amount needs (29
//!   integer digits at nano precision); a string needing more is rejected with
//!   [`QuantityError::NumericOverflow`], `checked_*` arithmetic returns `None`
//!   and the operators round to that many digits instead of growing unbounded.
//! * A number part with no digit and no point (`"-"`, `"Ki"`, `"--1"`) is a
//!   [`QuantityError::FormatWrong`]; upstream's scanner reads it as 0.
//! * Output is always canonical; upstream echoes some already-canonical-looking
//!   inputs verbatim (`"+1"`, `"1E3"`), here they come out as `"1"`, `"1e3"`.
//! * `value`/`milli_value`/`scaled_value` saturate where upstream overflows.
//! * As in current upstream (older releases corrupted these), decimal
//!   exponents beyond `E` or below `n` are written as `e<exp>`, binary values
//!   past `Ei` in decimal, and exponents beyond ±(2^31-1) do not parse.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

/// Result of quantity parsing.
pub type Result<T, E = QuantityError> = std::result::Result<T, E>;

/// Most significant decimal digits a [`Quantity`] holds exactly.
pub const MAX_SIGNIFICANT_DIGITS: usize = 38;

const MSG_FORMAT_WRONG: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const MSG_SUFFIX: &str = "unable to parse quantity's suffix";
const MSG_NUMERIC: &str = "unable to parse numeric part of quantity";

/// Largest mantissa magnitude: `MAX_SIGNIFICANT_DIGITS` nines.
const MAX_MANTISSA: u128 = 10u128.pow(MAX_SIGNIFICANT_DIGITS as u32) - 1;
/// Parsed values are rounded to this power of ten.
const NANO: i64 = -9;
/// Upstream caps a parsed binary-SI magnitude at 2^63-1; here in nano units.
const MAX_BINARY_NANO: u128 = (i64::MAX as u128) * 1_000_000_000;
const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
/// Longest shown input in an error message, in bytes.
const SHOWN_INPUT_LEN: usize = 64;

/// How a quantity is written when serialized.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// A power-of-ten exponent: `12e6`, `1e-3`.
    DecimalExponent,
    /// Powers of 1024: `12Mi`. Values that are not whole numbers of at least
    /// 1024 in magnitude are written as [`Format::DecimalSI`].
    BinarySI,
    /// Powers of 1000: `12M`, `500m`.
    #[default]
    DecimalSI,
}

impl Format {
    /// Upstream's name for the format.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DecimalExponent => "DecimalExponent",
            Format::BinarySI => "BinarySI",
            Format::DecimalSI => "DecimalSI",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a quantity. `input` is the offending string, shortened
/// to 64 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string does not have the shape `<number><suffix>` (upstream `ErrFormatWrong`).
    #[error("invalid quantity {input:?}: {}", MSG_FORMAT_WRONG)]
    FormatWrong { input: String },
    /// The suffix is not a known unit nor an exponent within ±(2^31-1) (upstream `ErrSuffix`).
    #[error("invalid quantity {input:?}: {}", MSG_SUFFIX)]
    UnknownSuffix { input: String },
    /// The value needs more than [`MAX_SIGNIFICANT_DIGITS`] significant digits.
    #[error("invalid quantity {input:?}: {}: more than {} significant digits", MSG_NUMERIC, MAX_SIGNIFICANT_DIGITS)]
    NumericOverflow { input: String },
}

impl QuantityError {
    /// Upstream's wording for this error, without the input, for API
    /// responses that must match what Kubernetes says.
    pub fn upstream_message(&self) -> &'static str {
        match self {
            QuantityError::FormatWrong { .. } => MSG_FORMAT_WRONG,
            QuantityError::UnknownSuffix { .. } => MSG_SUFFIX,
            QuantityError::NumericOverflow { .. } => MSG_NUMERIC,
        }
    }
}

fn shown(input: &str) -> String {
    if input.len() <= SHOWN_INPUT_LEN {
        return input.to_owned();
    }
    let mut end = SHOWN_INPUT_LEN;
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &input[..end])
}

/// An exact decimal amount with the format it is written in.
///
/// Equality, ordering and hashing are numeric and ignore the format.
#[derive(Clone)]
pub struct Quantity {
    /// Significant digits, never ending in 0 (zero is `0 × 10^0`), at most
    /// `MAX_MANTISSA` in magnitude.
    mantissa: i128,
    exponent: i64,
    format: Format,
}

/// Strips trailing zeros so each value has exactly one representation.
fn normalize(mut mantissa: i128, mut exponent: i64) -> (i128, i64) {
    if mantissa == 0 {
        return (0, 0);
    }
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exponent += 1;
    }
    (mantissa, exponent)
}

fn pow10(n: i64) -> Option<u128> {
    10u128.checked_pow(u32::try_from(n).ok()?)
}

fn digit_count(n: u128) -> i64 {
    n.checked_ilog10().map_or(0, |l| i64::from(l) + 1)
}

fn parse_digits(digits: &[u8]) -> u128 {
    digits.iter().fold(0, |acc, d| acc * 10 + u128::from(d - b'0'))
}

/// Magnitude order of `m × 10^e`: the value lies in `[10^(o-1), 10^o)`.
fn order(mantissa: i128, exponent: i64) -> i64 {
    digit_count(mantissa.unsigned_abs()) + exponent
}

/// Compares non-zero magnitudes `a × 10^ea` and `b × 10^eb`.
fn cmp_magnitude(a: u128, ea: i64, b: u128, eb: i64) -> Ordering {
    let (oa, ob) = (digit_count(a) + ea, digit_count(b) + eb);
    if oa != ob {
        return oa.cmp(&ob);
    }
    // Same order, so the exponents differ by fewer digits than a mantissa has.
    if ea >= eb {
        pow10(ea - eb).and_then(|p| a.checked_mul(p)).map_or(Ordering::Greater, |a| a.cmp(&b))
    } else {
        pow10(eb - ea).and_then(|p| b.checked_mul(p)).map_or(Ordering::Less, |b| a.cmp(&b))
    }
}

/// `m × 10^by` for `by >= 0`, if it fits.
fn scale_up(mantissa: i128, by: i64) -> Option<i128> {
    let p = i128::try_from(pow10(by)?).ok()?;
    mantissa.checked_mul(p)
}

/// `m / 10^by` for `by > 0`, rounded half away from zero.
fn scale_down_nearest(mantissa: i128, by: i64) -> i128 {
    let Some(p) = pow10(by) else { return 0 };
    let rounded = (mantissa.unsigned_abs() + p / 2) / p;
    let rounded = rounded as i128; // at most the input magnitude
    if mantissa < 0 { -rounded } else { rounded }
}

/// `ceil(0.digits × 2^k)` for ASCII fraction digits.
fn ceil_fraction_times_pow2(fraction: &[u8], k: u32) -> u128 {
    let mut digits: Vec<u8> = fraction.iter().map(|d| d - b'0').collect();
    let mut whole: u128 = 0;
    for _ in 0..k {
        let mut carry = 0;
        for d in digits.iter_mut().rev() {
            let v = *d * 2 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        whole = whole * 2 + u128::from(carry);
    }
    whole + u128::from(digits.iter().any(|&d| d != 0))
}

/// Exactly divides a decimal digit string by a small divisor.
fn divide_decimal(digits: &[u8], divisor: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(digits.len());
    let mut rem = 0u32;
    for &c in digits {
        let cur = rem * 10 + u32::from(c - b'0');
        let q = cur / divisor;
        rem = cur % divisor;
        if !out.is_empty() || q != 0 {
            out.push(b'0' + q as u8);
        }
    }
    out
}

enum Base {
    Ten,
    Two,
}

/// Reads a suffix: its base, exponent and the format it selects.
fn interpret_suffix(suffix: &str) -> Option<(Base, i64, Format)> {
    let decimal = |e| (Base::Ten, e, Format::DecimalSI);
    let binary = |e| (Base::Two, e, Format::BinarySI);
    Some(match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            let exponent: i64 = suffix.strip_prefix(['e', 'E'])?.parse().ok()?;
            // Upstream keeps the exponent in a negatable int32.
            if exponent.unsigned_abs() > i32::MAX as u64 {
                return None;
            }
            (Base::Ten, exponent, Format::DecimalExponent)
        }
    })
}

impl Quantity {
    fn from_normalized(mantissa: i128, exponent: i64, format: Format) -> Self {
        let (mantissa, exponent) = normalize(mantissa, exponent);
        Quantity { mantissa, exponent, format }
    }

    /// `mantissa × 10^exponent`, if it fits in [`MAX_SIGNIFICANT_DIGITS`] digits.
    fn checked_new(mantissa: i128, exponent: i64, format: Format) -> Option<Self> {
        let q = Self::from_normalized(mantissa, exponent, format);
        (q.mantissa.unsigned_abs() <= MAX_MANTISSA).then_some(q)
    }

    /// Parses a quantity string as upstream's `ParseQuantity` does: no
    /// surrounding whitespace, values finer than 1n rounded away from zero to
    /// 1n, binary-SI values capped at 2^63-1 in magnitude.
    pub fn parse(s: &str) -> Result<Self> {
        let format_wrong = || QuantityError::FormatWrong { input: shown(s) };
        let b = s.as_bytes();
        let digits_end = |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();

        let (negative, mut pos) = match b.first() {
            None => return Err(format_wrong()),
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            Some(_) => (false, 0),
        };
        let int_digits = &b[pos..digits_end(pos)];
        pos += int_digits.len();
        let mut frac_digits: &[u8] = &[];
        let has_point = b.get(pos) == Some(&b'.');
        if has_point {
            pos += 1;
            frac_digits = &b[pos..digits_end(pos)];
            pos += frac_digits.len();
        }
        // Upstream's scanner reads a missing number ("Ki", "-") as 0; the
        // documented grammar needs a digit or a point, and so do we.
        if int_digits.is_empty() && !has_point {
            return Err(format_wrong());
        }
        let suffix_start = pos;
        pos += b[pos..].iter().take_while(|c| b"eEinumkKMGTP".contains(c)).count();
        if matches!(b.get(pos), Some(b'+' | b'-')) {
            pos += 1;
        }
        if digits_end(pos) != b.len() {
            return Err(format_wrong());
        }
        let (base, exponent, format) =
            interpret_suffix(&s[suffix_start..]).ok_or_else(|| QuantityError::UnknownSuffix { input: shown(s) })?;

        let mut all = Vec::with_capacity(int_digits.len() + frac_digits.len());
        all.extend_from_slice(int_digits);
        all.extend_from_slice(frac_digits);
        let (Some(first), Some(last)) = (all.iter().position(|&d| d != b'0'), all.iter().rposition(|&d| d != b'0'))
        else {
            return Ok(Quantity { mantissa: 0, exponent: 0, format });
        };
        let significant = &all[first..=last];
        let trailing_zeros = (all.len() - 1 - last) as i64;
        let frac_len = frac_digits.len() as i64;

        let (magnitude, exponent, format) = match base {
            Base::Ten => {
                let exponent = exponent + trailing_zeros - frac_len;
                let (magnitude, exponent) = round_to_nano(significant, exponent)
                    .ok_or_else(|| QuantityError::NumericOverflow { input: shown(s) })?;
                (magnitude, exponent, format)
            }
            Base::Two => {
                let nanos = binary_nanos(significant, trailing_zeros - frac_len, exponent as u32);
                // Upstream shows a binary amount below 1 as decimal from the start.
                let format = if nanos < 1_000_000_000 { Format::DecimalSI } else { format };
                (nanos, NANO, format)
            }
        };
        let mantissa = magnitude as i128; // at most 10^38 by construction
        let mantissa = if negative { -mantissa } else { mantissa };
        Self::checked_new(mantissa, exponent, format).ok_or_else(|| QuantityError::NumericOverflow { input: shown(s) })
    }

    /// `value / 1000` (upstream `NewMilliQuantity`).
    pub fn from_milli(milli: i64, format: Format) -> Self {
        Self::from_scaled(milli, -3, format)
    }

    /// `value` (upstream `NewQuantity`).
    pub fn from_value(value: i64, format: Format) -> Self {
        Self::from_scaled(value, 0, format)
    }

    /// `value × 10^scale` (upstream `NewScaledQuantity`, which is always DecimalSI).
    /// Unlike parsing, this keeps precision finer than nano.
    pub fn from_scaled(value: i64, scale: i32, format: Format) -> Self {
        Self::from_normalized(i128::from(value), i64::from(scale), format)
    }

    /// The format used when serializing.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The same value written in another format.
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// -1, 0 or 1 as the value is negative, zero or positive.
    pub fn sign(&self) -> i32 {
        self.mantissa.signum() as i32
    }

    /// The value rounded away from zero to an integer, saturating at the
    /// `i64` bounds (upstream `Value`).
    pub fn value(&self) -> i64 {
        self.scaled_value(0)
    }

    /// The value in thousandths rounded away from zero, saturating
    /// (upstream `MilliValue`).
    pub fn milli_value(&self) -> i64 {
        self.scaled_value(-3)
    }

    /// The value in units of `10^scale` rounded away from zero, saturating at
    /// the `i64` bounds (upstream `ScaledValue`).
    pub fn scaled_value(&self, scale: i32) -> i64 {
        if self.mantissa == 0 {
            return 0;
        }
        let magnitude = self.mantissa.unsigned_abs();
        let shift = self.exponent - i64::from(scale);
        let units = if shift >= 0 {
            pow10(shift).and_then(|p| magnitude.checked_mul(p))
        } else {
            // Past 10^38 the divisor exceeds every mantissa: one unit.
            Some(pow10(-shift).map_or(1, |p| magnitude.div_ceil(p)))
        };
        match (self.mantissa < 0, units) {
            (false, Some(u)) => i64::try_from(u).unwrap_or(i64::MAX),
            (false, None) => i64::MAX,
            (true, Some(u)) => i64::try_from(-(u.min(1 << 63) as i128)).unwrap_or(i64::MIN),
            (true, None) => i64::MIN,
        }
    }

    /// The value as an `i64` if it is an integer that fits (upstream `AsInt64`
    /// without its fast-path-only limitation).
    pub fn as_i64(&self) -> Option<i64> {
        if self.exponent < 0 {
            return None;
        }
        i64::try_from(scale_up(self.mantissa, self.exponent)?).ok()
    }

    /// The nearest `f64`, infinite past its range (upstream `AsApproximateFloat64`).
    pub fn as_approximate_f64(&self) -> f64 {
        format!("{}e{}", self.mantissa, self.exponent).parse().unwrap_or(0.0)
    }

    /// `self + other`, or `None` if the exact sum needs more than
    /// [`MAX_SIGNIFICANT_DIGITS`] digits. Keeps `self`'s format unless `self`
    /// is zero, then takes `other`'s (upstream `Add`).
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        let format = if self.is_zero() { other.format } else { self.format };
        let (m, e) = exact_sum(self.mantissa, self.exponent, other.mantissa, other.exponent)?;
        Some(Quantity { mantissa: m, exponent: e, format })
    }

    /// `self - other`, or `None` if the exact difference does not fit. Formats
    /// as [`Quantity::checked_add`] (upstream `Sub`).
    pub fn checked_sub(&self, other: &Quantity) -> Option<Quantity> {
        self.checked_add(&other.neg())
    }

    /// `self × factor`, or `None` if the product does not fit (upstream `Mul`).
    pub fn checked_mul(&self, factor: i64) -> Option<Quantity> {
        let m = self.mantissa.checked_mul(i128::from(factor))?;
        Self::checked_new(m, self.exponent, self.format)
    }

    /// The negated value in the same format.
    pub fn neg(&self) -> Quantity {
        Quantity { mantissa: -self.mantissa, ..self.clone() }
    }

    /// The canonical string upstream serializes: the largest suffix that
    /// keeps the mantissa an integer.
    pub fn to_canonical_string(&self) -> String {
        if self.mantissa == 0 {
            return "0".to_owned();
        }
        let binary = match self.format {
            Format::BinarySI => self.binary_si_string(),
            _ => None,
        };
        binary.unwrap_or_else(|| self.decimal_string())
    }

    /// Binary-SI spelling, or `None` when it would round or lacks a suffix:
    /// below 1024 in magnitude, fractional, or a power of 1024 beyond `Ei`.
    fn binary_si_string(&self) -> Option<String> {
        if self.exponent < 0 {
            return None;
        }
        let magnitude = self.mantissa.unsigned_abs();
        let below_1024 = pow10(self.exponent).and_then(|p| magnitude.checked_mul(p)).is_some_and(|v| v < 1024);
        let power = (i64::from(magnitude.trailing_zeros()) + self.exponent) / 10;
        if below_1024 || power >= BINARY_SUFFIXES.len() as i64 {
            return None;
        }
        // power <= 6 bounds the exponent by 69, so the digits stay short.
        let mut digits = magnitude.to_string().into_bytes();
        digits.resize(digits.len() + self.exponent as usize, b'0');
        for _ in 0..power {
            digits = divide_decimal(&digits, 1024);
        }
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let digits = String::from_utf8(digits).unwrap_or_default();
        Some(format!("{sign}{digits}{}", BINARY_SUFFIXES[power as usize]))
    }

    /// Decimal spelling: the exponent lowered to a multiple of three.
    /// DecimalSI has suffixes from `n` to `E` only and writes other
    /// exponents as `e<exp>` (upstream's fallback; older releases dropped them).
    fn decimal_string(&self) -> String {
        let extra = self.exponent.rem_euclid(3);
        let exponent = self.exponent - extra;
        let mut out = self.mantissa.to_string();
        out.extend(std::iter::repeat_n('0', extra as usize));
        let si = match exponent {
            -9 => Some("n"),
            -6 => Some("u"),
            -3 => Some("m"),
            0 => Some(""),
            3 => Some("k"),
            6 => Some("M"),
            9 => Some("G"),
            12 => Some("T"),
            15 => Some("P"),
            18 => Some("E"),
            _ => None,
        };
        match (self.format, si) {
            (_, Some("")) => {}
            (Format::DecimalSI | Format::BinarySI, Some(suffix)) => out.push_str(suffix),
            _ => {
                out.push('e');
                out.push_str(&exponent.to_string());
            }
        }
        out
    }
}

/// Rounds `digits × 10^exponent` away from zero to nano units; `None` if the
/// result has too many digits.
fn round_to_nano(digits: &[u8], exponent: i64) -> Option<(u128, i64)> {
    if exponent >= NANO {
        return (digits.len() <= MAX_SIGNIFICANT_DIGITS).then(|| (parse_digits(digits), exponent));
    }
    // `digits` ends in a non-zero digit, so dropping any digits rounds up.
    let dropped = NANO - exponent;
    if dropped >= digits.len() as i64 {
        return Some((1, NANO));
    }
    let kept = &digits[..digits.len() - dropped as usize];
    (kept.len() <= MAX_SIGNIFICANT_DIGITS).then(|| (parse_digits(kept) + 1, NANO))
}

/// `ceil(digits × 10^exponent × 2^k)` in nano units, capped at 2^63-1 units.
fn binary_nanos(digits: &[u8], exponent: i64, k: u32) -> u128 {
    let shift = exponent - NANO;
    let len = digits.len() as i64;
    // Anything at or past 10^28 nano units is beyond the cap.
    let too_big = |int_len: i64| int_len > 28;
    let (whole, fraction_units) = if shift >= 0 {
        if too_big(len + shift) {
            return MAX_BINARY_NANO;
        }
        (parse_digits(digits) * pow10(shift).unwrap_or(0), 0)
    } else {
        let frac_len = -shift;
        if frac_len - len >= 19 {
            // Below 10^-19 of a unit even after × 2^60: one unit.
            (0, 1)
        } else if frac_len >= len {
            let mut fraction = vec![b'0'; (frac_len - len) as usize];
            fraction.extend_from_slice(digits);
            (0, ceil_fraction_times_pow2(&fraction, k))
        } else {
            let (int_part, fraction) = digits.split_at((len - frac_len) as usize);
            if too_big(int_part.len() as i64) {
                return MAX_BINARY_NANO;
            }
            (parse_digits(int_part), ceil_fraction_times_pow2(fraction, k))
        }
    };
    whole
        .checked_mul(1 << k)
        .and_then(|n| n.checked_add(fraction_units))
        .map_or(MAX_BINARY_NANO, |n| n.min(MAX_BINARY_NANO))
}

/// Exact `a × 10^ea + b × 10^eb`, normalized, if it fits.
fn exact_sum(am: i128, ae: i64, bm: i128, be: i64) -> Option<(i128, i64)> {
    if bm == 0 {
        return Some((am, ae));
    }
    if am == 0 {
        return Some((bm, be));
    }
    let e = ae.min(be);
    let sum = scale_up(am, ae - e)?.checked_add(scale_up(bm, be - e)?)?;
    let (m, e) = normalize(sum, e);
    (m.unsigned_abs() <= MAX_MANTISSA).then_some((m, e))
}

/// The sum rounded to [`MAX_SIGNIFICANT_DIGITS`] digits, for the operators.
fn rounded_sum(a: &Quantity, b: &Quantity) -> Quantity {
    let format = if a.is_zero() { b.format } else { a.format };
    if let Some((m, e)) = exact_sum(a.mantissa, a.exponent, b.mantissa, b.exponent) {
        return Quantity { mantissa: m, exponent: e, format };
    }
    // Both are non-zero here. Bring each to an exponent where it has at most
    // 37 digits so the sum has at most 38.
    let top = order(a.mantissa, a.exponent).max(order(b.mantissa, b.exponent));
    let target = top + 1 - MAX_SIGNIFICANT_DIGITS as i64;
    let at = |m: i128, e: i64| {
        if e >= target { scale_up(m, e - target).unwrap_or(0) } else { scale_down_nearest(m, target - e) }
    };
    Quantity::from_normalized(at(a.mantissa, a.exponent) + at(b.mantissa, b.exponent), target, format)
}

impl Default for Quantity {
    fn default() -> Self {
        Quantity { mantissa: 0, exponent: 0, format: Format::DecimalSI }
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self> {
        Quantity::parse(s)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_string())
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Quantity").field(&self.to_canonical_string()).field(&self.format).finish()
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        // Normalized, so equal values have equal parts.
        self.mantissa == other.mantissa && self.exponent == other.exponent
    }
}

impl Eq for Quantity {}

impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.mantissa.hash(state);
        self.exponent.hash(state);
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        let (sa, sb) = (self.mantissa.signum(), other.mantissa.signum());
        if sa != sb || sa == 0 {
            return sa.cmp(&sb);
        }
        let by_magnitude =
            cmp_magnitude(self.mantissa.unsigned_abs(), self.exponent, other.mantissa.unsigned_abs(), other.exponent);
        if sa > 0 { by_magnitude } else { by_magnitude.reverse() }
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

// The operators never panic: a result needing more than
// MAX_SIGNIFICANT_DIGITS digits is rounded to that many (half away from zero).
// Use checked_add / checked_sub to detect that instead.

impl Add<&Quantity> for &Quantity {
    type Output = Quantity;
    fn add(self, rhs: &Quantity) -> Quantity {
        rounded_sum(self, rhs)
    }
}

impl Add<&Quantity> for Quantity {
    type Output = Quantity;
    fn add(self, rhs: &Quantity) -> Quantity {
        rounded_sum(&self, rhs)
    }
}

impl Add for Quantity {
    type Output = Quantity;
    fn add(self, rhs: Quantity) -> Quantity {
        rounded_sum(&self, &rhs)
    }
}

impl Sub<&Quantity> for &Quantity {
    type Output = Quantity;
    fn sub(self, rhs: &Quantity) -> Quantity {
        rounded_sum(self, &rhs.neg())
    }
}

impl Sub<&Quantity> for Quantity {
    type Output = Quantity;
    fn sub(self, rhs: &Quantity) -> Quantity {
        rounded_sum(&self, &rhs.neg())
    }
}

impl Sub for Quantity {
    type Output = Quantity;
    fn sub(self, rhs: Quantity) -> Quantity {
        rounded_sum(&self, &rhs.neg())
    }
}

impl AddAssign<&Quantity> for Quantity {
    fn add_assign(&mut self, rhs: &Quantity) {
        *self = rounded_sum(self, rhs);
    }
}

impl AddAssign for Quantity {
    fn add_assign(&mut self, rhs: Quantity) {
        *self = rounded_sum(self, &rhs);
    }
}

impl SubAssign<&Quantity> for Quantity {
    fn sub_assign(&mut self, rhs: &Quantity) {
        *self = rounded_sum(self, &rhs.neg());
    }
}

impl SubAssign for Quantity {
    fn sub_assign(&mut self, rhs: Quantity) {
        *self = rounded_sum(self, &rhs.neg());
    }
}

// Only for references: a by-value `Neg` would shadow the inherent
// `Quantity::neg(&self)` in method calls and move the receiver.
impl Neg for &Quantity {
    type Output = Quantity;
    fn neg(self) -> Quantity {
        Quantity::neg(self)
    }
}

impl Sum for Quantity {
    fn sum<I: Iterator<Item = Quantity>>(iter: I) -> Quantity {
        iter.fold(Quantity::default(), |acc, q| acc + q)
    }
}

impl<'a> Sum<&'a Quantity> for Quantity {
    fn sum<I: Iterator<Item = &'a Quantity>>(iter: I) -> Quantity {
        iter.fold(Quantity::default(), |acc, q| acc + q)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Accepts what upstream's `UnmarshalJSON` does: a string (surrounding
/// whitespace ignored), a number, or null (zero).
impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct QuantityVisitor;

        impl QuantityVisitor {
            fn parse<E: de::Error>(s: &str) -> std::result::Result<Quantity, E> {
                Quantity::parse(s.trim()).map_err(E::custom)
            }
        }

        impl Visitor<'_> for QuantityVisitor {
            type Value = Quantity;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity string such as \"500m\" or \"1Gi\", or a number")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Quantity, E> {
                Self::parse(v)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Quantity, E> {
                Ok(Quantity::from_value(v, Format::DecimalSI))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Quantity, E> {
                Self::parse(&v.to_string())
            }

            fn visit_i128<E: de::Error>(self, v: i128) -> std::result::Result<Quantity, E> {
                Self::parse(&v.to_string())
            }

            fn visit_u128<E: de::Error>(self, v: u128) -> std::result::Result<Quantity, E> {
                Self::parse(&v.to_string())
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Quantity, E> {
                if !v.is_finite() {
                    return Err(E::invalid_value(de::Unexpected::Float(v), &self));
                }
                // Shortest digits that round-trip, never in exponent form.
                Self::parse(&v.to_string())
            }

            fn visit_unit<E: de::Error>(self) -> std::result::Result<Quantity, E> {
                Ok(Quantity::default())
            }

            fn visit_none<E: de::Error>(self) -> std::result::Result<Quantity, E> {
                Ok(Quantity::default())
            }
        }

        deserializer.deserialize_any(QuantityVisitor)
    }
}

impl TryFrom<&ApiQuantity> for Quantity {
    type Error = QuantityError;

    /// Parses the string as upstream decodes JSON: surrounding whitespace ignored.
    fn try_from(q: &ApiQuantity) -> Result<Self> {
        Quantity::parse(q.0.trim())
    }
}

impl TryFrom<ApiQuantity> for Quantity {
    type Error = QuantityError;

    fn try_from(q: ApiQuantity) -> Result<Self> {
        Quantity::try_from(&q)
    }
}

impl From<&Quantity> for ApiQuantity {
    fn from(q: &Quantity) -> Self {
        ApiQuantity(q.to_canonical_string())
    }
}

impl From<Quantity> for ApiQuantity {
    fn from(q: Quantity) -> Self {
        ApiQuantity(q.to_canonical_string())
    }
}

#[cfg(test)]
mod tests;
