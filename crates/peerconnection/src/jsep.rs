//! JSEP (RFC 8829) descriptions: what we put in our offers and answers, and what we take from the
//! remote description.

use crate::Error;
use crate::media::{Codec, MediaKind};
use tern_sdp::{Direction, SessionDescription, Setup};

/// Offer or answer (W3C `RTCSdpType`; `pranswer` is treated as an answer that may still change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdpType {
    /// An offer.
    Offer,
    /// A provisional answer.
    Pranswer,
    /// A final answer.
    Answer,
    /// Roll back to the last stable state.
    Rollback,
}

/// A description as exchanged over signaling (W3C `RTCSessionDescriptionInit`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionDescriptionInit {
    /// Offer, answer, …
    pub sdp_type: SdpType,
    /// The SDP text.
    pub sdp: String,
}

/// One m-section of our description, in m-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LocalSection {
    /// `m=application … webrtc-datachannel`.
    Data { mid: String },
    /// `m=audio` / `m=video`.
    Media(MediaSection),
    /// A section we reject or stopped: port 0, no BUNDLE membership (RFC 8843 §7.3.3).
    Rejected {
        mid: String,
        kind: String,
        protocol: String,
        format: String,
    },
}

/// An audio or video m-section as we write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MediaSection {
    pub mid: String,
    pub kind: MediaKind,
    pub direction: Direction,
    pub codecs: Vec<Codec>,
    pub extensions: Vec<(u8, String)>,
    /// (stream id, track id) when we send.
    pub msid: Option<(String, String)>,
    pub ssrc: u32,
    pub rtx_ssrc: Option<u32>,
    pub cname: String,
    /// Write `a=rtcp-fb:* ack ccfb` (RFC 8888 feedback offered or accepted).
    pub ccfb: bool,
}

/// Everything our side writes into a description.
pub(crate) struct LocalParams<'a> {
    pub session_id: u64,
    pub session_version: u64,
    pub ufrag: &'a str,
    pub pwd: &'a str,
    pub fingerprint: &'a str,
    pub setup: Setup,
    pub candidates: &'a [String],
    pub end_of_candidates: bool,
    pub sections: &'a [LocalSection],
    pub sctp_port: u16,
    pub max_message_size: usize,
}

/// Renders our description in JSEP order (RFC 8829 §5.2.1 for offers, §5.3.1 for answers).
pub(crate) fn render(params: &LocalParams<'_>) -> String {
    let mut sdp = String::with_capacity(2048);
    let mut line = |s: &str| {
        sdp.push_str(s);
        sdp.push_str("\r\n");
    };
    line("v=0");
    // RFC 8829 §5.2.1: "o=- <session-id> <version> IN IP4 0.0.0.0"; the session id is random, < 2^63.
    line(&format!(
        "o=- {} {} IN IP4 127.0.0.1",
        params.session_id, params.session_version
    ));
    line("s=-");
    line("t=0 0");
    // RFC 8843 §7.1: every bundled (not rejected) m-section is listed in one BUNDLE group.
    let bundled: Vec<&str> = params
        .sections
        .iter()
        .filter_map(|s| match s {
            LocalSection::Data { mid } => Some(mid.as_str()),
            LocalSection::Media(m) => Some(m.mid.as_str()),
            LocalSection::Rejected { .. } => None,
        })
        .collect();
    if !bundled.is_empty() {
        line(&format!("a=group:BUNDLE {}", bundled.join(" ")));
    }
    line("a=msid-semantic: WMS");
    for section in params.sections {
        match section {
            LocalSection::Rejected {
                mid,
                kind,
                protocol,
                format,
            } => {
                line(&format!("m={kind} 0 {protocol} {format}"));
                line("c=IN IP4 0.0.0.0");
                line(&format!("a=mid:{mid}"));
                line("a=inactive");
            }
            LocalSection::Data { mid } => {
                line("m=application 9 UDP/DTLS/SCTP webrtc-datachannel");
                line("c=IN IP4 0.0.0.0");
                transport_lines(&mut line, params);
                line(&format!("a=mid:{mid}"));
                // RFC 8841 §5: the SCTP port and the largest message we accept.
                line(&format!("a=sctp-port:{}", params.sctp_port));
                line(&format!("a=max-message-size:{}", params.max_message_size));
            }
            LocalSection::Media(m) => media_lines(&mut line, params, m),
        }
    }
    sdp
}

fn transport_lines(line: &mut impl FnMut(&str), params: &LocalParams<'_>) {
    for candidate in params.candidates {
        line(&format!("a={candidate}"));
    }
    if params.end_of_candidates {
        line("a=end-of-candidates");
    }
    line(&format!("a=ice-ufrag:{}", params.ufrag));
    line(&format!("a=ice-pwd:{}", params.pwd));
    line("a=ice-options:trickle");
    line(&format!("a=fingerprint:{}", params.fingerprint));
    line(&format!("a=setup:{}", setup_value(params.setup)));
}

fn media_lines(line: &mut impl FnMut(&str), params: &LocalParams<'_>, m: &MediaSection) {
    let mut formats: Vec<String> = Vec::new();
    for codec in &m.codecs {
        formats.push(codec.payload_type.to_string());
        if let Some(rtx) = codec.rtx_payload_type {
            formats.push(rtx.to_string());
        }
    }
    // RFC 8829 §5.2.1: UDP/TLS/RTP/SAVPF for DTLS-SRTP media.
    line(&format!(
        "m={} 9 UDP/TLS/RTP/SAVPF {}",
        m.kind.as_str(),
        formats.join(" ")
    ));
    line("c=IN IP4 0.0.0.0");
    line("a=rtcp:9 IN IP4 0.0.0.0");
    transport_lines(line, params);
    line(&format!("a=mid:{}", m.mid));
    for (id, uri) in &m.extensions {
        line(&format!("a=extmap:{id} {uri}"));
    }
    line(&format!("a={}", m.direction.as_str()));
    let sending = matches!(m.direction, Direction::SendRecv | Direction::SendOnly);
    if let (true, Some((stream, track))) = (sending, &m.msid) {
        // RFC 8830 §2: a=msid:<stream id> <track id>.
        line(&format!("a=msid:{stream} {track}"));
    }
    // RFC 8829 §5.2.1: rtcp-mux is required; rtcp-rsize offered (RFC 5506).
    line("a=rtcp-mux");
    line("a=rtcp-rsize");
    for codec in &m.codecs {
        let channels = codec.channels.map(|c| format!("/{c}")).unwrap_or_default();
        line(&format!(
            "a=rtpmap:{} {}/{}{channels}",
            codec.payload_type, codec.name, codec.clock_rate
        ));
        for fb in &codec.rtcp_fb {
            line(&format!("a=rtcp-fb:{} {fb}", codec.payload_type));
        }
        if let Some(fmtp) = &codec.fmtp {
            line(&format!("a=fmtp:{} {fmtp}", codec.payload_type));
        }
        if let Some(rtx) = codec.rtx_payload_type {
            // RFC 4588 §8.6.
            line(&format!("a=rtpmap:{rtx} rtx/{}", codec.clock_rate));
            line(&format!("a=fmtp:{rtx} apt={}", codec.payload_type));
        }
    }
    if m.ccfb {
        // RFC 8888 §6: congestion control feedback is signalled with the wildcard payload
        // type, as it covers every packet of the RTP session (RTX included).
        line(&format!("a=rtcp-fb:* {}", crate::media::CCFB_FEEDBACK));
    }
    if sending {
        let msid = m.msid.as_ref().map(|(s, t)| format!("{s} {t}"));
        if let Some(rtx) = m.rtx_ssrc {
            // RFC 5576 §4.2 / RFC 4588 §8.7: the FID group pairs the media and RTX SSRCs.
            line(&format!("a=ssrc-group:FID {} {rtx}", m.ssrc));
        }
        for ssrc in std::iter::once(m.ssrc).chain(m.rtx_ssrc) {
            line(&format!("a=ssrc:{ssrc} cname:{}", m.cname));
            if let Some(msid) = &msid {
                line(&format!("a=ssrc:{ssrc} msid:{msid}"));
            }
        }
    }
}

fn setup_value(setup: Setup) -> &'static str {
    match setup {
        Setup::ActPass => "actpass",
        Setup::Active => "active",
        Setup::Passive => "passive",
        Setup::HoldConn => "holdconn",
    }
}

/// What we take from the remote description for the one bundled transport.
#[derive(Clone, Debug)]
pub(crate) struct RemoteTransport {
    pub ufrag: String,
    pub pwd: String,
    pub fingerprints: Vec<tern_dtls::Fingerprint>,
    pub setup: Setup,
    /// Whether the description carried `a=setup` at all (an answer must).
    pub setup_present: bool,
    /// `a=tls-id` (RFC 8842 §5.4): a change means a new DTLS association.
    pub tls_id: Option<String>,
    pub candidates: Vec<tern_sdp::Candidate>,
    pub end_of_candidates: bool,
    pub ice_lite: bool,
    pub data: Option<RemoteData>,
}

/// The remote data-channel m-section.
#[derive(Clone, Debug)]
pub(crate) struct RemoteData {
    pub sctp_port: u16,
    pub max_message_size: usize,
}

/// RFC 8841 §6.1: when a=max-message-size is absent the peer accepts 64 KiB.
const DEFAULT_REMOTE_MAX_MESSAGE_SIZE: usize = 65536;

/// Reads the transport parameters of the first bundled m-section (RFC 8843: the BUNDLE-tag section
/// carries the transport for all).
pub(crate) fn remote_transport(session: &SessionDescription) -> Result<RemoteTransport, Error> {
    let first = session
        .media
        .first()
        .ok_or(Error::Description("no m-section"))?;
    let ufrag = session
        .ice_ufrag_for(first)
        .ok_or(Error::Description("no a=ice-ufrag"))?;
    let pwd = session
        .ice_pwd_for(first)
        .ok_or(Error::Description("no a=ice-pwd"))?;
    let mut fingerprints = Vec::new();
    for fp in session.fingerprints_for(first) {
        let text = format!("{} {}", fp.hash_function, hex_colon(&fp.value));
        // Unknown hash functions are skipped; RFC 8122 §5 lets a peer offer several.
        if let Ok(parsed) = tern_dtls::Fingerprint::parse(&text) {
            fingerprints.push(parsed);
        }
    }
    if fingerprints.is_empty() {
        return Err(Error::Description("no usable a=fingerprint"));
    }
    // RFC 8842 §5.2: a missing a=setup in an offer means actpass.
    let setup_present = session.setup_for(first).is_some();
    let setup = session.setup_for(first).unwrap_or(Setup::ActPass);
    let tls_id = first.tls_id().or(session.tls_id()).map(str::to_string);
    let data = session
        .media
        .iter()
        .find(|m| m.is_data_channel() && m.port != 0)
        .map(|m| RemoteData {
            sctp_port: m.sctp_port().unwrap_or(5000),
            max_message_size: m
                .max_message_size()
                .map(|v| usize::try_from(v).unwrap_or(usize::MAX))
                .unwrap_or(DEFAULT_REMOTE_MAX_MESSAGE_SIZE),
        });
    Ok(RemoteTransport {
        ufrag: ufrag.to_string(),
        pwd: pwd.to_string(),
        fingerprints,
        setup,
        setup_present,
        tls_id,
        candidates: first.candidates().collect(),
        end_of_candidates: first.end_of_candidates(),
        ice_lite: session.ice_lite(),
        data,
    })
}

fn hex_colon(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{b:02X}"));
    }
    out
}
