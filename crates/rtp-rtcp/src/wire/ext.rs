//! RTP header extensions: RFC 8285 one-byte and two-byte elements (including mixed use of
//! the two-byte form), the typed extensions WebRTC negotiates, and the [`ExtensionMap`]
//! registry that maps SDP `a=extmap` ids to them.

use super::{Writer, be16, be24, byte};
use crate::Error;

/// RFC 8285 §4.2: the one-byte header form is signalled by the profile value 0xBEDE.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// RFC 8285 §4.3: the two-byte header form uses 0x100 in the top 12 bits, the low 4 bits
/// ("appbits") are application-defined.
pub const TWO_BYTE_PROFILE_MASK: u16 = 0xFFF0;
/// Value of the two-byte profile's top 12 bits.
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// The `defined by profile` field of an RTP header extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtensionProfile {
    /// RFC 8285 one-byte header elements.
    OneByte,
    /// RFC 8285 two-byte header elements with the given 4 application bits.
    TwoByte {
        /// The low 4 bits of the profile value.
        appbits: u8,
    },
    /// Any other profile: the body is opaque.
    Other(u16),
}

impl ExtensionProfile {
    /// Classify a profile value.
    pub fn from_u16(v: u16) -> Self {
        if v == ONE_BYTE_PROFILE {
            ExtensionProfile::OneByte
        } else if v & TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE {
            ExtensionProfile::TwoByte {
                appbits: (v & 0x0f) as u8,
            }
        } else {
            ExtensionProfile::Other(v)
        }
    }
    /// The wire value.
    pub fn to_u16(self) -> u16 {
        match self {
            ExtensionProfile::OneByte => ONE_BYTE_PROFILE,
            ExtensionProfile::TwoByte { appbits } => TWO_BYTE_PROFILE | u16::from(appbits & 0x0f),
            ExtensionProfile::Other(v) => v,
        }
    }
}

/// Iterator over RFC 8285 elements `(id, data)` of an extension body. Stops at the first
/// malformed element (use [`ExtensionIter::validate`] to turn that into an error).
#[derive(Debug, Clone)]
pub struct ExtensionIter<'a> {
    profile: ExtensionProfile,
    body: &'a [u8],
    pos: usize,
}

enum Step<'a> {
    Element(u8, &'a [u8]),
    End,
    Malformed(usize),
}

impl<'a> ExtensionIter<'a> {
    /// Iterate `body` (the bytes after the 4-byte extension header).
    pub fn new(profile: ExtensionProfile, body: &'a [u8]) -> Self {
        let pos = if matches!(profile, ExtensionProfile::Other(_)) {
            body.len()
        } else {
            0
        };
        ExtensionIter { profile, body, pos }
    }

    fn step(&mut self) -> Step<'a> {
        loop {
            let Some(&first) = self.body.get(self.pos) else {
                return Step::End;
            };
            match self.profile {
                ExtensionProfile::OneByte => {
                    // RFC 8285 §4.2: padding bytes have the value 0; ID 15 is reserved and
                    // processing of the whole extension MUST terminate when it is seen. An
                    // ID of 0 with a non-zero length is not padding either: stop there too.
                    if first == 0 {
                        self.pos += 1;
                        continue;
                    }
                    let id = first >> 4;
                    if id == 15 || id == 0 {
                        self.pos = self.body.len();
                        return Step::End;
                    }
                    let len = usize::from(first & 0x0f) + 1;
                    let start = self.pos + 1;
                    let Some(data) = self.body.get(start..start + len) else {
                        let at = self.pos;
                        self.pos = self.body.len();
                        return Step::Malformed(at);
                    };
                    self.pos = start + len;
                    return Step::Element(id, data);
                }
                ExtensionProfile::TwoByte { .. } => {
                    // RFC 8285 §4.3: a zero ID byte is padding; the length may be 0.
                    if first == 0 {
                        self.pos += 1;
                        continue;
                    }
                    let at = self.pos;
                    let Some(&len) = self.body.get(self.pos + 1) else {
                        self.pos = self.body.len();
                        return Step::Malformed(at);
                    };
                    let start = self.pos + 2;
                    let Some(data) = self.body.get(start..start + usize::from(len)) else {
                        self.pos = self.body.len();
                        return Step::Malformed(at);
                    };
                    self.pos = start + usize::from(len);
                    return Step::Element(first, data);
                }
                ExtensionProfile::Other(_) => return Step::End,
            }
        }
    }

    /// Check that every element lies within the body; `base` is the body's offset in the
    /// packet, for the error.
    pub fn validate(mut self, base: usize) -> Result<(), Error> {
        loop {
            match self.step() {
                Step::Element(..) => {}
                Step::End => return Ok(()),
                Step::Malformed(at) => {
                    return Err(Error::ExtensionElementOverrun { at: base + at });
                }
            }
        }
    }
}

impl<'a> Iterator for ExtensionIter<'a> {
    type Item = (u8, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        match self.step() {
            Step::Element(id, d) => Some((id, d)),
            _ => None,
        }
    }
}

/// One RFC 8285 element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionElement {
    /// Local identifier (1–14 for one-byte, 1–255 for two-byte).
    pub id: u8,
    /// The element data.
    pub data: Vec<u8>,
}

/// Plain-value header extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionElements {
    /// RFC 8285 elements in the one-byte or two-byte form.
    Rfc8285 {
        /// Which form to write.
        profile: ExtensionProfile,
        /// The elements, in order.
        elements: Vec<ExtensionElement>,
    },
    /// A non-RFC-8285 extension with opaque data (a multiple of 4 bytes).
    Raw {
        /// Profile value.
        profile: u16,
        /// Body.
        data: Vec<u8>,
    },
}

impl ExtensionElements {
    /// Elements in the smallest form that can carry them: one-byte when every id is 1–14
    /// and every length 1–16, otherwise the two-byte form (RFC 8285 §4.1.2 mixed use).
    pub fn new(elements: Vec<ExtensionElement>) -> Self {
        let one = elements.iter().all(fits_one_byte);
        let profile = if one {
            ExtensionProfile::OneByte
        } else {
            ExtensionProfile::TwoByte { appbits: 0 }
        };
        ExtensionElements::Rfc8285 { profile, elements }
    }

    /// Parse a body.
    pub fn parse(profile: ExtensionProfile, body: &[u8]) -> Self {
        match profile {
            ExtensionProfile::Other(p) => ExtensionElements::Raw {
                profile: p,
                data: body.to_vec(),
            },
            _ => ExtensionElements::Rfc8285 {
                profile,
                elements: ExtensionIter::new(profile, body)
                    .map(|(id, d)| ExtensionElement {
                        id,
                        data: d.to_vec(),
                    })
                    .collect(),
            },
        }
    }

    /// The data of element `id`.
    pub fn get(&self, id: u8) -> Option<&[u8]> {
        match self {
            ExtensionElements::Rfc8285 { elements, .. } => elements
                .iter()
                .find(|e| e.id == id)
                .map(|e| e.data.as_slice()),
            ExtensionElements::Raw { .. } => None,
        }
    }

    /// Set (replace or append) element `id`, switching to the two-byte form if needed.
    pub fn set(&mut self, id: u8, data: Vec<u8>) {
        if let ExtensionElements::Raw { .. } = self {
            *self = ExtensionElements::new(Vec::new());
        }
        if let ExtensionElements::Rfc8285 { profile, elements } = self {
            match elements.iter_mut().find(|e| e.id == id) {
                Some(e) => e.data = data,
                None => elements.push(ExtensionElement { id, data }),
            }
            if *profile == ExtensionProfile::OneByte && !elements.iter().all(fits_one_byte) {
                *profile = ExtensionProfile::TwoByte { appbits: 0 };
            }
        }
    }

    /// Remove element `id`.
    pub fn remove(&mut self, id: u8) {
        if let ExtensionElements::Rfc8285 { elements, .. } = self {
            elements.retain(|e| e.id != id);
        }
    }

    fn raw_len(&self) -> usize {
        match self {
            ExtensionElements::Rfc8285 { profile, elements } => {
                let per = if *profile == ExtensionProfile::OneByte {
                    1
                } else {
                    2
                };
                elements.iter().map(|e| per + e.data.len()).sum()
            }
            ExtensionElements::Raw { data, .. } => data.len(),
        }
    }

    /// Body length, padded to a multiple of 4.
    pub fn body_len(&self) -> usize {
        self.raw_len().div_ceil(4) * 4
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        let body = self.body_len();
        let words = u16::try_from(body / 4).map_err(|_| Error::ValueOutOfRange {
            field: "extension length",
        })?;
        match self {
            ExtensionElements::Rfc8285 { profile, elements } => {
                let p = match profile {
                    ExtensionProfile::Other(_) => {
                        return Err(Error::ValueOutOfRange {
                            field: "extension profile",
                        });
                    }
                    p => p.to_u16(),
                };
                w.u16(p)?;
                w.u16(words)?;
                for e in elements {
                    if *profile == ExtensionProfile::OneByte {
                        if !fits_one_byte(e) {
                            return Err(Error::ValueOutOfRange {
                                field: "one-byte extension element",
                            });
                        }
                        w.u8(e.id << 4 | (e.data.len() - 1) as u8)?;
                    } else {
                        let len =
                            u8::try_from(e.data.len()).map_err(|_| Error::ValueOutOfRange {
                                field: "two-byte extension length",
                            })?;
                        if e.id == 0 {
                            return Err(Error::ValueOutOfRange {
                                field: "extension id",
                            });
                        }
                        w.u8(e.id)?;
                        w.u8(len)?;
                    }
                    w.bytes(&e.data)?;
                }
            }
            ExtensionElements::Raw { profile, data } => {
                w.u16(*profile)?;
                w.u16(words)?;
                w.bytes(data)?;
            }
        }
        w.zeros(body - self.raw_len())
    }
}

fn fits_one_byte(e: &ExtensionElement) -> bool {
    (1..=14).contains(&e.id) && (1..=16).contains(&e.data.len())
}

// ---------------------------------------------------------------------------------------
// Typed extensions

/// `urn:ietf:params:rtp-hdrext:sdes:mid` (RFC 8843 §15.1).
pub const URI_MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
/// `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id` (RFC 8852 §4.1).
pub const URI_RTP_STREAM_ID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
/// `urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id` (RFC 8852 §4.2).
pub const URI_REPAIRED_RTP_STREAM_ID: &str =
    "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
/// Absolute send time (webrtc.org experiment).
pub const URI_ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
/// Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01).
pub const URI_TRANSPORT_WIDE_CC: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
/// Client-to-mixer audio level (RFC 6464).
pub const URI_AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
/// Transmission time offset (RFC 5450).
pub const URI_TOFFSET: &str = "urn:ietf:params:rtp-hdrext:toffset";
/// Coordination of video orientation (3GPP TS 26.114).
pub const URI_VIDEO_ORIENTATION: &str = "urn:3gpp:video-orientation";
/// Playout delay (webrtc.org experiment).
pub const URI_PLAYOUT_DELAY: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";

/// The header extensions this crate understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtensionKind {
    /// [`Mid`].
    Mid,
    /// [`RtpStreamId`].
    RtpStreamId,
    /// [`RepairedRtpStreamId`].
    RepairedRtpStreamId,
    /// [`AbsSendTime`].
    AbsSendTime,
    /// [`TransportSequenceNumber`].
    TransportWideCc,
    /// [`AudioLevel`].
    AudioLevel,
    /// [`TransmissionOffset`].
    TransmissionOffset,
    /// [`VideoOrientation`].
    VideoOrientation,
    /// [`PlayoutDelay`].
    PlayoutDelay,
}

const ALL_KINDS: [ExtensionKind; 9] = [
    ExtensionKind::Mid,
    ExtensionKind::RtpStreamId,
    ExtensionKind::RepairedRtpStreamId,
    ExtensionKind::AbsSendTime,
    ExtensionKind::TransportWideCc,
    ExtensionKind::AudioLevel,
    ExtensionKind::TransmissionOffset,
    ExtensionKind::VideoOrientation,
    ExtensionKind::PlayoutDelay,
];

impl ExtensionKind {
    /// The extmap URI.
    pub fn uri(self) -> &'static str {
        match self {
            ExtensionKind::Mid => URI_MID,
            ExtensionKind::RtpStreamId => URI_RTP_STREAM_ID,
            ExtensionKind::RepairedRtpStreamId => URI_REPAIRED_RTP_STREAM_ID,
            ExtensionKind::AbsSendTime => URI_ABS_SEND_TIME,
            ExtensionKind::TransportWideCc => URI_TRANSPORT_WIDE_CC,
            ExtensionKind::AudioLevel => URI_AUDIO_LEVEL,
            ExtensionKind::TransmissionOffset => URI_TOFFSET,
            ExtensionKind::VideoOrientation => URI_VIDEO_ORIENTATION,
            ExtensionKind::PlayoutDelay => URI_PLAYOUT_DELAY,
        }
    }
    /// The kind for an extmap URI.
    pub fn from_uri(uri: &str) -> Option<Self> {
        ALL_KINDS.iter().copied().find(|k| k.uri() == uri)
    }
    fn index(self) -> usize {
        ALL_KINDS.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// A typed header extension value.
pub trait Extension: Sized {
    /// Which extension this is.
    const KIND: ExtensionKind;
    /// Decode element data.
    fn parse(data: &[u8]) -> Result<Self, Error>;
    /// Encode element data.
    fn to_bytes(&self) -> Vec<u8>;
}

fn bad(kind: ExtensionKind) -> Error {
    Error::BadExtensionValue { uri: kind.uri() }
}

macro_rules! sdes_string_ext {
    ($name:ident, $kind:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(pub String);
        impl Extension for $name {
            const KIND: ExtensionKind = $kind;
            fn parse(data: &[u8]) -> Result<Self, Error> {
                // RFC 8852 §3 / RFC 7941: the value is an SDES item text; it is not
                // null-terminated, but senders may pad with trailing zeros we strip.
                let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                let text = data.get(..end).unwrap_or(&[]);
                if text.is_empty() {
                    return Err(bad($kind));
                }
                std::str::from_utf8(text)
                    .map(|s| $name(s.to_owned()))
                    .map_err(|_| bad($kind))
            }
            fn to_bytes(&self) -> Vec<u8> {
                self.0.as_bytes().to_vec()
            }
        }
    };
}

sdes_string_ext!(
    Mid,
    ExtensionKind::Mid,
    "Media identification (`sdes:mid`)."
);
sdes_string_ext!(
    RtpStreamId,
    ExtensionKind::RtpStreamId,
    "RTP stream id (`sdes:rtp-stream-id`, RID)."
);
sdes_string_ext!(
    RepairedRtpStreamId,
    ExtensionKind::RepairedRtpStreamId,
    "Repaired RTP stream id (`sdes:repaired-rtp-stream-id`)."
);

/// Absolute send time: 24-bit 6.18 fixed-point seconds (wraps every 64 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbsSendTime(pub u32);

impl AbsSendTime {
    /// From a 64-bit NTP timestamp: the middle 24 bits around the binary point.
    pub fn from_ntp(ntp: u64) -> Self {
        AbsSendTime(((ntp >> 14) & 0x00ff_ffff) as u32)
    }
}

impl Extension for AbsSendTime {
    const KIND: ExtensionKind = ExtensionKind::AbsSendTime;
    fn parse(data: &[u8]) -> Result<Self, Error> {
        if data.len() != 3 {
            return Err(bad(Self::KIND));
        }
        Ok(AbsSendTime(be24(data, 0)))
    }
    fn to_bytes(&self) -> Vec<u8> {
        self.0.to_be_bytes().get(1..).unwrap_or(&[]).to_vec()
    }
}

/// Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransportSequenceNumber(pub u16);

impl Extension for TransportSequenceNumber {
    const KIND: ExtensionKind = ExtensionKind::TransportWideCc;
    fn parse(data: &[u8]) -> Result<Self, Error> {
        if data.len() != 2 {
            return Err(bad(Self::KIND));
        }
        Ok(TransportSequenceNumber(be16(data, 0)))
    }
    fn to_bytes(&self) -> Vec<u8> {
        self.0.to_be_bytes().to_vec()
    }
}

/// Client-to-mixer audio level (RFC 6464 §3): voice activity flag and level in -dBov.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioLevel {
    /// V flag.
    pub voice_activity: bool,
    /// Level, 0 (loudest) to 127 (-127 dBov, silence).
    pub level: u8,
}

impl Extension for AudioLevel {
    const KIND: ExtensionKind = ExtensionKind::AudioLevel;
    fn parse(data: &[u8]) -> Result<Self, Error> {
        // RFC 6464 §3: one byte is the minimum; the two-byte form may pad.
        let Some(&b) = data.first() else {
            return Err(bad(Self::KIND));
        };
        Ok(AudioLevel {
            voice_activity: b & 0x80 != 0,
            level: b & 0x7f,
        })
    }
    fn to_bytes(&self) -> Vec<u8> {
        vec![u8::from(self.voice_activity) << 7 | (self.level & 0x7f)]
    }
}

/// Transmission time offset (RFC 5450 §2): signed 24-bit, in RTP timestamp units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransmissionOffset(pub i32);

impl Extension for TransmissionOffset {
    const KIND: ExtensionKind = ExtensionKind::TransmissionOffset;
    fn parse(data: &[u8]) -> Result<Self, Error> {
        if data.len() != 3 {
            return Err(bad(Self::KIND));
        }
        let v = be24(data, 0);
        // sign-extend 24 → 32 bits
        Ok(TransmissionOffset(((v << 8) as i32) >> 8))
    }
    fn to_bytes(&self) -> Vec<u8> {
        (self.0 as u32)
            .to_be_bytes()
            .get(1..)
            .unwrap_or(&[])
            .to_vec()
    }
}

/// Coordination of video orientation (3GPP TS 26.114 §7.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoOrientation {
    /// C bit: back-facing camera.
    pub back_camera: bool,
    /// F bit: horizontal flip.
    pub flip: bool,
    /// R1R0: rotation in units of 90° (0–3).
    pub rotation: u8,
}

impl Extension for VideoOrientation {
    const KIND: ExtensionKind = ExtensionKind::VideoOrientation;
    fn parse(data: &[u8]) -> Result<Self, Error> {
        let Some(&b) = data.first() else {
            return Err(bad(Self::KIND));
        };
        Ok(VideoOrientation {
            back_camera: b & 0x08 != 0,
            flip: b & 0x04 != 0,
            rotation: b & 0x03,
        })
    }
    fn to_bytes(&self) -> Vec<u8> {
        vec![u8::from(self.back_camera) << 3 | u8::from(self.flip) << 2 | (self.rotation & 3)]
    }
}

/// Playout delay: minimum and maximum in 10 ms units, 12 bits each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlayoutDelay {
    /// Minimum delay (×10 ms).
    pub min: u16,
    /// Maximum delay (×10 ms).
    pub max: u16,
}

impl Extension for PlayoutDelay {
    const KIND: ExtensionKind = ExtensionKind::PlayoutDelay;
    fn parse(data: &[u8]) -> Result<Self, Error> {
        if data.len() != 3 {
            return Err(bad(Self::KIND));
        }
        let v = be24(data, 0);
        Ok(PlayoutDelay {
            min: (v >> 12) as u16,
            max: (v & 0xfff) as u16,
        })
    }
    fn to_bytes(&self) -> Vec<u8> {
        let v = (u32::from(self.min & 0xfff) << 12) | u32::from(self.max & 0xfff);
        v.to_be_bytes().get(1..).unwrap_or(&[]).to_vec()
    }
}

/// Registry from SDP `a=extmap:<id> <uri>` to [`ExtensionKind`], both directions O(1).
#[derive(Debug, Clone)]
pub struct ExtensionMap {
    by_id: [Option<ExtensionKind>; 256],
    by_kind: [u8; ALL_KINDS.len()],
}

impl Default for ExtensionMap {
    fn default() -> Self {
        ExtensionMap {
            by_id: [None; 256],
            by_kind: [0; ALL_KINDS.len()],
        }
    }
}

impl ExtensionMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }
    /// Map `id` (1–255; 1–14 for the one-byte form) to `kind`, replacing older mappings of
    /// either. Id 0 is rejected (RFC 8285 §4.2/§4.3: id 0 is padding).
    pub fn insert(&mut self, id: u8, kind: ExtensionKind) -> Result<(), Error> {
        if id == 0 {
            return Err(Error::ValueOutOfRange { field: "extmap id" });
        }
        let k = kind.index();
        let old = self.by_kind.get(k).copied().unwrap_or(0);
        if let Some(slot) = self.by_id.get_mut(usize::from(old)).filter(|_| old != 0) {
            *slot = None;
        }
        if let Some(prev) = self.by_id.get(usize::from(id)).copied().flatten()
            && let Some(slot) = self.by_kind.get_mut(prev.index())
        {
            *slot = 0;
        }
        if let Some(slot) = self.by_id.get_mut(usize::from(id)) {
            *slot = Some(kind);
        }
        if let Some(slot) = self.by_kind.get_mut(k) {
            *slot = id;
        }
        Ok(())
    }
    /// Map `id` to the extension with `uri`; returns `Ok(false)` for a URI we do not know.
    pub fn insert_uri(&mut self, id: u8, uri: &str) -> Result<bool, Error> {
        match ExtensionKind::from_uri(uri) {
            Some(k) => self.insert(id, k).map(|()| true),
            None => Ok(false),
        }
    }
    /// The id negotiated for `kind`.
    pub fn id(&self, kind: ExtensionKind) -> Option<u8> {
        self.by_kind
            .get(kind.index())
            .copied()
            .filter(|&id| id != 0)
    }
    /// The kind mapped to `id`.
    pub fn kind(&self, id: u8) -> Option<ExtensionKind> {
        self.by_id.get(usize::from(id)).copied().flatten()
    }
    /// Read typed extension `E` from a checked packet: `None` when not negotiated or absent.
    pub fn read<E: Extension, T: AsRef<[u8]>>(
        &self,
        packet: &super::rtp::RtpPacket<T>,
    ) -> Option<Result<E, Error>> {
        let id = self.id(E::KIND)?;
        packet.extension(id).map(E::parse)
    }
    /// Set typed extension `E` in a header's extension block (no-op when not negotiated).
    pub fn write<E: Extension>(&self, header: &mut super::rtp::RtpHeader, value: &E) {
        if let Some(id) = self.id(E::KIND) {
            header
                .extensions
                .get_or_insert_with(|| ExtensionElements::new(Vec::new()))
                .set(id, value.to_bytes());
        }
    }
}

/// Read the first byte of an element's data (helper for callers' own extensions).
pub fn first_byte(data: &[u8]) -> u8 {
    byte(data, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::rtp::{RtpHeader, RtpPacket};

    #[test]
    fn typed_round_trips() {
        fn rt<E: Extension + PartialEq + std::fmt::Debug>(e: E) {
            assert_eq!(E::parse(&e.to_bytes()).unwrap(), e);
        }
        rt(Mid("0".into()));
        rt(RtpStreamId("hi".into()));
        rt(RepairedRtpStreamId("lo".into()));
        rt(AbsSendTime(0xabcdef));
        rt(TransportSequenceNumber(65000));
        rt(AudioLevel {
            voice_activity: true,
            level: 42,
        });
        rt(TransmissionOffset(-5));
        rt(TransmissionOffset(0x7fffff));
        rt(VideoOrientation {
            back_camera: true,
            flip: false,
            rotation: 3,
        });
        rt(PlayoutDelay { min: 10, max: 4095 });
    }

    #[test]
    fn mixed_mode_switches_to_two_byte() {
        let mut map = ExtensionMap::new();
        map.insert(3, ExtensionKind::TransportWideCc).unwrap();
        map.insert(20, ExtensionKind::Mid).unwrap();
        let mut h = RtpHeader {
            payload_type: 111,
            ssrc: 1,
            ..Default::default()
        };
        map.write(&mut h, &TransportSequenceNumber(7));
        assert!(matches!(
            h.extensions,
            Some(ExtensionElements::Rfc8285 {
                profile: ExtensionProfile::OneByte,
                ..
            })
        ));
        map.write(&mut h, &Mid("audio".into()));
        assert!(matches!(
            h.extensions,
            Some(ExtensionElements::Rfc8285 {
                profile: ExtensionProfile::TwoByte { .. },
                ..
            })
        ));
        let bytes = h.to_vec(b"x", 0).unwrap();
        let p = RtpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            map.read::<TransportSequenceNumber, _>(&p).unwrap().unwrap(),
            TransportSequenceNumber(7)
        );
        assert_eq!(
            map.read::<Mid, _>(&p).unwrap().unwrap(),
            Mid("audio".into())
        );
        assert!(map.read::<AbsSendTime, _>(&p).is_none());
    }

    #[test]
    fn one_byte_id_0_with_length_stops_processing() {
        let body = [0x10, 0xaa, 0x03, 0x20, 0xbb, 0x00, 0x00, 0x00];
        let v: Vec<_> = ExtensionIter::new(ExtensionProfile::OneByte, &body).collect();
        assert_eq!(v, vec![(1u8, &[0xaa][..])]);
    }

    #[test]
    fn one_byte_id_15_stops_processing() {
        let body = [0x10, 0xaa, 0xf0, 0x20, 0xbb, 0x00, 0x00, 0x00];
        let v: Vec<_> = ExtensionIter::new(ExtensionProfile::OneByte, &body).collect();
        assert_eq!(v, vec![(1u8, &[0xaa][..])]);
    }

    #[test]
    fn extmap_uri_registry() {
        let mut m = ExtensionMap::new();
        assert!(m.insert_uri(5, URI_ABS_SEND_TIME).unwrap());
        assert!(!m.insert_uri(6, "urn:example:unknown").unwrap());
        assert_eq!(m.kind(5), Some(ExtensionKind::AbsSendTime));
        m.insert(7, ExtensionKind::AbsSendTime).unwrap();
        assert_eq!(m.kind(5), None);
        assert_eq!(m.id(ExtensionKind::AbsSendTime), Some(7));
        assert!(m.insert(0, ExtensionKind::Mid).is_err());
    }
}
