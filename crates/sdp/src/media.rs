//! Media sections: `m=` and the `i=`, `c=`, `b=`, `k=`, `a=` lines under it.

use std::fmt;

use crate::accessors::attribute_accessors;
use crate::attr::digits;
use crate::attr::group::Msid;
use crate::attr::ice::Candidate;
use crate::attr::legacy::SctpMap;
use crate::attr::rtp::{Fmtp, Rtcp, RtcpFb, RtpMap, Ssrc, SsrcGroup, parse_framerate};
use crate::attr::simulcast::{Rid, Simulcast};
use crate::attribute::Attribute;
use crate::lines::{Bandwidth, Connection};

/// The `<media>` of an `m=` line (RFC 8866 §5.14).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `audio`
    Audio,
    /// `video`
    Video,
    /// `application` (data channels)
    Application,
    /// `text`
    Text,
    /// `message`
    Message,
    /// Anything else, as written.
    Other(String),
}

impl MediaKind {
    /// Maps the token to a kind.
    pub fn from_token(s: &str) -> Self {
        match s {
            "audio" => Self::Audio,
            "video" => Self::Video,
            "application" => Self::Application,
            "text" => Self::Text,
            "message" => Self::Message,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Application => "application",
            Self::Text => "text",
            Self::Message => "message",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One media section.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaDescription {
    /// `audio`, `video`, `application`, …
    pub kind: MediaKind,
    /// Transport port; 0 rejects the section (or marks it bundle-only, RFC 8843 §6).
    pub port: u16,
    /// `/<number of ports>` when written.
    pub port_count: Option<u16>,
    /// `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`, `RTP/SAVPF`, …
    pub protocol: String,
    /// Formats: RTP payload types, or `webrtc-datachannel`.
    pub formats: Vec<String>,
    /// `i=` media title.
    pub information: Option<String>,
    /// `c=` lines (several are allowed for layered multicast).
    pub connections: Vec<Connection>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `k=` (obsolete; kept verbatim).
    pub encryption_key: Option<String>,
    /// `a=` lines in order.
    pub attributes: Vec<Attribute>,
}

impl MediaDescription {
    /// A section with no lines below `m=`.
    pub fn new(kind: MediaKind, port: u16, protocol: &str, formats: Vec<String>) -> Self {
        Self {
            kind,
            port,
            port_count: None,
            protocol: protocol.to_owned(),
            formats,
            information: None,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            encryption_key: None,
            attributes: Vec::new(),
        }
    }

    /// `a=mid` (RFC 5888 §4).
    pub fn mid(&self) -> Option<&str> {
        self.attribute_value("mid")
    }

    /// `a=candidate` lines (RFC 8839 §5.1); malformed ones are skipped.
    pub fn candidates(&self) -> impl Iterator<Item = Candidate> + '_ {
        self.typed_all()
    }

    /// `a=end-of-candidates` (RFC 8840 §8.2).
    pub fn end_of_candidates(&self) -> bool {
        self.has_attribute("end-of-candidates")
    }

    /// `a=sctp-port` (RFC 8841 §5); falls back to the legacy `a=sctpmap` port.
    pub fn sctp_port(&self) -> Option<u16> {
        match self.attribute_value("sctp-port") {
            Some(v) => digits(v.trim()),
            None => self.sctpmap().map(|m| m.port),
        }
    }

    /// Legacy `a=sctpmap` (draft-ietf-mmusic-sctp-sdp-05).
    pub fn sctpmap(&self) -> Option<SctpMap> {
        self.typed()
    }

    /// `a=max-message-size` (RFC 8841 §6); 0 means "no limit".
    pub fn max_message_size(&self) -> Option<u64> {
        self.attribute_value("max-message-size")
            .and_then(|v| digits(v.trim()))
    }

    /// `a=rtcp-mux` (RFC 5761 §5.1.1).
    pub fn rtcp_mux(&self) -> bool {
        self.has_attribute("rtcp-mux")
    }

    /// `a=rtcp-mux-only` (RFC 8858).
    pub fn rtcp_mux_only(&self) -> bool {
        self.has_attribute("rtcp-mux-only")
    }

    /// `a=rtcp-rsize` (RFC 5506 §5).
    pub fn rtcp_rsize(&self) -> bool {
        self.has_attribute("rtcp-rsize")
    }

    /// `a=bundle-only` (RFC 8843 §6).
    pub fn bundle_only(&self) -> bool {
        self.has_attribute("bundle-only")
    }

    /// `a=rtcp` (RFC 3605 §2.1).
    pub fn rtcp(&self) -> Option<Rtcp> {
        self.typed()
    }

    /// `a=rtpmap` lines (RFC 8866 §6.6).
    pub fn rtpmaps(&self) -> impl Iterator<Item = RtpMap> + '_ {
        self.typed_all()
    }

    /// The `a=rtpmap` for payload type `pt`.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        self.rtpmaps().find(|m| m.payload_type == pt)
    }

    /// `a=fmtp` lines (RFC 8866 §6.15).
    pub fn fmtps(&self) -> impl Iterator<Item = Fmtp> + '_ {
        self.typed_all()
    }

    /// The `a=fmtp` for payload type `pt`.
    pub fn fmtp(&self, pt: u8) -> Option<Fmtp> {
        self.fmtps().find(|f| f.payload_type() == Some(pt))
    }

    /// `a=rtcp-fb` lines (RFC 4585 §4.2).
    pub fn rtcp_fbs(&self) -> impl Iterator<Item = RtcpFb> + '_ {
        self.typed_all()
    }

    /// The `a=rtcp-fb` lines that apply to payload type `pt` (its own and `*`).
    pub fn rtcp_fb(&self, pt: u8) -> impl Iterator<Item = RtcpFb> + '_ {
        self.rtcp_fbs()
            .filter(move |f| f.payload_type.is_none_or(|p| p == pt))
    }

    /// `a=msid` lines (RFC 8830 §2).
    pub fn msids(&self) -> impl Iterator<Item = Msid> + '_ {
        self.typed_all()
    }

    /// `a=ssrc` lines (RFC 5576 §4.1).
    pub fn ssrcs(&self) -> impl Iterator<Item = Ssrc> + '_ {
        self.typed_all()
    }

    /// `a=ssrc-group` lines (RFC 5576 §4.2).
    pub fn ssrc_groups(&self) -> impl Iterator<Item = SsrcGroup> + '_ {
        self.typed_all()
    }

    /// `a=rid` lines (RFC 8851).
    pub fn rids(&self) -> impl Iterator<Item = Rid> + '_ {
        self.typed_all()
    }

    /// `a=simulcast` (RFC 8853).
    pub fn simulcast(&self) -> Option<Simulcast> {
        self.typed()
    }

    /// `a=ptime` in milliseconds (RFC 8866 §6.4).
    pub fn ptime(&self) -> Option<u32> {
        self.attribute_value("ptime").and_then(|v| digits(v.trim()))
    }

    /// `a=maxptime` in milliseconds (RFC 8866 §6.5).
    pub fn maxptime(&self) -> Option<u32> {
        self.attribute_value("maxptime")
            .and_then(|v| digits(v.trim()))
    }

    /// `a=framerate` (RFC 8866 §6.13).
    pub fn framerate(&self) -> Option<f64> {
        self.attribute_value("framerate")
            .and_then(|v| parse_framerate(v).ok())
    }

    /// The direction, `sendrecv` when none is written (RFC 8866 §6.7.2).
    pub fn direction_or_default(&self) -> crate::Direction {
        self.direction().unwrap_or(crate::Direction::SendRecv)
    }

    /// Whether the port is 0 (rejected, or bundle-only).
    pub fn is_rejected(&self) -> bool {
        self.port == 0 && !self.bundle_only()
    }

    /// Whether this is a data-channel section (`m=application ... webrtc-datachannel`).
    pub fn is_data_channel(&self) -> bool {
        self.kind == MediaKind::Application
            && (self.formats.iter().any(|f| f == "webrtc-datachannel")
                || self.has_attribute("sctpmap"))
    }
}

attribute_accessors!(MediaDescription);
