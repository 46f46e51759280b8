//! Phone numbers: parsed and normalized to E.164 with the `phonenumber` crate (Google's
//! libphonenumber metadata), so `+1 555-123-4567` and `+15551234567` are the same account.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::AuthError;

/// A phone number in E.164 form (`+` then 8 to 15 digits), normalized.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone {
    e164: String,
    country_code: u16,
}

impl Phone {
    /// Longest input accepted before parsing (spaces and punctuation included).
    const MAX_INPUT_LEN: usize = 32;

    /// Parses and normalizes a phone number written in international form.
    ///
    /// Spaces, dashes, dots and parentheses are ignored; the number must start with `+` and
    /// have 8 to 15 digits. With `strict`, the number must also be valid for its country's
    /// numbering plan (libphonenumber's `is_valid`); otherwise only the country calling code
    /// has to exist, which keeps fictional test numbers such as `+15551234567` usable.
    pub fn parse(input: &str, strict: bool) -> Result<Self, AuthError> {
        let phone = Self::normalize(input, strict)?;
        // The normal form is what the stores keep and parse again when they read a record:
        // it must parse to itself. The formatter may drop digits (a trunk prefix after the
        // country code: `+86 0123123` becomes `+86123123`) and give a form that no longer
        // parses, which would make the account's record unreadable; such input is refused.
        match Self::normalize(&phone.e164, strict) {
            Ok(again) if again == phone => Ok(phone),
            _ => Err(AuthError::invalid_request(
                "phone must be in E.164 form, e.g. +15551234567",
            )),
        }
    }

    /// One pass of parsing and formatting.
    fn normalize(input: &str, strict: bool) -> Result<Self, AuthError> {
        let bad = || AuthError::invalid_request("phone must be in E.164 form, e.g. +15551234567");
        let input = input.trim();
        if input.len() > Self::MAX_INPUT_LEN {
            return Err(bad());
        }
        let mut compact = String::with_capacity(16);
        for (i, c) in input.chars().enumerate() {
            match c {
                '+' if i == 0 => compact.push('+'),
                '0'..='9' => compact.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(bad()),
            }
        }
        let digits = compact.strip_prefix('+').ok_or_else(bad)?;
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(bad());
        }
        let parsed = phonenumber::parse(None, &compact).map_err(|_| bad())?;
        if strict && !parsed.is_valid() {
            return Err(AuthError::invalid_request(
                "phone number is not valid for its country",
            ));
        }
        let country_code = parsed.code().value();
        let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
        // The formatter must give back the digits we accepted, in E.164 form.
        let e164_digits = e164.strip_prefix('+').unwrap_or_default();
        if e164_digits.is_empty()
            || !e164_digits.bytes().all(|b| b.is_ascii_digit())
            || !(8..=15).contains(&e164_digits.len())
        {
            return Err(bad());
        }
        Ok(Self { e164, country_code })
    }

    /// The E.164 string, e.g. `+15551234567`.
    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// The country calling code, e.g. `1` or `44`.
    pub fn country_code(&self) -> u16 {
        self.country_code
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.e164)
    }
}

impl TryFrom<String> for Phone {
    type Error = AuthError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value, false)
    }
}

impl From<Phone> for String {
    fn from(value: Phone) -> Self {
        value.e164
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_and_dashes_do_not_make_another_number() {
        let a = Phone::parse("+1 555-123-4567", false);
        let b = Phone::parse("+15551234567", false);
        assert!(a.is_ok());
        assert_eq!(a, b);
        assert_eq!(
            b.map(|p| p.as_str().to_owned()).ok().as_deref(),
            Some("+15551234567")
        );
    }

    #[test]
    fn country_code_is_extracted() {
        let p = Phone::parse("+44 20 7946 0958", true);
        assert_eq!(p.map(|p| p.country_code()).ok(), Some(44));
    }

    #[test]
    fn malformed_numbers_are_rejected() {
        for bad in [
            "",
            "15551234567",
            "+1",
            "+1234567",
            "+1234567890123456",
            "+1555abc4567",
            "++15551234567",
            "+1555 123 4567 ext 9",
            "+0123456789",
            "+15551234567\0",
            &"+1".repeat(40),
        ] {
            assert!(Phone::parse(bad, false).is_err(), "{bad:?} accepted");
        }
    }

    /// Found by the `identifiers` fuzz target: `+860123123` normalized to `+86123123`, which
    /// does not parse, so a store could not read back the account that registered it.
    #[test]
    fn a_normalized_number_parses_to_itself() {
        for input in [
            "+860123123",
            "+44 (0)20 7946 0958",
            "+39 06 1234 5678",
            "+15551234567",
        ] {
            for strict in [false, true] {
                if let Ok(p) = Phone::parse(input, strict) {
                    assert_eq!(Phone::parse(p.as_str(), strict), Ok(p), "{input:?}");
                }
            }
        }
        assert!(Phone::parse("+860123123", false).is_err());
        // A trunk prefix that the normal form drops is still accepted when that form parses.
        assert_eq!(
            Phone::parse("+44 (0)20 7946 0958", true).map(|p| p.as_str().to_owned()),
            Ok("+442079460958".to_owned())
        );
    }

    #[test]
    fn strict_mode_checks_the_numbering_plan() {
        assert!(Phone::parse("+15551234567", false).is_ok());
        assert!(Phone::parse("+447911123456", true).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = Phone::parse(&s, true);
            let _ = Phone::parse(&s, false);
        }

        #[test]
        fn parsing_digit_strings_never_panics(s in "\\+[0-9 ()-]{0,30}") {
            let _ = Phone::parse(&s, true);
        }
    }
}
