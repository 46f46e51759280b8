//! Target `identifiers`: phone, email and username normalization.
//!
//! Layout: the input is the text (invalid UTF-8 replaced).
//!
//! Properties: every refusal is a 400 `invalid_request`; what strict phone parsing accepts,
//! lenient parsing accepts as the same number; a parsed phone is E.164 (`+`, 8 to 15 digits,
//! starting with its country code) and re-parses to itself; a parsed email or username
//! re-parses to itself and is within its length limits, a username in its alphabet.

use auth_core::{Email, Phone, Username};

/// Runs one case.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let strict = Phone::parse(text, true);
    let lenient = Phone::parse(text, false);
    for result in [&strict, &lenient] {
        if let Err(e) = result {
            assert_eq!(e.code(), "invalid_request", "{text:?}: {e:?}");
        }
    }
    if let Ok(p) = &strict {
        assert_eq!(
            lenient.as_ref().ok(),
            Some(p),
            "{text:?}: strict accepts, lenient differs"
        );
        assert_eq!(
            Phone::parse(p.as_str(), true).as_ref().ok(),
            Some(p),
            "{text:?}"
        );
    }
    if let Ok(p) = &lenient {
        let digits = p.as_str().strip_prefix('+').unwrap_or_default();
        assert!(
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()),
            "{text:?} -> {p:?}"
        );
        assert!(
            digits.starts_with(&p.country_code().to_string()),
            "{text:?} -> {p:?} country {}",
            p.country_code()
        );
        assert_eq!(
            Phone::parse(p.as_str(), false).as_ref().ok(),
            Some(p),
            "{text:?}"
        );
    }
    match Email::parse(text) {
        Ok(e) => {
            assert!(e.as_str().len() <= 254, "{text:?} -> {e:?}");
            assert_eq!(
                Email::parse(e.as_str()).as_ref().ok(),
                Some(&e),
                "{text:?} -> {e:?}"
            );
        }
        Err(err) => assert_eq!(err.code(), "invalid_request"),
    }
    match Username::parse(text) {
        Ok(u) => {
            let s = u.as_str();
            assert!((3..=32).contains(&s.len()), "{text:?} -> {u:?}");
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b)),
                "{text:?} -> {u:?}"
            );
            assert_eq!(
                Username::parse(s).as_ref().ok(),
                Some(&u),
                "{text:?} -> {u:?}"
            );
        }
        Err(err) => assert_eq!(err.code(), "invalid_request"),
    }
}
