//! The values the directory accepts for a user's properties, as Graph enforces them on create and on update
//! (docs/fidelity.md, A.2 "Values Graph refuses"): the username policy of `userPrincipalName`, the maximum lengths
//! of the `user` resource, the mail alias (`mailNickname`) characters, the two-letter `usageLocation`, and
//! no control characters anywhere.
//!
//! Design constraints:
//! - Pure functions over one value, so the rules are table-tested here and the pipeline only asks.
//! - Lengths count UTF-16 code units, as Graph (a .NET service) counts a string's characters; every
//!   value is scanned once, so a 64 KiB value (the most an expression may produce) costs microseconds.
//! - A refusal names the first offending character by position and code point instead of echoing the
//!   value: the value may hold a NUL or be 64 KiB long, and the reason ends up in a log entry.

use std::fmt;

/// The username policy of a UPN: `A-Z a-z 0-9 ' . - _ ! # ^ ~`, one `@`, at most 64 characters before it
/// (not ending with `.`) and at most 48 after it. The policy's third limit, 113 characters in all, is
/// what those two allow together.
const UPN_ALIAS_MAX: usize = 64;
const UPN_DOMAIN_MAX: usize = 48;

/// Why a value is refused; its `Display` is the sentence after Graph's own message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueFault {
    /// Longer than the property's maximum (`len` in UTF-16 code units).
    TooLong { len: usize, max: usize },
    /// A character the property does not allow, at a 1-based character position.
    Character { ch: char, at: usize },
    /// The UPN has no `@`, or more than one.
    AtSign,
    /// The UPN's user name or domain is empty.
    EmptyPart,
    /// The UPN's user name is longer than 64 characters.
    AliasTooLong { len: usize },
    /// The UPN's domain is longer than 48 characters.
    DomainTooLong { len: usize },
    /// A `.` right before the UPN's `@`.
    PeriodBeforeAt,
    /// A mail alias that starts or ends with `.`, or has two in a row.
    PeriodPlacement,
    /// `usageLocation` is not two letters.
    NotACountryCode,
    /// `preferredLanguage` is not a language tag such as `en-US`.
    NotALanguageTag,
    /// `userType` is neither `Member` nor `Guest`.
    NotAUserType,
    /// `mail` or an `otherMails` entry is not `local@domain`.
    NotAnAddress,
    /// More values than the property holds (`businessPhones`: one).
    TooManyValues { count: usize, max: usize },
    /// An update would clear a property every user must have.
    Cleared,
}

impl fmt::Display for ValueFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueFault::TooLong { len, max } => write!(f, "The value has {len} characters; at most {max} are allowed."),
            ValueFault::Character { ch, at } => match ch {
                c if c.is_control() => write!(f, "The value contains the control character U+{:04X} at position {at}.", u32::from(*c)),
                ' ' => write!(f, "The value contains a space at position {at}."),
                c => write!(f, "The value contains '{c}' (U+{:04X}) at position {at}, which is not allowed.", u32::from(*c)),
            },
            ValueFault::AtSign => {
                f.write_str("It must contain exactly one '@', separating the user name from the domain.")
            }
            ValueFault::EmptyPart => f.write_str("The user name before the '@' and the domain after it must not be empty."),
            ValueFault::AliasTooLong { len } => {
                write!(f, "The user name before the '@' has {len} characters; at most {UPN_ALIAS_MAX} are allowed.")
            }
            ValueFault::DomainTooLong { len } => {
                write!(f, "The domain after the '@' has {len} characters; at most {UPN_DOMAIN_MAX} are allowed.")
            }
            ValueFault::PeriodBeforeAt => f.write_str("A period must not come right before the '@'."),
            ValueFault::PeriodPlacement => {
                f.write_str("A period must not start or end the value, and two periods must not follow each other.")
            }
            ValueFault::NotACountryCode => f.write_str("It must be a two-letter country code (ISO 3166), such as 'US'."),
            ValueFault::NotALanguageTag => {
                f.write_str("It must be a language tag: an ISO 639 language code, optionally followed by subtags such as a country code ('en-US').")
            }
            ValueFault::NotAUserType => f.write_str("It must be 'Member' or 'Guest'."),
            ValueFault::NotAnAddress => f.write_str("It must be an email address of the form local-part@domain."),
            ValueFault::TooManyValues { count, max } => {
                write!(f, "It holds {count} values; at most {max} can be set.")
            }
            ValueFault::Cleared => f.write_str("The property is required and cannot be cleared."),
        }
    }
}

/// The characters a UPN may hold besides `@` (the username policy).
fn upn_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '\'' | '.' | '-' | '_' | '!' | '#' | '^' | '~')
}

/// The characters of an Exchange alias (`mailNickname`); periods are checked separately.
fn alias_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '!' | '#' | '$' | '%' | '&' | '\'' | '*' | '+' | '-' | '/' | '=' | '?' | '^' | '_' | '`')
        || matches!(c, '{' | '|' | '}' | '~' | '.')
        || ('\u{A1}'..='\u{FF}').contains(&c)
}

/// The first character of `value` that `allowed` refuses.
fn first_refused(value: &str, allowed: impl Fn(char) -> bool) -> Result<(), ValueFault> {
    match value.chars().enumerate().find(|(_, c)| !allowed(*c)) {
        Some((i, ch)) => Err(ValueFault::Character { ch, at: i + 1 }),
        None => Ok(()),
    }
}

/// Length in UTF-16 code units, as Graph counts.
fn length(value: &str) -> usize {
    value.chars().map(char::len_utf16).sum()
}

fn at_most(value: &str, max: usize) -> Result<(), ValueFault> {
    let len = length(value);
    if len > max { Err(ValueFault::TooLong { len, max }) } else { Ok(()) }
}

/// A `userPrincipalName` under the username policy (see [`UPN_ALIAS_MAX`]).
pub(super) fn check_upn(upn: &str) -> Result<(), ValueFault> {
    first_refused(upn, |c| c == '@' || upn_char(c))?;
    let Some((alias, domain)) = upn.split_once('@') else {
        return Err(ValueFault::AtSign);
    };
    if domain.contains('@') {
        return Err(ValueFault::AtSign);
    }
    if alias.is_empty() || domain.is_empty() {
        return Err(ValueFault::EmptyPart);
    }
    if alias.ends_with('.') {
        return Err(ValueFault::PeriodBeforeAt);
    }
    // Every allowed character is ASCII: bytes are characters here.
    if alias.len() > UPN_ALIAS_MAX {
        return Err(ValueFault::AliasTooLong { len: alias.len() });
    }
    if domain.len() > UPN_DOMAIN_MAX {
        return Err(ValueFault::DomainTooLong { len: domain.len() });
    }
    Ok(())
}

/// How one property's value is checked besides its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Any text without control characters.
    Text,
    /// Text that may span lines (CR and LF allowed).
    Lines,
    MailAlias,
    CountryCode,
    LanguageTag,
    UserType,
    Address,
}

/// The rule of each single-valued text property the emulator knows: its maximum length (`None`: no
/// length rule) and its shape. `userPrincipalName` has its own rule ([`check_upn`]). The lengths are the
/// ones Graph's `user` resource documents; where it documents none (`mail`, `employeeType`, `faxNumber`,
/// `preferredLanguage`), none is enforced.
const RULES: &[(&str, Option<usize>, Shape)] = &[
    ("employeeId", Some(16), Shape::Text),
    ("displayName", Some(256), Shape::Text),
    ("givenName", Some(64), Shape::Text),
    ("surname", Some(64), Shape::Text),
    ("mail", None, Shape::Address),
    ("mailNickname", Some(64), Shape::MailAlias),
    ("jobTitle", Some(128), Shape::Text),
    ("department", Some(64), Shape::Text),
    ("companyName", Some(64), Shape::Text),
    ("userType", None, Shape::UserType),
    ("city", Some(128), Shape::Text),
    ("country", Some(128), Shape::Text),
    ("state", Some(128), Shape::Text),
    ("streetAddress", Some(1024), Shape::Lines),
    ("postalCode", Some(40), Shape::Text),
    ("officeLocation", Some(128), Shape::Text),
    ("mobilePhone", Some(64), Shape::Text),
    ("preferredLanguage", None, Shape::LanguageTag),
    ("usageLocation", None, Shape::CountryCode),
];

/// The most values `businessPhones` holds, and the longest one.
const BUSINESS_PHONES_MAX: usize = 1;
const PHONE_MAX: usize = 64;

/// A single-valued text property's value. Properties without a rule (custom attributes, the employee
/// dates and org data) are only refused control characters.
pub(super) fn check_text(property: &str, value: &str) -> Result<(), ValueFault> {
    let Some((_, max, shape)) = RULES.iter().find(|(p, _, _)| *p == property) else {
        return first_refused(value, |c| !c.is_control());
    };
    match shape {
        Shape::Text | Shape::LanguageTag | Shape::UserType | Shape::CountryCode => {
            first_refused(value, |c| !c.is_control())?
        }
        Shape::Lines => first_refused(value, |c| !c.is_control() || c == '\r' || c == '\n')?,
        Shape::MailAlias => {
            first_refused(value, alias_char)?;
            if value.starts_with('.') || value.ends_with('.') || value.contains("..") {
                return Err(ValueFault::PeriodPlacement);
            }
        }
        Shape::Address => address(value)?,
    }
    if let Some(max) = max {
        at_most(value, *max)?;
    }
    match shape {
        Shape::CountryCode if !(value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic())) => {
            Err(ValueFault::NotACountryCode)
        }
        Shape::LanguageTag if !language_tag(value) => Err(ValueFault::NotALanguageTag),
        Shape::UserType if !(value.eq_ignore_ascii_case("Member") || value.eq_ignore_ascii_case("Guest")) => {
            Err(ValueFault::NotAUserType)
        }
        _ => Ok(()),
    }
}

/// A multi-valued property's values: `businessPhones`, `otherMails`, or a custom attribute's.
pub(super) fn check_list(property: &str, values: &[String]) -> Result<(), ValueFault> {
    match property {
        "businessPhones" => check_phones(values),
        "otherMails" => check_mails(values),
        _ => values.iter().try_for_each(|v| check_text(property, v)),
    }
}

/// `businessPhones`: one number at most, each a short line of text.
fn check_phones(values: &[String]) -> Result<(), ValueFault> {
    if values.len() > BUSINESS_PHONES_MAX {
        return Err(ValueFault::TooManyValues { count: values.len(), max: BUSINESS_PHONES_MAX });
    }
    values.iter().try_for_each(|v| first_refused(v, |c| !c.is_control()).and_then(|()| at_most(v, PHONE_MAX)))
}

/// `otherMails`: each an address without accented characters.
fn check_mails(values: &[String]) -> Result<(), ValueFault> {
    values.iter().try_for_each(|v| address(v))
}

/// An address: printable ASCII only (Graph refuses accented characters in mail properties), one `@`
/// between non-empty parts.
fn address(value: &str) -> Result<(), ValueFault> {
    first_refused(value, |c| c.is_ascii_graphic())?;
    match value.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() && !domain.contains('@') => Ok(()),
        _ => Err(ValueFault::NotAnAddress),
    }
}

/// `ll`, `lll`, or either followed by `-`-separated subtags of 1–8 letters or digits (`en-US`, `zh-Hans-CN`).
fn language_tag(value: &str) -> bool {
    let mut parts = value.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upns_follow_the_username_policy() {
        let alias = "a".repeat(64);
        let domain = format!("{}.com", "d".repeat(44));
        for ok in ["jdoe@contoso.com", "o'brien.j-x_y!#^~@contoso.com", &format!("{alias}@{domain}")] {
            assert_eq!(check_upn(ok), Ok(()), "{ok}");
        }
        let rows: &[(&str, ValueFault)] = &[
            ("j\0doe@contoso.com", ValueFault::Character { ch: '\0', at: 2 }),
            ("j doe@contoso.com", ValueFault::Character { ch: ' ', at: 2 }),
            ("jdoe\u{7}@contoso.com", ValueFault::Character { ch: '\u{7}', at: 5 }),
            ("jdöe@contoso.com", ValueFault::Character { ch: 'ö', at: 3 }),
            ("j+doe@contoso.com", ValueFault::Character { ch: '+', at: 2 }),
            ("j&doe@contoso.com", ValueFault::Character { ch: '&', at: 2 }),
            ("jdoe", ValueFault::AtSign),
            ("j@doe@contoso.com", ValueFault::AtSign),
            ("@contoso.com", ValueFault::EmptyPart),
            ("jdoe@", ValueFault::EmptyPart),
            ("j.doe.@contoso.com", ValueFault::PeriodBeforeAt),
        ];
        for (upn, fault) in rows {
            assert_eq!(check_upn(upn).as_ref(), Err(fault), "{upn:?}");
        }
        assert_eq!(check_upn(&format!("a{alias}@contoso.com")), Err(ValueFault::AliasTooLong { len: 65 }));
        assert_eq!(check_upn(&format!("a@d{domain}")), Err(ValueFault::DomainTooLong { len: 49 }));
        assert_eq!(format!("{alias}@{domain}").len(), 113, "the longest parts make the policy's total");
    }

    #[test]
    fn documented_lengths_are_enforced_in_utf16_units() {
        let rows = [
            ("employeeId", 16),
            ("displayName", 256),
            ("givenName", 64),
            ("surname", 64),
            ("jobTitle", 128),
            ("department", 64),
            ("companyName", 64),
            ("city", 128),
            ("state", 128),
            ("country", 128),
            ("streetAddress", 1024),
            ("postalCode", 40),
            ("mobilePhone", 64),
            ("officeLocation", 128),
        ];
        for (property, max) in rows {
            assert_eq!(check_text(property, &"x".repeat(max)), Ok(()), "{property}");
            let fault = ValueFault::TooLong { len: max + 1, max };
            assert_eq!(check_text(property, &"x".repeat(max + 1)), Err(fault), "{property}");
        }
        // An emoji is two UTF-16 code units: eight of them fill employeeId.
        assert_eq!(check_text("employeeId", &"😀".repeat(8)), Ok(()));
        assert_eq!(check_text("employeeId", &"😀".repeat(9)), Err(ValueFault::TooLong { len: 18, max: 16 }));
        assert_eq!(check_text("employeeId", &"é".repeat(16)), Ok(()));
    }

    #[test]
    fn control_characters_are_refused_everywhere_but_line_breaks_in_street_address() {
        for property in
            ["displayName", "department", "employeeOrgData.division", "extension_custom", "preferredLanguage"]
        {
            assert_eq!(check_text(property, "a\0b"), Err(ValueFault::Character { ch: '\0', at: 2 }), "{property}");
        }
        assert_eq!(check_text("streetAddress", "1 Main St\r\nSuite 2"), Ok(()));
        assert_eq!(check_text("streetAddress", "1 Main St\t"), Err(ValueFault::Character { ch: '\t', at: 10 }));
        assert_eq!(check_text("employeeOrgData.costCenter", &"x".repeat(5000)), Ok(()), "no documented length");
    }

    #[test]
    fn mail_aliases_follow_exchange_rules() {
        for ok in ["jdoe", "j.doe", "o'brien", "a!#$%&'*+-/=?^_`{|}~z", "müller", &"a".repeat(64)] {
            assert_eq!(check_text("mailNickname", ok), Ok(()), "{ok}");
        }
        let rows: &[(&str, ValueFault)] = &[
            ("j doe", ValueFault::Character { ch: ' ', at: 2 }),
            ("j@doe", ValueFault::Character { ch: '@', at: 2 }),
            ("j(doe)", ValueFault::Character { ch: '(', at: 2 }),
            ("jōe", ValueFault::Character { ch: 'ō', at: 2 }),
            (".jdoe", ValueFault::PeriodPlacement),
            ("jdoe.", ValueFault::PeriodPlacement),
            ("j..doe", ValueFault::PeriodPlacement),
        ];
        for (alias, fault) in rows {
            assert_eq!(check_text("mailNickname", alias).as_ref(), Err(fault), "{alias:?}");
        }
        assert_eq!(check_text("mailNickname", &"a".repeat(65)), Err(ValueFault::TooLong { len: 65, max: 64 }));
    }

    #[test]
    fn shaped_properties() {
        assert_eq!(check_text("usageLocation", "US"), Ok(()));
        assert_eq!(check_text("usageLocation", "gb"), Ok(()));
        for bad in ["USA", "U", "U1", ""] {
            assert_eq!(check_text("usageLocation", bad), Err(ValueFault::NotACountryCode), "{bad}");
        }
        for ok in ["en", "en-US", "zh-Hans-CN", "es-419"] {
            assert_eq!(check_text("preferredLanguage", ok), Ok(()), "{ok}");
        }
        for bad in ["english", "e", "en_US", "en-", "en-toolongsubtag"] {
            assert_eq!(check_text("preferredLanguage", bad), Err(ValueFault::NotALanguageTag), "{bad}");
        }
        assert_eq!(check_text("userType", "Member"), Ok(()));
        assert_eq!(check_text("userType", "guest"), Ok(()));
        assert_eq!(check_text("userType", "Contractor"), Err(ValueFault::NotAUserType));
        assert_eq!(check_text("mail", "j.doe@contoso.com"), Ok(()));
        assert_eq!(check_text("mail", "jdoe"), Err(ValueFault::NotAnAddress));
        assert_eq!(check_text("mail", "jdöe@contoso.com"), Err(ValueFault::Character { ch: 'ö', at: 3 }));
        let mails = ["a@b.c".to_owned(), "x y@b.c".to_owned()];
        assert_eq!(check_list("otherMails", &mails), Err(ValueFault::Character { ch: ' ', at: 2 }));
        assert_eq!(check_list("businessPhones", &["+1 555 0100".to_owned()]), Ok(()));
        let phones = ["1".to_owned(), "2".to_owned()];
        assert_eq!(check_list("businessPhones", &phones), Err(ValueFault::TooManyValues { count: 2, max: 1 }));
        assert_eq!(check_list("custom", &phones), Ok(()), "a custom list has no count rule");
    }

    #[test]
    fn faults_name_the_character_without_echoing_the_value() {
        let nul = ValueFault::Character { ch: '\0', at: 3 };
        assert_eq!(nul.to_string(), "The value contains the control character U+0000 at position 3.");
        let accent = ValueFault::Character { ch: 'ö', at: 2 };
        assert_eq!(accent.to_string(), "The value contains 'ö' (U+00F6) at position 2, which is not allowed.");
        assert_eq!(
            ValueFault::TooLong { len: 10_000, max: 256 }.to_string(),
            "The value has 10000 characters; at most 256 are allowed."
        );
    }
}
