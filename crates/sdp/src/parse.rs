//! The line-by-line parser (RFC 8866 §5).
//!
//! One pass over the input, borrowing every field and allocating only for what the model
//! keeps. Bounds are checked before the work they bound.

use crate::attr;
use crate::attribute::{Attribute, is_token};
use crate::config::{ParseMode, ParseOptions};
use crate::error::{LineFault, ParseError, Warning, WarningKind, excerpt};
use crate::lines::{
    Bandwidth, Connection, Origin, Repeat, Timing, Words, digits, parse_time_zones,
};
use crate::media::{MediaDescription, MediaKind};
use crate::session::SessionDescription;

/// Position in the RFC 8866 §5 line order of the session part.
fn session_rank(kind: u8) -> u8 {
    match kind {
        b'v' => 0,
        b'o' => 1,
        b's' => 2,
        b'i' => 3,
        b'u' => 4,
        b'e' => 5,
        b'p' => 6,
        b'c' => 7,
        b'b' => 8,
        b't' | b'r' => 9,
        b'z' => 10,
        b'k' => 11,
        _ => 12, // a
    }
}

/// Position in the RFC 8866 §5 line order of a media section.
fn media_rank(kind: u8) -> u8 {
    match kind {
        b'm' => 0,
        b'i' => 1,
        b'c' => 2,
        b'b' => 3,
        b'k' => 4,
        _ => 5, // a
    }
}

struct Parser<'o> {
    options: &'o ParseOptions,
    warnings: Vec<Warning>,
    /// Whether typed attributes are checked: always in strict mode, and in lenient mode
    /// only when the caller receives the warnings (checking cannot change the model).
    check_attributes: bool,
}

impl Parser<'_> {
    fn strict(&self) -> bool {
        self.options.mode == ParseMode::Strict
    }

    fn warn(&mut self, line: usize, kind: WarningKind, text: &str) {
        // Bounded by the line count bound: at most one warning per line.
        self.warnings.push(Warning {
            line,
            kind,
            text: excerpt(text),
        });
    }

    /// Order check: strict mode rejects, lenient mode warns and goes on.
    fn order(
        &mut self,
        rank: u8,
        current: &mut u8,
        line: usize,
        kind: u8,
        text: &str,
    ) -> Result<(), ParseError> {
        if rank < *current {
            if self.strict() {
                return Err(unexpected(line, kind, text));
            }
            self.warn(line, WarningKind::LineOutOfOrder, text);
        } else {
            *current = rank;
        }
        Ok(())
    }

    fn attribute(&mut self, line: usize, value: &str, text: &str) -> Result<Attribute, ParseError> {
        let colon = value.bytes().position(|b| b == b':');
        if self.check_attributes {
            // Checked on the borrowed line, before it is copied into the model.
            let (name, val) = match colon.and_then(|i| value.split_at_checked(i)) {
                Some((n, v)) => (n, v.get(1..)),
                None => (value, None),
            };
            if let Err(error) = attr::check(name, val) {
                if self.strict() {
                    return Err(ParseError::InvalidAttribute {
                        line,
                        name: excerpt(name),
                        error,
                        text: excerpt(text),
                    });
                }
                self.warn(line, WarningKind::MalformedAttribute(error), text);
            }
        }
        Ok(Attribute::from_line_at(value, colon))
    }
}

fn unexpected(line: usize, kind: u8, text: &str) -> ParseError {
    ParseError::UnexpectedLine {
        line,
        kind: char::from(kind),
        text: excerpt(text),
    }
}

fn invalid(line: usize, kind: u8, reason: LineFault, text: &str) -> ParseError {
    ParseError::InvalidLine {
        line,
        kind: char::from(kind),
        reason,
        text: excerpt(text),
    }
}

/// Sets a field that may appear once.
fn once<T>(
    slot: &mut Option<T>,
    v: T,
    line: usize,
    kind: u8,
    text: &str,
) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(unexpected(line, kind, text));
    }
    *slot = Some(v);
    Ok(())
}

/// RFC 8866 §5.14: `m=<media> <port>[/<number of ports>] <proto> <fmt> ...`.
fn media_line(v: &str) -> Result<MediaDescription, LineFault> {
    let mut w = Words::new(v);
    let kind = w.token("media")?;
    let port_field = w.need("port")?;
    let (port, port_count) = match port_field.split_once('/') {
        Some((p, n)) => (digits(p, "port")?, Some(digits(n, "number of ports")?)),
        None => (digits(port_field, "port")?, None),
    };
    let protocol = w.need("proto")?;
    if !protocol
        .bytes()
        .all(|b| b == b'/' || crate::attribute::is_token_char(b))
    {
        return Err(LineFault::BadText("proto"));
    }
    let mut formats = Vec::new();
    while let Some(f) = w.next_opt() {
        if !is_token(f) {
            return Err(LineFault::BadText("fmt"));
        }
        formats.push(f.to_owned());
    }
    let mut m = MediaDescription::new(MediaKind::from_token(kind), port, protocol, formats);
    m.port_count = port_count;
    Ok(m)
}

/// Parses a whole description.
///
/// `want_warnings: false` (from [`SessionDescription::parse`], which drops them) lets lenient
/// mode skip the typed-attribute checks, whose only effect there would be warnings.
pub(crate) fn parse(
    text: &str,
    options: &ParseOptions,
    want_warnings: bool,
) -> Result<(SessionDescription, Vec<Warning>), ParseError> {
    if text.len() > options.max_input_len {
        return Err(ParseError::InputTooLarge {
            len: text.len(),
            max: options.max_input_len,
        });
    }
    let mut p = Parser {
        options,
        warnings: Vec::new(),
        check_attributes: want_warnings || options.mode == ParseMode::Strict,
    };
    // The final line terminator does not start another line.
    let body = text.strip_suffix('\n').unwrap_or(text);

    let mut origin: Option<Origin> = None;
    let mut session_name: Option<String> = None;
    let mut s = SessionDescription {
        origin: Origin::placeholder(),
        session_name: String::new(),
        information: None,
        uri: None,
        emails: Vec::new(),
        phones: Vec::new(),
        connection: None,
        bandwidths: Vec::new(),
        timings: Vec::new(),
        time_zones: Vec::new(),
        encryption_key: None,
        attributes: Vec::new(),
        media: Vec::new(),
    };
    let mut saw_version = false;
    let mut rank = 0u8;
    let mut current: Option<MediaDescription> = None;

    for (index, raw) in body.split('\n').enumerate() {
        let lineno = index + 1;
        if lineno > options.max_lines {
            return Err(ParseError::TooManyLines {
                max: options.max_lines,
            });
        }
        // RFC 8866 §5: lines end with CRLF, but parsers SHOULD accept a bare LF too.
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let bytes = line.as_bytes();
        if bytes.is_empty() {
            if p.strict() {
                return Err(ParseError::MalformedLine {
                    line: lineno,
                    text: String::new(),
                });
            }
            p.warn(lineno, WarningKind::EmptyLine, line);
            continue;
        }
        let kind = match bytes {
            [k, b'=', ..] if k.is_ascii_lowercase() => *k,
            _ if !saw_version => {
                return Err(ParseError::MissingVersion {
                    line: lineno,
                    text: excerpt(line),
                });
            }
            _ => {
                return Err(ParseError::MalformedLine {
                    line: lineno,
                    text: excerpt(line),
                });
            }
        };
        // Both bytes before the value are ASCII, so index 2 is a char boundary.
        let value = line.get(2..).unwrap_or_default();

        if !saw_version {
            // RFC 8866 §5: the description starts with "v=0".
            if kind != b'v' {
                return Err(ParseError::MissingVersion {
                    line: lineno,
                    text: excerpt(line),
                });
            }
            if value.trim() != "0" {
                return Err(invalid(lineno, kind, LineFault::UnsupportedVersion, line));
            }
            saw_version = true;
            continue;
        }

        if kind == b'm' {
            if s.media.len() + usize::from(current.is_some()) >= options.max_media_sections {
                return Err(ParseError::TooManyMediaSections {
                    line: lineno,
                    max: options.max_media_sections,
                });
            }
            let m = media_line(value).map_err(|f| invalid(lineno, kind, f, line))?;
            if m.formats.is_empty() {
                // RFC 8866 §9: m= needs at least one fmt.
                if p.strict() {
                    return Err(invalid(lineno, kind, LineFault::NoFormats, line));
                }
                p.warn(lineno, WarningKind::NoFormats, line);
            }
            if let Some(done) = current.replace(m) {
                s.media.push(done);
            }
            rank = 0;
            continue;
        }

        if let Some(m) = current.as_mut() {
            // Media section.
            match kind {
                b'i' | b'c' | b'b' | b'k' | b'a' => {}
                b'v' | b'o' | b's' | b'u' | b'e' | b'p' | b't' | b'r' | b'z' => {
                    return Err(unexpected(lineno, kind, line));
                }
                _ => {
                    return Err(ParseError::UnknownLineType {
                        line: lineno,
                        kind: char::from(kind),
                        text: excerpt(line),
                    });
                }
            }
            p.order(media_rank(kind), &mut rank, lineno, kind, line)?;
            match kind {
                b'a' => {
                    let a = p.attribute(lineno, value, line)?;
                    m.attributes.push(a);
                }
                b'i' => once(&mut m.information, value.to_owned(), lineno, kind, line)?,
                b'c' => m
                    .connections
                    .push(Connection::parse(value).map_err(|f| invalid(lineno, kind, f, line))?),
                b'b' => m
                    .bandwidths
                    .push(Bandwidth::parse(value).map_err(|f| invalid(lineno, kind, f, line))?),
                _ => once(&mut m.encryption_key, value.to_owned(), lineno, kind, line)?,
            }
            continue;
        }

        // Session section.
        if !matches!(
            kind,
            b'o' | b's'
                | b'i'
                | b'u'
                | b'e'
                | b'p'
                | b'c'
                | b'b'
                | b't'
                | b'r'
                | b'z'
                | b'k'
                | b'a'
        ) {
            if kind == b'v' {
                return Err(unexpected(lineno, kind, line));
            }
            // RFC 8866 §5: a description with a type letter we do not understand is rejected.
            return Err(ParseError::UnknownLineType {
                line: lineno,
                kind: char::from(kind),
                text: excerpt(line),
            });
        }
        p.order(session_rank(kind), &mut rank, lineno, kind, line)?;
        match kind {
            b'a' => {
                let a = p.attribute(lineno, value, line)?;
                s.attributes.push(a);
            }
            b'o' => {
                let o = Origin::parse(value).map_err(|f| invalid(lineno, kind, f, line))?;
                once(&mut origin, o, lineno, kind, line)?;
            }
            b's' => once(&mut session_name, value.to_owned(), lineno, kind, line)?,
            b'i' => once(&mut s.information, value.to_owned(), lineno, kind, line)?,
            b'u' => once(&mut s.uri, value.to_owned(), lineno, kind, line)?,
            b'e' => s.emails.push(value.to_owned()),
            b'p' => s.phones.push(value.to_owned()),
            b'c' => {
                let c = Connection::parse(value).map_err(|f| invalid(lineno, kind, f, line))?;
                once(&mut s.connection, c, lineno, kind, line)?;
            }
            b'b' => s
                .bandwidths
                .push(Bandwidth::parse(value).map_err(|f| invalid(lineno, kind, f, line))?),
            b't' => s
                .timings
                .push(Timing::parse(value).map_err(|f| invalid(lineno, kind, f, line))?),
            b'r' => {
                let r = Repeat::parse(value).map_err(|f| invalid(lineno, kind, f, line))?;
                // RFC 8866 §5.10: r= belongs to the t= before it.
                match s.timings.last_mut() {
                    Some(t) => t.repeats.push(r),
                    None => return Err(unexpected(lineno, kind, line)),
                }
            }
            b'z' => {
                if !s.time_zones.is_empty() {
                    return Err(unexpected(lineno, kind, line));
                }
                s.time_zones =
                    parse_time_zones(value).map_err(|f| invalid(lineno, kind, f, line))?;
            }
            _ => once(&mut s.encryption_key, value.to_owned(), lineno, kind, line)?,
        }
    }
    if let Some(done) = current {
        s.media.push(done);
    }
    if !saw_version {
        return Err(ParseError::MissingVersion {
            line: 1,
            text: String::new(),
        });
    }
    // RFC 8866 §5: o=, s= and at least one t= are mandatory.
    s.origin = origin.ok_or(ParseError::MissingLine { kind: 'o' })?;
    s.session_name = session_name.ok_or(ParseError::MissingLine { kind: 's' })?;
    if s.timings.is_empty() {
        return Err(ParseError::MissingLine { kind: 't' });
    }
    Ok((s, p.warnings))
}
