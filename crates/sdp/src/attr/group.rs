//! Grouping and stream identification: `a=group` (RFC 5888 §5, BUNDLE RFC 8843),
//! `a=msid` (RFC 8830 §2), `a=msid-semantic` (legacy WebRTC, draft-ietf-mmusic-msid-05).

use std::fmt;

use super::{Fields, token};
use crate::attribute::AttributeValue;
use crate::error::AttributeError;

/// `a=group:<semantics> <mid> ...` (RFC 5888 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group {
    /// `BUNDLE`, `LS`, `FID`, …
    pub semantics: String,
    /// Identification tags (`a=mid` values) of the grouped sections, in order.
    pub mids: Vec<String>,
}

impl Group {
    /// Whether this is a `BUNDLE` group (RFC 8843 §7.1).
    pub fn is_bundle(&self) -> bool {
        self.semantics == "BUNDLE"
    }
}

impl AttributeValue for Group {
    const NAME: &'static str = "group";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut f = Fields::new(value);
        let semantics = f.need("semantics")?;
        token(semantics, "semantics")?;
        let mut mids = Vec::new();
        while let Some(m) = f.next_opt() {
            token(m, "identification-tag")?;
            mids.push(m.to_owned());
        }
        // An empty BUNDLE group (`a=group:BUNDLE`) appears in answers that reject every
        // section; RFC 5888's grammar wants one tag, but rejecting it helps nobody.
        Ok(Self {
            semantics: semantics.to_owned(),
            mids,
        })
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for m in &self.mids {
            write!(f, " {m}")?;
        }
        Ok(())
    }
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830 §2). Stream id `-` means "no stream".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Msid {
    /// MediaStream id.
    pub stream_id: String,
    /// MediaStreamTrack id ("appdata").
    pub track_id: Option<String>,
}

/// RFC 8830 §2: msid-id = 1*64token-char.
fn msid_id(s: &str, field: &'static str) -> Result<(), AttributeError> {
    if s.len() <= 64 {
        token(s, field)
    } else {
        Err(AttributeError::BadValue(field))
    }
}

impl AttributeValue for Msid {
    const NAME: &'static str = "msid";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut f = Fields::new(value);
        let stream = f.need("msid-id")?;
        msid_id(stream, "msid-id")?;
        let track = f.next_opt();
        if let Some(t) = track {
            msid_id(t, "msid-appdata")?;
        }
        f.end()?;
        Ok(Self {
            stream_id: stream.to_owned(),
            track_id: track.map(str::to_owned),
        })
    }
}

impl fmt::Display for Msid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stream_id)?;
        if let Some(t) = &self.track_id {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

/// `a=msid-semantic: WMS [<stream id> ...|*]` (legacy Plan B / early Unified Plan; libwebrtc
/// still writes it, with a space after the colon).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MsidSemantic {
    /// Usually `WMS`.
    pub semantic: String,
    /// Stream ids, or `*`.
    pub identifiers: Vec<String>,
}

impl AttributeValue for MsidSemantic {
    const NAME: &'static str = "msid-semantic";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut f = Fields::new(value);
        let semantic = f.need("msid-semantic")?;
        token(semantic, "msid-semantic")?;
        let mut identifiers = Vec::new();
        while let Some(i) = f.next_opt() {
            token(i, "msid-id")?;
            identifiers.push(i.to_owned());
        }
        Ok(Self {
            semantic: semantic.to_owned(),
            identifiers,
        })
    }
}

/// Written the libwebrtc way, with a space after the colon: `msid-semantic: WMS ...`.
impl fmt::Display for MsidSemantic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " {}", self.semantic)?;
        for i in &self.identifiers {
            write!(f, " {i}")?;
        }
        Ok(())
    }
}
