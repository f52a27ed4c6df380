//! The session description: model, session-level accessors, parse entry points and the
//! serializer.

use std::fmt;

use crate::accessors::attribute_accessors;
use crate::attr::dtls::{Fingerprint, Setup};
use crate::attr::group::{Group, MsidSemantic};
use crate::attr::ice::IceOptions;
use crate::attribute::Attribute;
use crate::config::ParseOptions;
use crate::error::{ParseError, Warning};
use crate::lines::{Bandwidth, Connection, Origin, TimeZoneAdjustment, Timing};
use crate::media::MediaDescription;
use crate::parse;

/// An SDP session description (RFC 8866 §5): the session-level lines and the media sections.
///
/// `v=0` is implied (it is the only version). [`fmt::Display`] writes the description with CRLF
/// line endings in RFC 8866 §5 order; attributes keep their order and text, so
/// `parse(text)?.to_string() == text` for any description already in canonical order with CRLF
/// endings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=` (`-` in WebRTC).
    pub session_name: String,
    /// `i=`.
    pub information: Option<String>,
    /// `u=`.
    pub uri: Option<String>,
    /// `e=` lines.
    pub emails: Vec<String>,
    /// `p=` lines.
    pub phones: Vec<String>,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines with their `r=` lines (at least one when parsed).
    pub timings: Vec<Timing>,
    /// `z=` adjustments.
    pub time_zones: Vec<TimeZoneAdjustment>,
    /// `k=` (obsolete; kept verbatim).
    pub encryption_key: Option<String>,
    /// Session-level `a=` lines in order.
    pub attributes: Vec<Attribute>,
    /// `m=` sections in order.
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// An empty description: the given origin, `s=-`, `t=0 0`, no attributes, no media.
    pub fn new(origin: Origin) -> Self {
        Self {
            origin,
            session_name: "-".to_owned(),
            information: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timings: vec![Timing::default()],
            time_zones: Vec::new(),
            encryption_key: None,
            attributes: Vec::new(),
            media: Vec::new(),
        }
    }

    /// Parses leniently with default bounds, dropping the warnings.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        parse::parse(text, &ParseOptions::default(), false).map(|(s, _)| s)
    }

    /// Parses with explicit options; returns the warnings lenient mode collected.
    pub fn parse_with(
        text: &str,
        options: &ParseOptions,
    ) -> Result<(Self, Vec<Warning>), ParseError> {
        parse::parse(text, options, true)
    }

    /// Parses strictly with default bounds.
    pub fn parse_strict(text: &str) -> Result<Self, ParseError> {
        parse::parse(text, &ParseOptions::strict(), false).map(|(s, _)| s)
    }

    /// Parses bytes from the wire: checks the size bound, then UTF-8 (naming the line of the
    /// first bad byte), then parses leniently.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        parse_bytes(bytes, &ParseOptions::default(), false).map(|(s, _)| s)
    }

    /// [`SessionDescription::parse_bytes`] with explicit options.
    pub fn parse_bytes_with(
        bytes: &[u8],
        options: &ParseOptions,
    ) -> Result<(Self, Vec<Warning>), ParseError> {
        parse_bytes(bytes, options, true)
    }

    /// `a=group` lines (RFC 5888 §5).
    pub fn groups(&self) -> impl Iterator<Item = Group> + '_ {
        self.typed_all()
    }

    /// `a=group:BUNDLE` lines (RFC 8843 §7).
    pub fn bundle_groups(&self) -> impl Iterator<Item = Group> + '_ {
        self.groups().filter(Group::is_bundle)
    }

    /// `a=msid-semantic`.
    pub fn msid_semantic(&self) -> Option<MsidSemantic> {
        self.typed()
    }

    /// The media section whose `a=mid` is `mid`.
    pub fn media_by_mid(&self, mid: &str) -> Option<&MediaDescription> {
        self.media.iter().find(|m| m.mid() == Some(mid))
    }

    /// The ICE ufrag that applies to `media`: its own, else the session-level one.
    pub fn ice_ufrag_for<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a str> {
        media.ice_ufrag().or_else(|| self.ice_ufrag())
    }

    /// The ICE password that applies to `media`: its own, else the session-level one.
    pub fn ice_pwd_for<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a str> {
        media.ice_pwd().or_else(|| self.ice_pwd())
    }

    /// The ICE options that apply to `media`: its own, else the session-level ones.
    pub fn ice_options_for(&self, media: &MediaDescription) -> Option<IceOptions> {
        media.ice_options().or_else(|| self.ice_options())
    }

    /// The fingerprints that apply to `media` (RFC 8122 §5: media-level ones replace the
    /// session-level ones).
    pub fn fingerprints_for(&self, media: &MediaDescription) -> Vec<Fingerprint> {
        let own: Vec<Fingerprint> = media.fingerprints().collect();
        if own.is_empty() {
            self.fingerprints().collect()
        } else {
            own
        }
    }

    /// The `a=setup` that applies to `media`: its own, else the session-level one.
    pub fn setup_for(&self, media: &MediaDescription) -> Option<Setup> {
        media.setup().or_else(|| self.setup())
    }

    /// Whether any section (or the session) uses legacy SDES `a=crypto`.
    pub fn uses_legacy_sdes_anywhere(&self) -> bool {
        self.uses_legacy_sdes() || self.media.iter().any(MediaDescription::uses_legacy_sdes)
    }

    /// Appends the description to `out` (CRLF line endings, RFC 8866 §5 order).
    pub fn write_to(&self, out: &mut String) {
        let mut bytes = std::mem::take(out).into_bytes();
        self.emit(&mut bytes);
        // Every byte comes from a `&str` or an ASCII literal, so this cannot fail; if it
        // ever did, the lossy copy keeps us panic-free.
        *out = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    }

    /// The description as text; the same as `to_string()`.
    pub fn to_sdp_string(&self) -> String {
        let mut s = String::with_capacity(self.estimated_len());
        self.write_to(&mut s);
        s
    }

    /// Writes the lines as bytes: no per-line UTF-8 re-validation and no formatter calls on
    /// the attribute path, which is most of the text.
    fn emit(&self, out: &mut Vec<u8>) {
        // RFC 8866 §5: v, o, s, i, u, e, p, c, b, (t, r), z, k, a, then the m sections.
        out.extend_from_slice(b"v=0\r\no=");
        display(out, &self.origin);
        line(out, b"\r\ns=", self.session_name.as_bytes());
        if let Some(i) = &self.information {
            line(out, b"\r\ni=", i.as_bytes());
        }
        if let Some(u) = &self.uri {
            line(out, b"\r\nu=", u.as_bytes());
        }
        for e in &self.emails {
            line(out, b"\r\ne=", e.as_bytes());
        }
        for p in &self.phones {
            line(out, b"\r\np=", p.as_bytes());
        }
        if let Some(c) = &self.connection {
            out.extend_from_slice(b"\r\nc=");
            display(out, c);
        }
        for b in &self.bandwidths {
            out.extend_from_slice(b"\r\nb=");
            display(out, b);
        }
        for t in &self.timings {
            out.extend_from_slice(b"\r\nt=");
            decimal(out, t.start);
            out.push(b' ');
            decimal(out, t.stop);
            for r in &t.repeats {
                out.extend_from_slice(b"\r\nr=");
                display(out, r);
            }
        }
        if !self.time_zones.is_empty() {
            out.extend_from_slice(b"\r\nz=");
            for (i, z) in self.time_zones.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                decimal(out, z.time);
                out.push(b' ');
                display(out, &z.offset);
            }
        }
        if let Some(k) = &self.encryption_key {
            line(out, b"\r\nk=", k.as_bytes());
        }
        for a in &self.attributes {
            line(out, b"\r\na=", a.as_bytes());
        }
        for m in &self.media {
            emit_media(out, m);
        }
        out.extend_from_slice(b"\r\n");
    }

    fn estimated_len(&self) -> usize {
        let attrs = |a: &[Attribute]| a.iter().map(|a| a.as_bytes().len() + 4).sum::<usize>();
        128 + attrs(&self.attributes)
            + self
                .media
                .iter()
                .map(|m| 64 + m.formats.len() * 4 + attrs(&m.attributes))
                .sum::<usize>()
    }
}

attribute_accessors!(SessionDescription);

/// Size bound, then UTF-8 (naming the line of the first bad byte), then the parser.
fn parse_bytes(
    bytes: &[u8],
    options: &ParseOptions,
    want_warnings: bool,
) -> Result<(SessionDescription, Vec<Warning>), ParseError> {
    if bytes.len() > options.max_input_len {
        return Err(ParseError::InputTooLarge {
            len: bytes.len(),
            max: options.max_input_len,
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse::parse(text, options, want_warnings),
        Err(e) => {
            let offset = e.valid_up_to();
            let line = bytes
                .get(..offset)
                .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
                + 1;
            Err(ParseError::InvalidUtf8 { line, offset })
        }
    }
}

fn line(out: &mut Vec<u8>, prefix: &[u8], value: &[u8]) {
    out.extend_from_slice(prefix);
    out.extend_from_slice(value);
}

/// Appends `n` in decimal.
fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            // n % 10 < 10, so the digit fits a u8.
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(i..).unwrap_or_default());
}

/// Appends a value through its `Display` (for the few typed lines).
fn display<T: fmt::Display>(out: &mut Vec<u8>, value: &T) {
    struct Bytes<'a>(&'a mut Vec<u8>);
    impl fmt::Write for Bytes<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    // Writing into a Vec cannot fail.
    let _ = fmt::write(&mut Bytes(out), format_args!("{value}"));
}

fn emit_media(out: &mut Vec<u8>, m: &MediaDescription) {
    line(out, b"\r\nm=", m.kind.as_str().as_bytes());
    out.push(b' ');
    decimal(out, u64::from(m.port));
    if let Some(n) = m.port_count {
        out.push(b'/');
        decimal(out, u64::from(n));
    }
    out.push(b' ');
    out.extend_from_slice(m.protocol.as_bytes());
    for f in &m.formats {
        out.push(b' ');
        out.extend_from_slice(f.as_bytes());
    }
    if let Some(i) = &m.information {
        line(out, b"\r\ni=", i.as_bytes());
    }
    for c in &m.connections {
        out.extend_from_slice(b"\r\nc=");
        display(out, c);
    }
    for b in &m.bandwidths {
        out.extend_from_slice(b"\r\nb=");
        display(out, b);
    }
    if let Some(k) = &m.encryption_key {
        line(out, b"\r\nk=", k.as_bytes());
    }
    for a in &m.attributes {
        line(out, b"\r\na=", a.as_bytes());
    }
}

impl fmt::Display for SessionDescription {
    /// The SDP text, CRLF line endings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sdp_string())
    }
}

impl std::str::FromStr for SessionDescription {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
