//! `a=` lines: the verbatim [`Attribute`] and the [`AttributeValue`] trait its typed forms
//! implement.
//!
//! An attribute is stored as the exact text after `a=`, so unknown and malformed attributes
//! survive a round trip byte for byte. Typed accessors parse on demand; the parser checks every
//! known attribute once so that a malformed one is reported (warning or error) with its line.

use std::fmt;

use crate::attr;
use crate::error::AttributeError;

/// Bytes stored inline (without a heap allocation) by an [`Attribute`]: enough for most
/// `rtpmap`, `rtcp-fb`, `fmtp`, `mid`, `setup`, `ice-*` lines.
const INLINE: usize = 38;

/// A short string stored inline, or a boxed one. Canonical: text of at most `INLINE` bytes is
/// always inline (with zeroed tail), so derived equality and hashing compare the text.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Text {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<str>),
}

impl Text {
    fn new(s: &str) -> Self {
        let bytes = s.as_bytes();
        match (u8::try_from(bytes.len()), [0u8; INLINE]) {
            (Ok(len), mut buf) if bytes.len() <= INLINE => match buf.get_mut(..bytes.len()) {
                Some(dst) => {
                    dst.copy_from_slice(bytes);
                    Self::Inline { len, buf }
                }
                None => Self::Heap(s.into()),
            },
            _ => Self::Heap(s.into()),
        }
    }

    fn from_string(s: String) -> Self {
        if s.len() <= INLINE {
            Self::new(&s)
        } else {
            Self::Heap(s.into_boxed_str())
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or_default(),
            Self::Heap(s) => s.as_bytes(),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // The bytes were copied from a `&str` whole, so they are UTF-8.
            Self::Inline { len, buf } => buf
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            Self::Heap(s) => s,
        }
    }
}

/// One `a=` line: `name` (a flag such as `rtcp-mux`) or `name:value`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// Everything after `a=`, verbatim.
    text: Text,
    /// Byte index of the first `:`, if any. Names are RFC 8866 tokens, which cannot hold `:`.
    colon: Option<usize>,
}

impl Attribute {
    /// Builds `a=name:value` (or the flag `a=name` when `value` is `None`), checking that `name`
    /// is an RFC 8866 token and that neither part holds CR, LF or NUL, which would let the
    /// caller inject lines into the description.
    pub fn new(name: &str, value: Option<&str>) -> Result<Self, AttributeError> {
        if !is_token(name) {
            return Err(AttributeError::BadValue("name"));
        }
        if let Some(v) = value
            && !is_line_safe(v)
        {
            return Err(AttributeError::BadValue("value"));
        }
        Ok(Self::new_unchecked(name, value))
    }

    /// Builds a flag attribute `a=name` (see [`Attribute::new`]).
    pub fn flag(name: &str) -> Result<Self, AttributeError> {
        Self::new(name, None)
    }

    /// Builds the attribute for a typed value (`a=candidate:...` from a [`crate::Candidate`]).
    /// Fails when a text field of the value holds CR, LF or NUL.
    pub fn from_value<T: AttributeValue>(value: &T) -> Result<Self, AttributeError> {
        let mut text = String::with_capacity(T::NAME.len() + 48);
        text.push_str(T::NAME);
        text.push(':');
        let start = text.len();
        // Writing into a String cannot fail.
        let _ = fmt::write(&mut text, format_args!("{value}"));
        if !text.get(start..).is_some_and(is_line_safe) {
            return Err(AttributeError::BadValue("value"));
        }
        Ok(Self {
            colon: Some(T::NAME.len()),
            text: Text::from_string(text),
        })
    }

    /// Inner constructor for names and values known to be well-formed.
    pub(crate) fn new_unchecked(name: &str, value: Option<&str>) -> Self {
        match value {
            None => Self {
                text: Text::new(name),
                colon: None,
            },
            Some(v) => {
                let mut text = String::with_capacity(name.len() + 1 + v.len());
                text.push_str(name);
                text.push(':');
                text.push_str(v);
                Self {
                    text: Text::from_string(text),
                    colon: Some(name.len()),
                }
            }
        }
    }

    /// Wraps the verbatim text after `a=` (as the parser does). Never fails: the name is
    /// everything up to the first `:`.
    pub fn from_line(text: &str) -> Self {
        Self::from_line_at(text, text.bytes().position(|b| b == b':'))
    }

    /// [`Attribute::from_line`] with the first `:` already found by the caller.
    pub(crate) fn from_line_at(text: &str, colon: Option<usize>) -> Self {
        Self {
            colon,
            text: Text::new(text),
        }
    }

    /// The attribute name (`candidate`, `rtcp-mux`).
    pub fn name(&self) -> &str {
        let text = self.text.as_str();
        match self.colon {
            Some(i) => text.get(..i).unwrap_or_default(),
            None => text,
        }
    }

    /// The value after the first `:`, or `None` for a flag attribute.
    pub fn value(&self) -> Option<&str> {
        self.colon.and_then(|i| self.text.as_str().get(i + 1..))
    }

    /// The whole text after `a=`, verbatim.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }

    /// Whether the attribute is called `name`.
    pub fn is(&self, name: &str) -> bool {
        let text = self.text.as_bytes();
        let own = match self.colon {
            Some(i) => text.get(..i).unwrap_or_default(),
            None => text,
        };
        own == name.as_bytes()
    }

    /// The whole text after `a=` as bytes (no UTF-8 re-check; for the serializer).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// Parses the value into `T` if this attribute is `T::NAME`; `None` for another name.
    pub fn parse_as<T: AttributeValue>(&self) -> Option<Result<T, AttributeError>> {
        if !self.is(T::NAME) {
            return None;
        }
        Some(match self.value() {
            Some(v) => T::parse_value(v),
            None => Err(AttributeError::MissingValue),
        })
    }

    /// Checks a known attribute against its grammar; unknown attributes always pass.
    pub fn check(&self) -> Result<(), AttributeError> {
        attr::check(self.name(), self.value())
    }
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a={}", self.as_str())
    }
}

impl fmt::Display for Attribute {
    /// The text after `a=`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed attribute value: `Candidate` for `a=candidate:`, `Fingerprint` for
/// `a=fingerprint:`, … `Display` writes the value (the text after `name:`).
pub trait AttributeValue: Sized + fmt::Display {
    /// The attribute name.
    const NAME: &'static str;
    /// Parses the text after `name:`.
    fn parse_value(value: &str) -> Result<Self, AttributeError>;
}

/// RFC 8866 §9 `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// RFC 8866 §9 `token-char`.
pub(crate) fn is_token_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x27 | 0x2A..=0x2B | 0x2D..=0x2E | 0x30..=0x39 | 0x41..=0x5A | 0x5E..=0x7E)
}

/// No CR, LF or NUL (RFC 8866 §9 `byte-string` / `text`).
pub(crate) fn is_line_safe(s: &str) -> bool {
    !s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// The first attribute called `name`.
pub(crate) fn find<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attrs.iter().find(|a| a.is(name))
}

/// Whether a flag (or any attribute) called `name` is present.
pub(crate) fn has(attrs: &[Attribute], name: &str) -> bool {
    attrs.iter().any(|a| a.is(name))
}

/// The value of the first attribute called `name`.
pub(crate) fn value_of<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a str> {
    find(attrs, name).and_then(Attribute::value)
}

/// The first well-formed `T`.
pub(crate) fn first_typed<T: AttributeValue>(attrs: &[Attribute]) -> Option<T> {
    attrs
        .iter()
        .find_map(|a| a.parse_as::<T>().and_then(Result::ok))
}

/// Every well-formed `T`, in order; malformed ones (already reported by the parser) are
/// skipped.
pub(crate) fn all_typed<T: AttributeValue>(attrs: &[Attribute]) -> impl Iterator<Item = T> + '_ {
    attrs
        .iter()
        .filter_map(|a| a.parse_as::<T>().and_then(Result::ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_storage_compare_by_text() {
        let short = Attribute::from_line("mid:0");
        assert!(matches!(short.text, Text::Inline { .. }));
        let long_text = format!("x-long:{}", "y".repeat(100));
        let long = Attribute::from_line(&long_text);
        assert!(matches!(long.text, Text::Heap(_)));
        assert_eq!(long.as_str(), long_text);
        assert_eq!(Attribute::new("mid", Some("0")).unwrap(), short);
        // Exactly at the inline limit, and one past it, with multi-byte characters.
        let at = format!("a:{}", "é".repeat((INLINE - 2) / 2));
        assert_eq!(Attribute::from_line(&at).as_str(), at);
        let past = format!("a:{}", "é".repeat(INLINE));
        assert_eq!(Attribute::from_line(&past).as_str(), past);
    }

    #[test]
    fn name_value_flag() {
        let a = Attribute::from_line("fmtp:97 apt=96");
        assert_eq!((a.name(), a.value()), ("fmtp", Some("97 apt=96")));
        assert!(a.is("fmtp") && !a.is("fmt"));
        let f = Attribute::flag("rtcp-mux").unwrap();
        assert_eq!((f.name(), f.value()), ("rtcp-mux", None));
        assert_eq!(format!("{f:?}"), "a=rtcp-mux");
        // The value keeps later colons.
        assert_eq!(
            Attribute::from_line("ssrc:1 cname:a:b").value(),
            Some("1 cname:a:b")
        );
        assert_eq!(
            Attribute::new("bad name", None),
            Err(AttributeError::BadValue("name"))
        );
        assert_eq!(
            Attribute::new("a:b", None),
            Err(AttributeError::BadValue("name"))
        );
        assert_eq!(
            Attribute::new("x", Some("a\nb")),
            Err(AttributeError::BadValue("value"))
        );
        assert_eq!(
            Attribute::new("x", Some("nul\0")),
            Err(AttributeError::BadValue("value"))
        );
    }
}
