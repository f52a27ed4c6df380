//! Builders for offers and answers.
//!
//! Attributes are put in the order libwebrtc writes them (the order browsers and JSEP
//! examples use), whatever order the builder methods are called in; attributes of the same
//! rank (the `rtpmap`/`rtcp-fb`/`fmtp` of the codecs, several candidates) keep call order.
//! Every value is checked against the grammar the parser enforces, so a built description
//! always parses back (strictly) to itself. Errors are collected and returned by `build()`.

use crate::attr::dtls::{Fingerprint, Setup};
use crate::attr::group::{Group, Msid, MsidSemantic};
use crate::attr::ice::{Candidate, IceOptions};
use crate::attr::rtp::{Direction, Extmap, Fmtp, Rtcp, RtcpFb, RtpMap, Ssrc, SsrcGroup};
use crate::attr::simulcast::{Rid, Simulcast};
use crate::attribute::{Attribute, AttributeValue, is_line_safe, is_token};
use crate::error::BuildError;
use crate::lines::{Connection, Origin};
use crate::media::{MediaDescription, MediaKind};
use crate::session::SessionDescription;

/// Rank of an attribute in libwebrtc's media-section order.
fn media_rank(name: &str) -> u8 {
    match name {
        "rtcp" => 0,
        "candidate" => 1,
        "end-of-candidates" => 2,
        "ice-ufrag" => 3,
        "ice-pwd" => 4,
        "ice-options" => 5,
        "fingerprint" => 6,
        "setup" => 7,
        "tls-id" => 8,
        "mid" => 9,
        "bundle-only" => 10,
        "extmap" => 11,
        "sendrecv" | "sendonly" | "recvonly" | "inactive" => 12,
        "msid" => 13,
        "rtcp-mux" => 14,
        "rtcp-mux-only" => 15,
        "rtcp-rsize" => 16,
        "rtpmap" | "rtcp-fb" | "fmtp" => 17,
        "ptime" | "maxptime" => 18,
        "rid" => 19,
        "simulcast" => 20,
        "sctp-port" | "sctpmap" => 21,
        "max-message-size" => 22,
        "ssrc-group" => 23,
        "ssrc" => 24,
        _ => 25,
    }
}

/// Rank of an attribute in libwebrtc's session-level order.
fn session_rank(name: &str) -> u8 {
    match name {
        "ice-lite" => 0,
        "group" => 1,
        "extmap-allow-mixed" => 2,
        "msid-semantic" => 3,
        _ => 4,
    }
}

/// Collects ranked attributes and the first error.
#[derive(Debug, Clone, Default)]
struct Attrs {
    list: Vec<(u8, Attribute)>,
    error: Option<BuildError>,
}

impl Attrs {
    fn fail(&mut self, e: BuildError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    fn push(&mut self, rank: fn(&str) -> u8, a: Attribute) {
        if let Err(error) = a.check() {
            self.fail(BuildError::InvalidAttribute {
                name: a.name().to_owned(),
                error,
            });
            return;
        }
        self.list.push((rank(a.name()), a));
    }

    fn raw(&mut self, rank: fn(&str) -> u8, name: &str, value: Option<&str>) {
        match Attribute::new(name, value) {
            Ok(a) => self.push(rank, a),
            Err(error) => self.fail(BuildError::InvalidAttribute {
                name: name.to_owned(),
                error,
            }),
        }
    }

    fn typed<T: AttributeValue>(&mut self, rank: fn(&str) -> u8, v: &T) {
        match Attribute::from_value(v) {
            Ok(a) => self.push(rank, a),
            Err(error) => self.fail(BuildError::InvalidAttribute {
                name: T::NAME.to_owned(),
                error,
            }),
        }
    }

    fn finish(mut self) -> Result<Vec<Attribute>, BuildError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        // Stable: equal ranks keep call order.
        self.list.sort_by_key(|(r, _)| *r);
        Ok(self.list.into_iter().map(|(_, a)| a).collect())
    }
}

fn text_ok(s: &str, field: &'static str) -> Result<(), BuildError> {
    if is_line_safe(s) {
        Ok(())
    } else {
        Err(BuildError::InvalidText { field })
    }
}

fn token_ok(s: &str, field: &'static str) -> Result<(), BuildError> {
    if is_token(s) {
        Ok(())
    } else {
        Err(BuildError::InvalidText { field })
    }
}

/// Builds a [`SessionDescription`] (`v=0`, `o=`, `s=-`, `t=0 0`, session attributes, media).
///
/// ```
/// use tern_sdp::{MediaBuilder, SessionBuilder, Setup, Fingerprint};
/// let fp = Fingerprint { hash_function: "sha-256".into(), value: vec![0xAB; 32] };
/// let data = MediaBuilder::data_channel()
///     .mid("0")
///     .ice_credentials("abcd", "0123456789abcdefghijkl")
///     .fingerprint(&fp)
///     .setup(Setup::ActPass)
///     .sctp_port(5000)
///     .max_message_size(262144)
///     .build()?;
/// let offer = SessionBuilder::new(4_611_686_018_427_387_904, 2)
///     .bundle(&["0"])
///     .media(data)
///     .build()?;
/// assert!(offer.to_string().contains("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
/// # Ok::<(), tern_sdp::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SessionBuilder {
    desc: SessionDescription,
    attrs: Attrs,
}

impl SessionBuilder {
    /// Starts a description with origin `- <session_id> <session_version> IN IP4 127.0.0.1`.
    pub fn new(session_id: u64, session_version: u64) -> Self {
        Self {
            desc: SessionDescription::new(Origin::new(session_id, session_version)),
            attrs: Attrs::default(),
        }
    }

    /// Replaces the origin.
    pub fn origin(mut self, origin: Origin) -> Self {
        self.desc.origin = origin;
        self
    }

    /// Sets `s=` (default `-`).
    pub fn session_name(mut self, name: &str) -> Self {
        self.desc.session_name = name.to_owned();
        self
    }

    /// Adds `a=group:BUNDLE <mids>` (RFC 8843 §7).
    pub fn bundle(mut self, mids: &[&str]) -> Self {
        let g = Group {
            semantics: "BUNDLE".to_owned(),
            mids: mids.iter().map(|m| (*m).to_owned()).collect(),
        };
        self.attrs.typed(session_rank, &g);
        self
    }

    /// Adds `a=msid-semantic: WMS <ids>`.
    pub fn msid_semantic_wms(mut self, stream_ids: &[&str]) -> Self {
        let m = MsidSemantic {
            semantic: "WMS".to_owned(),
            identifiers: stream_ids.iter().map(|s| (*s).to_owned()).collect(),
        };
        self.attrs.typed(session_rank, &m);
        self
    }

    /// Adds `a=extmap-allow-mixed` (RFC 8285 §6).
    pub fn extmap_allow_mixed(mut self) -> Self {
        self.attrs.raw(session_rank, "extmap-allow-mixed", None);
        self
    }

    /// Adds `a=ice-lite` (RFC 8839 §5.3).
    pub fn ice_lite(mut self) -> Self {
        self.attrs.raw(session_rank, "ice-lite", None);
        self
    }

    /// Adds any session-level attribute.
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attrs.push(session_rank, attribute);
        self
    }

    /// Adds a typed session-level attribute (fingerprint, setup, ice-options, …).
    pub fn typed<T: AttributeValue>(mut self, value: &T) -> Self {
        self.attrs.typed(session_rank, value);
        self
    }

    /// Appends a media section.
    pub fn media(mut self, media: MediaDescription) -> Self {
        self.desc.media.push(media);
        self
    }

    /// Checks the text fields and returns the description.
    pub fn build(self) -> Result<SessionDescription, BuildError> {
        let mut desc = self.desc;
        let o = &desc.origin;
        text_ok(&o.username, "origin username")?;
        if o.username.is_empty() || o.username.contains([' ', '\t']) {
            return Err(BuildError::InvalidText {
                field: "origin username",
            });
        }
        token_ok(&o.network_type, "origin nettype")?;
        token_ok(&o.address_type, "origin addrtype")?;
        token_ok(&o.unicast_address, "origin address")?;
        text_ok(&desc.session_name, "session name")?;
        desc.attributes = self.attrs.finish()?;
        Ok(desc)
    }
}

/// Builds one [`MediaDescription`].
#[derive(Debug, Clone)]
pub struct MediaBuilder {
    media: MediaDescription,
    attrs: Attrs,
}

impl MediaBuilder {
    /// Any section: `m=<kind> <port> <protocol> <formats>`.
    pub fn new(kind: MediaKind, port: u16, protocol: &str, formats: &[&str]) -> Self {
        Self {
            media: MediaDescription::new(
                kind,
                port,
                protocol,
                formats.iter().map(|f| (*f).to_owned()).collect(),
            ),
            attrs: Attrs::default(),
        }
    }

    /// `m=application 9 UDP/DTLS/SCTP webrtc-datachannel` and `c=IN IP4 0.0.0.0`
    /// (RFC 8841 §4, JSEP RFC 8829 §5.2.1 port 9 and address 0.0.0.0 before candidates).
    pub fn data_channel() -> Self {
        let mut b = Self::new(
            MediaKind::Application,
            9,
            "UDP/DTLS/SCTP",
            &["webrtc-datachannel"],
        );
        b.media
            .connections
            .push(Connection::new([0, 0, 0, 0].into()));
        b
    }

    /// `m=<audio|video> 9 UDP/TLS/RTP/SAVPF <pts>`, `c=IN IP4 0.0.0.0` and
    /// `a=rtcp:9 IN IP4 0.0.0.0`, as libwebrtc writes an RTP section before candidates.
    pub fn rtp(kind: MediaKind, payload_types: &[u8]) -> Self {
        let mut b = Self {
            media: MediaDescription::new(
                kind,
                9,
                "UDP/TLS/RTP/SAVPF",
                payload_types.iter().map(u8::to_string).collect(),
            ),
            attrs: Attrs::default(),
        };
        b.media
            .connections
            .push(Connection::new([0, 0, 0, 0].into()));
        b.attrs.typed(
            media_rank,
            &Rtcp {
                port: 9,
                address: Some(("IN".into(), "IP4".into(), "0.0.0.0".into())),
            },
        );
        b
    }

    /// [`MediaBuilder::rtp`] for audio.
    pub fn audio(payload_types: &[u8]) -> Self {
        Self::rtp(MediaKind::Audio, payload_types)
    }

    /// [`MediaBuilder::rtp`] for video.
    pub fn video(payload_types: &[u8]) -> Self {
        Self::rtp(MediaKind::Video, payload_types)
    }

    /// Sets the port (0 rejects the section).
    pub fn port(mut self, port: u16) -> Self {
        self.media.port = port;
        self
    }

    /// Replaces the `c=` lines with one for `ip`.
    pub fn connection(mut self, ip: std::net::IpAddr) -> Self {
        self.media.connections = vec![Connection::new(ip)];
        self
    }

    /// `a=mid` (RFC 5888 §4).
    pub fn mid(mut self, mid: &str) -> Self {
        self.attrs.raw(media_rank, "mid", Some(mid));
        self
    }

    /// `a=ice-ufrag` and `a=ice-pwd` (RFC 8839 §5.4).
    pub fn ice_credentials(mut self, ufrag: &str, pwd: &str) -> Self {
        self.attrs.raw(media_rank, "ice-ufrag", Some(ufrag));
        self.attrs.raw(media_rank, "ice-pwd", Some(pwd));
        self
    }

    /// `a=ice-options` (RFC 8839 §5.6), e.g. `&["trickle"]`.
    pub fn ice_options(mut self, options: &[&str]) -> Self {
        let o = IceOptions(options.iter().map(|o| (*o).to_owned()).collect());
        self.attrs.typed(media_rank, &o);
        self
    }

    /// `a=fingerprint` (RFC 8122 §5); call once per fingerprint.
    pub fn fingerprint(mut self, fingerprint: &Fingerprint) -> Self {
        self.attrs.typed(media_rank, fingerprint);
        self
    }

    /// `a=setup` (RFC 4145 §4; JSEP RFC 8829 §5.2.1: `actpass` in offers).
    pub fn setup(mut self, setup: Setup) -> Self {
        self.attrs.typed(media_rank, &setup);
        self
    }

    /// `a=tls-id` (RFC 8842 §4).
    pub fn tls_id(mut self, id: &str) -> Self {
        self.attrs.raw(media_rank, "tls-id", Some(id));
        self
    }

    /// `a=candidate` (RFC 8839 §5.1).
    pub fn candidate(mut self, candidate: &Candidate) -> Self {
        self.attrs.typed(media_rank, candidate);
        self
    }

    /// `a=end-of-candidates` (RFC 8840 §8.2).
    pub fn end_of_candidates(mut self) -> Self {
        self.attrs.raw(media_rank, "end-of-candidates", None);
        self
    }

    /// `a=sctp-port` (RFC 8841 §5).
    pub fn sctp_port(mut self, port: u16) -> Self {
        self.attrs
            .raw(media_rank, "sctp-port", Some(&port.to_string()));
        self
    }

    /// `a=max-message-size` (RFC 8841 §6).
    pub fn max_message_size(mut self, size: u64) -> Self {
        self.attrs
            .raw(media_rank, "max-message-size", Some(&size.to_string()));
        self
    }

    /// A direction attribute (RFC 8866 §6.7).
    pub fn direction(mut self, direction: Direction) -> Self {
        self.attrs.raw(media_rank, direction.as_str(), None);
        self
    }

    /// `a=msid:<stream> <track>` (RFC 8830 §2).
    pub fn msid(mut self, stream_id: &str, track_id: Option<&str>) -> Self {
        let m = Msid {
            stream_id: stream_id.to_owned(),
            track_id: track_id.map(str::to_owned),
        };
        self.attrs.typed(media_rank, &m);
        self
    }

    /// `a=rtcp-mux` (RFC 5761 §5.1.1).
    pub fn rtcp_mux(mut self) -> Self {
        self.attrs.raw(media_rank, "rtcp-mux", None);
        self
    }

    /// `a=rtcp-mux-only` (RFC 8858).
    pub fn rtcp_mux_only(mut self) -> Self {
        self.attrs.raw(media_rank, "rtcp-mux-only", None);
        self
    }

    /// `a=rtcp-rsize` (RFC 5506 §5).
    pub fn rtcp_rsize(mut self) -> Self {
        self.attrs.raw(media_rank, "rtcp-rsize", None);
        self
    }

    /// `a=extmap` (RFC 8285 §8).
    pub fn extmap(mut self, extmap: &Extmap) -> Self {
        self.attrs.typed(media_rank, extmap);
        self
    }

    /// A codec: its `a=rtpmap`, then `a=rtcp-fb` lines, then `a=fmtp` if any (libwebrtc order).
    pub fn codec(mut self, rtpmap: &RtpMap, feedback: &[RtcpFb], fmtp: Option<&Fmtp>) -> Self {
        self.attrs.typed(media_rank, rtpmap);
        for fb in feedback {
            self.attrs.typed(media_rank, fb);
        }
        if let Some(f) = fmtp {
            self.attrs.typed(media_rank, f);
        }
        self
    }

    /// `a=ssrc` (RFC 5576 §4.1).
    pub fn ssrc(mut self, ssrc: &Ssrc) -> Self {
        self.attrs.typed(media_rank, ssrc);
        self
    }

    /// `a=ssrc-group` (RFC 5576 §4.2).
    pub fn ssrc_group(mut self, group: &SsrcGroup) -> Self {
        self.attrs.typed(media_rank, group);
        self
    }

    /// `a=rid` (RFC 8851).
    pub fn rid(mut self, rid: &Rid) -> Self {
        self.attrs.typed(media_rank, rid);
        self
    }

    /// `a=simulcast` (RFC 8853).
    pub fn simulcast(mut self, simulcast: &Simulcast) -> Self {
        self.attrs.typed(media_rank, simulcast);
        self
    }

    /// Any attribute.
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attrs.push(media_rank, attribute);
        self
    }

    /// Any typed attribute.
    pub fn typed<T: AttributeValue>(mut self, value: &T) -> Self {
        self.attrs.typed(media_rank, value);
        self
    }

    /// Checks the `m=` fields and returns the section.
    pub fn build(self) -> Result<MediaDescription, BuildError> {
        let mut media = self.media;
        token_ok(media.kind.as_str(), "media kind")?;
        if media.protocol.is_empty()
            || !media
                .protocol
                .bytes()
                .all(|b| b == b'/' || crate::attribute::is_token_char(b))
        {
            return Err(BuildError::InvalidText { field: "protocol" });
        }
        if media.formats.is_empty() {
            return Err(BuildError::InvalidText { field: "formats" });
        }
        for f in &media.formats {
            token_ok(f, "format")?;
        }
        media.attributes = self.attrs.finish()?;
        Ok(media)
    }
}
