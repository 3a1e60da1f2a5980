//! ISO-8601 / RFC 3339 timestamps with an explicit offset, as the envelope carries them:
//! `2024-01-01T10:00:00.000Z`, `2024-01-01T10:00:00+00:00`, fractions of any length.

fn digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

fn number(b: &[u8]) -> u32 {
    b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

pub fn is_rfc3339_with_offset(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || !b.is_ascii() {
        return false;
    }
    let shape = digits(&b[0..4])
        && b[4] == b'-'
        && digits(&b[5..7])
        && b[7] == b'-'
        && digits(&b[8..10])
        && matches!(b[10], b'T' | b't' | b' ')
        && digits(&b[11..13])
        && b[13] == b':'
        && digits(&b[14..16])
        && b[16] == b':'
        && digits(&b[17..19]);
    if !shape {
        return false;
    }
    let (month, day, hour, minute, second) = (
        number(&b[5..7]),
        number(&b[8..10]),
        number(&b[11..13]),
        number(&b[14..16]),
        number(&b[17..19]),
    );
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            digits(&[*h1, *h2, *m1, *m2]) && number(&[*h1, *h2]) <= 23 && number(&[*m1, *m2]) <= 59
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_offsets_and_refuses_naive_or_broken_stamps() {
        for ok in [
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00.000Z",
            "2024-01-01T10:00:00.123456+00:00",
            "2024-01-01T10:00:00-05:00",
        ] {
            assert!(is_rfc3339_with_offset(ok), "{ok}");
        }
        for bad in [
            "",
            "2024-01-01T10:00:00",
            "2024-13-01T10:00:00Z",
            "2024-01-01T10:00:00.Z",
            "2024-01-01T10:00:00+0500",
            "x024-01-01T10:00:00Z",
        ] {
            assert!(!is_rfc3339_with_offset(bad), "{bad}");
        }
    }
}
