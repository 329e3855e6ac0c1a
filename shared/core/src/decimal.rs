//! Exact decimal text to Arrow's scaled-integer form, refusing anything that would round.

/// Parses decimal text such as `-12.30` into an integer scaled by `10^scale`, as Arrow's
/// `Decimal128(precision, scale)` stores it. Returns `None` if the text is not a plain decimal,
/// needs more digits than `precision`, or has non-zero digits beyond `scale` (which would have
/// to be rounded away).
pub fn parse_decimal(text: &str, precision: u8, scale: i8) -> Option<i128> {
    let scale = usize::try_from(scale).ok()?;
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let (kept, dropped) = fraction.split_at(fraction.len().min(scale));
    if dropped.bytes().any(|b| b != b'0') {
        return None;
    }
    let mut value: i128 = 0;
    let padding = std::iter::repeat_n(b'0', scale - kept.len());
    for digit in whole.bytes().chain(kept.bytes()).chain(padding) {
        value = value.checked_mul(10)?.checked_add(i128::from(digit - b'0'))?;
    }
    if value.unsigned_abs() >= 10_u128.checked_pow(u32::from(precision))? {
        return None;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::parse_decimal;

    #[test]
    fn plain_decimals_scale_exactly() {
        assert_eq!(parse_decimal("19.99", 10, 2), Some(1999));
        assert_eq!(parse_decimal("20", 10, 2), Some(2000));
        assert_eq!(parse_decimal("20.0", 10, 2), Some(2000));
        assert_eq!(parse_decimal("20.000", 10, 2), Some(2000));
        assert_eq!(parse_decimal("-0.5", 10, 2), Some(-50));
        assert_eq!(parse_decimal(".5", 10, 2), Some(50));
        assert_eq!(parse_decimal(" 7 ", 10, 0), Some(7));
        assert_eq!(parse_decimal("99999999.99", 10, 2), Some(9_999_999_999));
    }

    #[test]
    fn anything_that_would_round_or_overflow_is_refused() {
        assert_eq!(parse_decimal("19.999", 10, 2), None);
        assert_eq!(parse_decimal("100000000.00", 10, 2), None);
        assert_eq!(parse_decimal("1e3", 10, 2), None);
        assert_eq!(parse_decimal("", 10, 2), None);
        assert_eq!(parse_decimal("-", 10, 2), None);
        assert_eq!(parse_decimal(".", 10, 2), None);
        assert_eq!(parse_decimal("1.2.3", 10, 2), None);
        assert_eq!(parse_decimal("NaN", 10, 2), None);
    }
}
