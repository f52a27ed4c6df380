//! Errors and warnings.
//!
//! A [`ParseError`] stops the parse and names the line (1-based) and the offending text.
//! An [`AttributeError`] says why one attribute value did not parse into its typed form; in
//! lenient mode it becomes a [`Warning`] and the attribute is kept verbatim, in strict mode it
//! becomes [`ParseError::InvalidAttribute`].

use thiserror::Error;

/// The longest piece of offending input an error or warning carries, in bytes. Bounds what
/// a hostile 10 MB line can make us copy.
pub const MAX_ERROR_TEXT: usize = 128;

/// Why an SDP document did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input is longer than [`crate::ParseOptions::max_input_len`].
    #[error("SDP is {len} bytes, more than the limit of {max}")]
    InputTooLarge {
        /// Input length in bytes.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// The input has more lines than [`crate::ParseOptions::max_lines`].
    #[error("SDP has more than {max} lines")]
    TooManyLines {
        /// The configured limit.
        max: usize,
    },
    /// The input has more `m=` sections than [`crate::ParseOptions::max_media_sections`].
    #[error("line {line}: more than {max} media sections")]
    TooManyMediaSections {
        /// Line of the first `m=` past the limit.
        line: usize,
        /// The configured limit.
        max: usize,
    },
    /// The bytes are not UTF-8 (only from [`crate::SessionDescription::parse_bytes`]).
    #[error("line {line}: invalid UTF-8 at byte offset {offset}")]
    InvalidUtf8 {
        /// Line holding the first invalid byte.
        line: usize,
        /// Byte offset of the first invalid byte in the input.
        offset: usize,
    },
    /// The input is empty or has no `v=` line first.
    #[error("line {line}: SDP must start with v=0, found {text:?}")]
    MissingVersion {
        /// Line number.
        line: usize,
        /// What stood there.
        text: String,
    },
    /// A mandatory session line is absent.
    #[error("missing mandatory {kind}= line")]
    MissingLine {
        /// The missing line type (`o`, `s` or `t`).
        kind: char,
    },
    /// A line is not `<letter>=<value>`.
    #[error("line {line}: not a <type>=<value> line: {text:?}")]
    MalformedLine {
        /// Line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// RFC 8866 §5: a type letter we do not understand makes the whole description invalid.
    #[error("line {line}: unknown line type {kind:?}: {text:?}")]
    UnknownLineType {
        /// Line number.
        line: usize,
        /// The type letter.
        kind: char,
        /// The line.
        text: String,
    },
    /// A line appears where RFC 8866 §5 does not allow it (strict mode), or a line that may
    /// appear once appears twice.
    #[error("line {line}: {kind}= line not allowed here: {text:?}")]
    UnexpectedLine {
        /// Line number.
        line: usize,
        /// The type letter.
        kind: char,
        /// The line.
        text: String,
    },
    /// A line's value does not follow its grammar.
    #[error("line {line}: invalid {kind}= line ({reason}): {text:?}")]
    InvalidLine {
        /// Line number.
        line: usize,
        /// The type letter.
        kind: char,
        /// What is wrong.
        reason: LineFault,
        /// The line.
        text: String,
    },
    /// A typed attribute is malformed (strict mode only; lenient mode warns).
    #[error("line {line}: invalid a={name} ({error}): {text:?}")]
    InvalidAttribute {
        /// Line number.
        line: usize,
        /// Attribute name.
        name: String,
        /// What is wrong.
        error: AttributeError,
        /// The line.
        text: String,
    },
}

impl ParseError {
    /// The 1-based line number the error is about, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::InputTooLarge { .. } | Self::TooManyLines { .. } | Self::MissingLine { .. } => {
                None
            }
            Self::TooManyMediaSections { line, .. }
            | Self::InvalidUtf8 { line, .. }
            | Self::MissingVersion { line, .. }
            | Self::MalformedLine { line, .. }
            | Self::UnknownLineType { line, .. }
            | Self::UnexpectedLine { line, .. }
            | Self::InvalidLine { line, .. }
            | Self::InvalidAttribute { line, .. } => Some(*line),
        }
    }
}

/// What is wrong with a non-attribute line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LineFault {
    /// A field is missing.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A field that must be a number is not, or is out of range.
    #[error("bad number in field {0}")]
    BadNumber(&'static str),
    /// More fields than the grammar allows.
    #[error("trailing fields")]
    TrailingFields,
    /// `v=` is not `0`.
    #[error("unsupported version")]
    UnsupportedVersion,
    /// An `m=` line has no format.
    #[error("no media format")]
    NoFormats,
    /// A value is empty or has characters the grammar forbids.
    #[error("bad characters in field {0}")]
    BadText(&'static str),
}

/// Why an attribute value did not parse into its typed form. Cheap and `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AttributeError {
    /// The attribute needs a value (`a=name:value`) and has none.
    #[error("missing value")]
    MissingValue,
    /// A field is missing.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A field that must be a number is not, or is out of range.
    #[error("bad number in field {0}")]
    BadNumber(&'static str),
    /// A field holds a value the grammar does not allow.
    #[error("bad value in field {0}")]
    BadValue(&'static str),
    /// A port is out of range or 0 where 0 is not allowed.
    #[error("port out of range in field {0}")]
    BadPort(&'static str),
    /// A fingerprint is not colon-separated pairs of hex digits.
    #[error("fingerprint is not colon-separated hex byte pairs")]
    BadFingerprintHex,
    /// A fingerprint has the wrong length for its hash function.
    #[error("fingerprint has {len} bytes, {hash} needs {expected}")]
    FingerprintLength {
        /// The hash function.
        hash: &'static str,
        /// Bytes found.
        len: usize,
        /// Bytes the hash function produces.
        expected: usize,
    },
    /// An `a=candidate` `key value` extension list has a key with no value.
    #[error("candidate extension without value")]
    DanglingExtension,
    /// More fields than the grammar allows.
    #[error("trailing fields")]
    TrailingFields,
    /// A flag attribute (`a=rtcp-mux`) carries a value.
    #[error("flag attribute has a value")]
    UnexpectedValue,
}

/// Something lenient parsing skipped past or kept verbatim although it looked wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub kind: WarningKind,
    /// The offending line, truncated to [`MAX_ERROR_TEXT`] bytes.
    pub text: String,
}

/// The kind of a [`Warning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningKind {
    /// A known attribute did not parse into its typed form; it is kept verbatim and typed
    /// accessors skip it.
    MalformedAttribute(AttributeError),
    /// A line appeared out of the RFC 8866 §5 order; it was attached where it fits and will
    /// be emitted in canonical order.
    LineOutOfOrder,
    /// An empty line was skipped.
    EmptyLine,
    /// An `m=` line without formats was accepted.
    NoFormats,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            WarningKind::MalformedAttribute(e) => {
                write!(
                    f,
                    "line {}: malformed attribute ({e}): {:?}",
                    self.line, self.text
                )
            }
            WarningKind::LineOutOfOrder => {
                write!(f, "line {}: line out of order: {:?}", self.line, self.text)
            }
            WarningKind::EmptyLine => write!(f, "line {}: empty line skipped", self.line),
            WarningKind::NoFormats => {
                write!(
                    f,
                    "line {}: m= line without formats: {:?}",
                    self.line, self.text
                )
            }
        }
    }
}

/// Copies at most [`MAX_ERROR_TEXT`] bytes of `text`, cut on a character boundary.
pub(crate) fn excerpt(text: &str) -> String {
    if text.len() <= MAX_ERROR_TEXT {
        return text.to_owned();
    }
    let mut end = MAX_ERROR_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_owned()
}

/// Why a builder could not produce a description.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An attribute value does not follow its grammar or holds CR, LF or NUL.
    #[error("invalid a={name}: {error}")]
    InvalidAttribute {
        /// Attribute name.
        name: String,
        /// What is wrong.
        error: AttributeError,
    },
    /// A text field (session name, origin, protocol, format) is empty where it must not be,
    /// or holds CR, LF, NUL or (for tokens) whitespace.
    #[error("invalid text in {field}")]
    InvalidText {
        /// The field.
        field: &'static str,
    },
}
