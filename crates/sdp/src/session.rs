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
        parse::parse(text, &ParseOptions::default()).map(|(s, _)| s)
    }

    /// Parses with explicit options; returns the warnings lenient mode collected.
    pub fn parse_with(
        text: &str,
        options: &ParseOptions,
    ) -> Result<(Self, Vec<Warning>), ParseError> {
        parse::parse(text, options)
    }

    /// Parses strictly with default bounds.
    pub fn parse_strict(text: &str) -> Result<Self, ParseError> {
        parse::parse(text, &ParseOptions::strict()).map(|(s, _)| s)
    }

    /// Parses bytes from the wire: checks the size bound, then UTF-8 (naming the line of the
    /// first bad byte), then parses leniently.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        Self::parse_bytes_with(bytes, &ParseOptions::default()).map(|(s, _)| s)
    }

    /// [`SessionDescription::parse_bytes`] with explicit options.
    pub fn parse_bytes_with(
        bytes: &[u8],
        options: &ParseOptions,
    ) -> Result<(Self, Vec<Warning>), ParseError> {
        if bytes.len() > options.max_input_len {
            return Err(ParseError::InputTooLarge {
                len: bytes.len(),
                max: options.max_input_len,
            });
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => parse::parse(text, options),
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

    /// Writes the description into `out` (CRLF line endings, RFC 8866 §5 order).
    pub fn write_to<W: fmt::Write>(&self, out: &mut W) -> fmt::Result {
        // RFC 8866 §5: v, o, s, i, u, e, p, c, b, (t, r), z, k, a, then the m sections.
        out.write_str("v=0\r\no=")?;
        write!(out, "{}", self.origin)?;
        line(out, "\r\ns=", &self.session_name)?;
        if let Some(i) = &self.information {
            line(out, "\r\ni=", i)?;
        }
        if let Some(u) = &self.uri {
            line(out, "\r\nu=", u)?;
        }
        for e in &self.emails {
            line(out, "\r\ne=", e)?;
        }
        for p in &self.phones {
            line(out, "\r\np=", p)?;
        }
        if let Some(c) = &self.connection {
            write!(out, "\r\nc={c}")?;
        }
        for b in &self.bandwidths {
            write!(out, "\r\nb={b}")?;
        }
        for t in &self.timings {
            write!(out, "\r\nt={} {}", t.start, t.stop)?;
            for r in &t.repeats {
                write!(out, "\r\nr={r}")?;
            }
        }
        if !self.time_zones.is_empty() {
            out.write_str("\r\nz=")?;
            for (i, z) in self.time_zones.iter().enumerate() {
                if i > 0 {
                    out.write_char(' ')?;
                }
                write!(out, "{} {}", z.time, z.offset)?;
            }
        }
        if let Some(k) = &self.encryption_key {
            line(out, "\r\nk=", k)?;
        }
        for a in &self.attributes {
            line(out, "\r\na=", a.as_str())?;
        }
        for m in &self.media {
            write_media(out, m)?;
        }
        out.write_str("\r\n")
    }

    /// The description as text; the same as `to_string()` but sized up front.
    pub fn to_sdp_string(&self) -> String {
        let mut s = String::with_capacity(self.estimated_len());
        // Writing into a String cannot fail.
        let _ = self.write_to(&mut s);
        s
    }

    fn estimated_len(&self) -> usize {
        let attrs = |a: &[Attribute]| a.iter().map(|a| a.as_str().len() + 4).sum::<usize>();
        128 + attrs(&self.attributes)
            + self
                .media
                .iter()
                .map(|m| 64 + m.formats.len() * 4 + attrs(&m.attributes))
                .sum::<usize>()
    }
}

attribute_accessors!(SessionDescription);

fn line<W: fmt::Write>(out: &mut W, prefix: &str, value: &str) -> fmt::Result {
    out.write_str(prefix)?;
    out.write_str(value)
}

fn write_media<W: fmt::Write>(out: &mut W, m: &MediaDescription) -> fmt::Result {
    line(out, "\r\nm=", m.kind.as_str())?;
    write!(out, " {}", m.port)?;
    if let Some(n) = m.port_count {
        write!(out, "/{n}")?;
    }
    out.write_char(' ')?;
    out.write_str(&m.protocol)?;
    for f in &m.formats {
        out.write_char(' ')?;
        out.write_str(f)?;
    }
    if let Some(i) = &m.information {
        line(out, "\r\ni=", i)?;
    }
    for c in &m.connections {
        write!(out, "\r\nc={c}")?;
    }
    for b in &m.bandwidths {
        write!(out, "\r\nb={b}")?;
    }
    if let Some(k) = &m.encryption_key {
        line(out, "\r\nk=", k)?;
    }
    for a in &m.attributes {
        line(out, "\r\na=", a.as_str())?;
    }
    Ok(())
}

impl fmt::Display for SessionDescription {
    /// The SDP text, CRLF line endings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl std::str::FromStr for SessionDescription {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
