//! Canonical resource quantity strings, as apimachinery's `resource.Quantity.String()` prints them
//! ("1Gi", "1536Mi", "1500m", "2k", "1e3").

use serde_json::Value;

/// Which suffix family a quantity was written in; the canonical form keeps the family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// "Ki", "Mi"… (powers of 1024).
    BinarySi,
    /// "m", "k", "M"… or no suffix (powers of 1000).
    DecimalSi,
    /// "e3", "E-6".
    DecimalExponent,
}

/// A parsed quantity: `value × 10^scale`, with the scale at nano precision or coarser.
#[derive(Clone, Copy, Debug)]
struct Quantity {
    value: i128,
    scale: i32,
    format: Format,
}

/// The canonical string of a quantity field. An unset quantity prints "0" (Go's zero `Quantity`); a
/// value that does not parse is printed as given.
pub(super) fn format_value(v: Option<&Value>) -> String {
    let raw = match v {
        None | Some(Value::Null) => return "0".to_string(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return other.to_string(),
    };
    parse(&raw).and_then(canonical).unwrap_or(raw)
}

/// Parses `<sign><digits>[.<digits>]<suffix>` the way `resource.ParseQuantity` does, rounding anything
/// finer than nano units up (away from zero).
fn parse(s: &str) -> Option<Quantity> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (int_part, rest) = rest.split_at(int_len);
    let (frac_part, suffix) = match rest.strip_prefix('.') {
        Some(after) => after.split_at(after.bytes().take_while(u8::is_ascii_digit).count()),
        None => ("", rest),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let (format, base2_power, exp10) = parse_suffix(suffix)?;

    let mut value: i128 = 0;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    let mut scale = exp10.checked_sub(i32::try_from(frac_part.len()).ok()?)?;
    if base2_power > 0 {
        value = value.checked_mul(1i128.checked_shl(base2_power)?)?;
    }
    if negative {
        value = -value;
    }
    if scale < -9 {
        // Round up to nano precision, away from zero, as upstream does for over-precise input.
        let divisor = pow10(u32::try_from(-9 - scale).ok()?)?;
        let (q, r) = (value / divisor, value % divisor);
        value = if r == 0 { q } else { q + value.signum() };
        scale = -9;
    }
    Some(Quantity { value, scale, format })
}

/// Maps a suffix to (format, power of two, power of ten).
fn parse_suffix(suffix: &str) -> Option<(Format, u32, i32)> {
    let decimal = |exp| Some((Format::DecimalSi, 0, exp));
    let binary = |pow| Some((Format::BinarySi, pow, 0));
    match suffix {
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
            let exp = suffix.strip_prefix(['e', 'E'])?;
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((Format::DecimalExponent, 0, exp.parse().ok()?))
        }
    }
}

/// `Quantity.CanonicalizeBytes`: binary quantities stay binary when they are whole numbers of at least
/// 1024 in magnitude; everything else prints as mantissa × 1000^n with the decimal suffix.
fn canonical(q: Quantity) -> Option<String> {
    if q.value == 0 {
        return Some("0".to_string());
    }
    let mut format = q.format;
    if format == Format::BinarySi {
        match whole_number(q) {
            Some(n) if n.abs() >= 1024 => return Some(binary_canonical(n)),
            _ => format = Format::DecimalSi,
        }
    }

    let (mut mantissa, mut exponent) = (q.value, q.scale);
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exponent = exponent.checked_add(1)?;
    }
    // Step down to a multiple of three (Go's truncated remainder, so -1 and 2 both take two steps).
    match exponent % 3 {
        1 | -2 => {
            mantissa = mantissa.checked_mul(10)?;
            exponent -= 1;
        }
        2 | -1 => {
            mantissa = mantissa.checked_mul(100)?;
            exponent -= 2;
        }
        _ => {}
    }
    let suffix = match (format, exponent) {
        (_, 0) => String::new(),
        (Format::DecimalSi, -9) => "n".to_string(),
        (Format::DecimalSi, -6) => "u".to_string(),
        (Format::DecimalSi, -3) => "m".to_string(),
        (Format::DecimalSi, 3) => "k".to_string(),
        (Format::DecimalSi, 6) => "M".to_string(),
        (Format::DecimalSi, 9) => "G".to_string(),
        (Format::DecimalSi, 12) => "T".to_string(),
        (Format::DecimalSi, 15) => "P".to_string(),
        (Format::DecimalSi, 18) => "E".to_string(),
        _ => format!("e{exponent}"),
    };
    Some(format!("{mantissa}{suffix}"))
}

/// The quantity as an integer, if it has no fractional part.
fn whole_number(q: Quantity) -> Option<i128> {
    if q.scale >= 0 {
        q.value.checked_mul(pow10(q.scale.unsigned_abs())?)
    } else {
        let divisor = pow10(q.scale.unsigned_abs())?;
        (q.value % divisor == 0).then(|| q.value / divisor)
    }
}

/// Prints a whole number with the largest binary suffix that divides it exactly.
fn binary_canonical(mut n: i128) -> String {
    const SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    let mut power = 0;
    while power + 1 < SUFFIXES.len() && n % 1024 == 0 {
        n /= 1024;
        power += 1;
    }
    format!("{n}{}", SUFFIXES[power])
}

fn pow10(exp: u32) -> Option<i128> {
    10i128.checked_pow(exp)
}
