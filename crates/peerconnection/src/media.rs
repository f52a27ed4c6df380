//! Media transceivers (W3C `RTCRtpTransceiver`): kind, mid, direction, codec preferences, our
//! SSRCs, and what the remote description negotiated for each m-section (RFC 8829 §5.2–§5.3,
//! RFC 3264 §6.1 directions, RFC 4588 RTX, RFC 8285 extmaps).

use std::collections::BTreeMap;
use tern_sdp::{Direction, MediaDescription};

/// Audio or video (W3C `MediaStreamTrack.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `m=audio`.
    Audio,
    /// `m=video`.
    Video,
}

impl MediaKind {
    /// The `m=` token.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }

    pub(crate) fn from_sdp(kind: &tern_sdp::MediaKind) -> Option<MediaKind> {
        match kind {
            tern_sdp::MediaKind::Audio => Some(MediaKind::Audio),
            tern_sdp::MediaKind::Video => Some(MediaKind::Video),
            _ => None,
        }
    }
}

/// An application-facing handle to a transceiver (stable before its mid is known).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransceiverId(pub u64);

/// One RTP payload format (W3C `RTCRtpCodecParameters`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codec {
    /// The payload type (ours in offers; the negotiated one once a description is applied).
    pub payload_type: u8,
    /// Encoding name as in `a=rtpmap` (`opus`, `VP8`).
    pub name: String,
    /// RTP clock rate.
    pub clock_rate: u32,
    /// Audio channels.
    pub channels: Option<u16>,
    /// `a=fmtp` parameters, as written.
    pub fmtp: Option<String>,
    /// `a=rtcp-fb` values (`nack`, `nack pli`, `ccm fir`, `transport-cc`).
    pub rtcp_fb: Vec<String>,
    /// RFC 4588 retransmission payload type for this codec.
    pub rtx_payload_type: Option<u8>,
}

impl Codec {
    fn matches(&self, other: &Codec) -> bool {
        self.name.eq_ignore_ascii_case(&other.name)
            && self.clock_rate == other.clock_rate
            && self.channels.unwrap_or(1) == other.channels.unwrap_or(1)
    }
}

/// The codecs Tern offers: Opus for audio; VP8 with RTX, NACK, PLI and FIR for video. Both with
/// transport-wide congestion control feedback.
pub fn default_codecs(kind: MediaKind) -> Vec<Codec> {
    match kind {
        MediaKind::Audio => vec![Codec {
            payload_type: 111,
            name: "opus".into(),
            clock_rate: 48_000,
            channels: Some(2),
            fmtp: Some("minptime=10;useinbandfec=1".into()),
            rtcp_fb: vec![TWCC_FEEDBACK.into()],
            rtx_payload_type: None,
        }],
        MediaKind::Video => vec![Codec {
            payload_type: 96,
            name: "VP8".into(),
            clock_rate: 90_000,
            channels: None,
            fmtp: None,
            rtcp_fb: vec![
                TWCC_FEEDBACK.into(),
                "ccm fir".into(),
                "nack".into(),
                "nack pli".into(),
            ],
            rtx_payload_type: Some(97),
        }],
    }
}

/// Whether Tern offers and accepts RFC 8888 congestion control feedback
/// (`a=rtcp-fb:* ack ccfb`) instead of transport-wide CC feedback ([`crate::RtcConfig::rfc8888`]).
///
/// What runs is settled by the negotiation that creates the connection's RTP session (the first
/// one with media) and kept across renegotiation, like the header-extension ids:
/// - both sides have `ack ccfb` → every receiver sends RFC 8888 feedback (RTCP PT 205 FMT 11)
///   and no transport-wide feedback; the answer drops `transport-cc` and the transport-wide
///   sequence number extension (Chromium's behaviour with its RFC 8888 field trial), so no
///   packet carries that extension and each sender's bandwidth estimator is driven by RFC 8888;
///   abs-send-time is offered and accepted alongside (libwebrtc needs a send-side estimation
///   extension to send padding, so to probe: `with_abs_send_time`);
/// - otherwise → transport-wide CC feedback, as before (an offer with `ack ccfb` also carries
///   `transport-cc` and the extension, so a peer without RFC 8888 falls back to them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rfc8888Policy {
    /// Never offered; an offer carrying it is answered without it (transport-wide CC).
    Off,
    /// Not offered; answered when the remote offer carries it (the default: a peer that offers
    /// RFC 8888 prefers it, and Tern speaks it).
    #[default]
    Accept,
    /// Offered in every audio/video m-section (together with `transport-cc`, for peers
    /// without it) and answered when offered.
    Offer,
}

/// The `a=rtcp-fb` value of RFC 8888 §6 (`ack` feedback with the `ccfb` parameter).
pub(crate) const CCFB_FEEDBACK: &str = "ack ccfb";
/// The `a=rtcp-fb` value of transport-wide CC feedback.
pub(crate) const TWCC_FEEDBACK: &str = "transport-cc";

/// Counts of congestion control feedback packets on the connection's RTP session (RTCP PT 205:
/// FMT 15 transport-wide, FMT 11 RFC 8888), as sent and as received (after SRTCP).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CongestionFeedbackCounts {
    /// Transport-wide CC feedback packets we sent.
    pub twcc_sent: u64,
    /// Transport-wide CC feedback packets the remote sent us.
    pub twcc_received: u64,
    /// RFC 8888 feedback packets we sent.
    pub ccfb_sent: u64,
    /// RFC 8888 feedback packets the remote sent us.
    pub ccfb_received: u64,
}

impl CongestionFeedbackCounts {
    /// Counts the feedback packets in one plain (decrypted) RTCP compound packet; `sent` picks
    /// the direction. Stops at the first malformed length (the RTP session rejects those).
    pub(crate) fn count(&mut self, compound: &[u8], sent: bool) {
        let mut rest = compound;
        while let (Some(&first), Some(&packet_type), Some(&high), Some(&low)) =
            (rest.first(), rest.get(1), rest.get(2), rest.get(3))
        {
            let len = (usize::from(u16::from_be_bytes([high, low])) + 1) * 4;
            if rest.len() < len {
                return;
            }
            // RFC 8888 §3.1: RTPFB (205) FMT 11; draft-holmer-rmcat-transport-wide-cc-
            // extensions-01 §3.1: RTPFB FMT 15.
            let counter = match (packet_type, first & 0x1f, sent) {
                (205, 11, true) => Some(&mut self.ccfb_sent),
                (205, 11, false) => Some(&mut self.ccfb_received),
                (205, 15, true) => Some(&mut self.twcc_sent),
                (205, 15, false) => Some(&mut self.twcc_received),
                _ => None,
            };
            if let Some(c) = counter {
                *c = c.saturating_add(1);
            }
            rest = rest.get(len..).unwrap_or_default();
        }
    }
}

/// The header extensions Tern offers: (id, URI). The ids are the same in every m-section
/// (RFC 8843 §9.2: one id space per BUNDLE group).
pub(crate) const OFFERED_EXTENSIONS: [(u8, &str); 2] = [
    (1, tern_rtp_rtcp::wire::ext::URI_MID),
    (3, tern_rtp_rtcp::wire::ext::URI_TRANSPORT_WIDE_CC),
];

/// The track a transceiver sends (W3C `RTCRtpSender.track`, with its stream for `a=msid`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LocalTrack {
    pub stream_id: String,
    pub track_id: String,
}

/// What the remote description says about one m-section.
#[derive(Clone, Debug, Default)]
pub(crate) struct RemoteMedia {
    /// Its direction from its own point of view.
    pub direction: Option<Direction>,
    /// Its codecs with its payload types (RTX folded into `rtx_payload_type`).
    pub codecs: Vec<Codec>,
    /// Its `a=extmap` ids.
    pub extensions: Vec<(u8, String)>,
    /// Its media SSRCs and their RTX SSRCs (`a=ssrc-group:FID`).
    pub ssrcs: Vec<(u32, Option<u32>)>,
    /// `a=msid` stream ids and track id.
    pub stream_ids: Vec<String>,
    pub track_id: Option<String>,
    /// `a=rtcp-rsize`.
    pub rtcp_rsize: bool,
    /// `a=rtcp-fb:* ack ccfb` (RFC 8888 §6; also accepted on a single payload type).
    pub ccfb: bool,
}

/// One transceiver.
pub(crate) struct Transceiver {
    pub kind: MediaKind,
    pub mid: Option<String>,
    /// What the application wants (W3C `direction`).
    pub direction: Direction,
    /// What the last complete negotiation settled (W3C `currentDirection`), our point of view.
    pub current_direction: Option<Direction>,
    pub sender: Option<LocalTrack>,
    /// Our codec preferences with our payload types.
    pub codecs: Vec<Codec>,
    pub ssrc: u32,
    pub rtx_ssrc: Option<u32>,
    /// The remote side of the m-section, once a remote description carried it.
    pub remote: Option<RemoteMedia>,
    /// Negotiated codecs (payload types as both sides agreed), first = the one we send.
    pub negotiated: Vec<Codec>,
    /// The m-section was rejected (port 0) or stopped.
    pub stopped: bool,
    /// A `Track` event was given for the current remote sender.
    pub track_announced: bool,
    /// Our next RTP sequence number (random start, RFC 3550 §5.1).
    pub sequence: u16,
    /// Added to the application's RTP timestamps (random start, RFC 3550 §5.1).
    pub timestamp_offset: u32,
    /// RTP packets and payload bytes the application wrote.
    pub packets_sent: u64,
    pub bytes_sent: u64,
}

impl Transceiver {
    /// Whether we may send under the negotiated direction.
    pub fn can_send(&self) -> bool {
        matches!(
            self.current_direction,
            Some(Direction::SendRecv | Direction::SendOnly)
        )
    }

    /// Whether the remote may send to us.
    pub fn can_receive(&self) -> bool {
        matches!(
            self.current_direction,
            Some(Direction::SendRecv | Direction::RecvOnly)
        )
    }
}

/// RFC 3264 §6.1: the answer's direction given what we want and what the offer said.
pub(crate) fn answer_direction(local: Direction, remote_offer: Direction) -> Direction {
    let we_send = matches!(local, Direction::SendRecv | Direction::SendOnly)
        && matches!(remote_offer, Direction::SendRecv | Direction::RecvOnly);
    let we_receive = matches!(local, Direction::SendRecv | Direction::RecvOnly)
        && matches!(remote_offer, Direction::SendRecv | Direction::SendOnly);
    match (we_send, we_receive) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

/// Reads one remote audio/video m-section.
pub(crate) fn remote_media(media: &MediaDescription) -> RemoteMedia {
    let mut by_pt: BTreeMap<u8, Codec> = BTreeMap::new();
    let mut rtx: Vec<(u8, u8)> = Vec::new();
    for map in media.rtpmaps() {
        if map.encoding_name.eq_ignore_ascii_case("rtx") {
            // RFC 4588 §8.6: `a=fmtp:<rtx pt> apt=<media pt>`.
            if let Some(apt) = media
                .fmtp(map.payload_type)
                .and_then(|f| f.get("apt").and_then(|v| v.trim().parse::<u8>().ok()))
            {
                rtx.push((map.payload_type, apt));
            }
            continue;
        }
        let fmtp = media.fmtp(map.payload_type).map(|f| {
            f.parameters
                .iter()
                .map(|p| match &p.value {
                    Some(v) => format!("{}={v}", p.key),
                    None => p.key.clone(),
                })
                .collect::<Vec<_>>()
                .join(";")
        });
        let rtcp_fb = media
            .rtcp_fb(map.payload_type)
            .map(|fb| match fb.parameter {
                Some(p) => format!("{} {p}", fb.feedback_type),
                None => fb.feedback_type,
            })
            .collect();
        by_pt.insert(
            map.payload_type,
            Codec {
                payload_type: map.payload_type,
                name: map.encoding_name.clone(),
                clock_rate: map.clock_rate,
                channels: map.channels,
                fmtp,
                rtcp_fb,
                rtx_payload_type: None,
            },
        );
    }
    for (rtx_pt, apt) in rtx {
        if let Some(codec) = by_pt.get_mut(&apt) {
            codec.rtx_payload_type = Some(rtx_pt);
        }
    }
    // Codecs in the m= line's preference order.
    let codecs = media
        .formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .filter_map(|pt| by_pt.remove(&pt))
        .collect();
    let mut ssrcs: Vec<(u32, Option<u32>)> = Vec::new();
    for group in media.ssrc_groups() {
        // RFC 5576 §4.2 / RFC 4588 §8.7: FID <media> <rtx>.
        if group.semantics.eq_ignore_ascii_case("FID")
            && let [primary, repair, ..] = group.ssrcs.as_slice()
            && !ssrcs.iter().any(|(s, _)| s == primary)
        {
            ssrcs.push((*primary, Some(*repair)));
        }
    }
    for ssrc in media.ssrcs() {
        let is_rtx = ssrcs.iter().any(|(_, r)| *r == Some(ssrc.ssrc));
        if !is_rtx && !ssrcs.iter().any(|(s, _)| *s == ssrc.ssrc) {
            ssrcs.push((ssrc.ssrc, None));
        }
    }
    let msid = media.msids().next();
    let (stream_ids, track_id) = match msid {
        Some(m) => (vec![m.stream_id], m.track_id),
        None => {
            // Plan-B-era peers put the msid on `a=ssrc:<n> msid:<stream> <track>` only.
            let from_ssrc = media
                .ssrcs()
                .find(|s| s.attribute == "msid")
                .and_then(|s| s.value)
                .map(|v| {
                    let mut parts = v.split_whitespace();
                    let stream = parts.next().unwrap_or("-").to_string();
                    (vec![stream], parts.next().map(str::to_string))
                });
            from_ssrc.unwrap_or_default()
        }
    };
    RemoteMedia {
        direction: Some(media.direction_or_default()),
        codecs,
        extensions: media
            .extmaps()
            .filter_map(|e| u8::try_from(e.id).ok().map(|id| (id, e.uri)))
            .collect(),
        ssrcs,
        stream_ids,
        track_id,
        rtcp_rsize: media.rtcp_rsize(),
        ccfb: media.rtcp_fbs().any(|fb| {
            fb.feedback_type.eq_ignore_ascii_case("ack")
                && fb
                    .parameter
                    .as_deref()
                    .is_some_and(|p| p.trim().eq_ignore_ascii_case("ccfb"))
        }),
    }
}

/// With RFC 8888 feedback negotiated, transport-wide CC is not: `transport-cc` leaves every
/// codec's feedback and the transport-wide sequence number extension leaves the extmaps
/// (Chromium's answers do the same, so no packet carries a sequence number nobody reports).
pub(crate) fn without_transport_cc(codecs: &mut [Codec], extensions: &mut Vec<(u8, String)>) {
    for codec in codecs {
        codec
            .rtcp_fb
            .retain(|fb| !fb.eq_ignore_ascii_case(TWCC_FEEDBACK));
    }
    extensions.retain(|(_, uri)| uri != tern_rtp_rtcp::wire::ext::URI_TRANSPORT_WIDE_CC);
}

/// Our codecs that the remote also has, in our preference order, with the remote's payload
/// types (RFC 8829 §5.3.1: the answer uses the offer's payload types; taking the remote's for an
/// answer we receive is equally right, they agree).
pub(crate) fn negotiate_codecs(ours: &[Codec], theirs: &[Codec]) -> Vec<Codec> {
    ours.iter()
        .filter_map(|mine| {
            let remote = theirs.iter().find(|t| t.matches(mine))?;
            let rtcp_fb = mine
                .rtcp_fb
                .iter()
                .filter(|fb| remote.rtcp_fb.iter().any(|r| r.eq_ignore_ascii_case(fb)))
                .cloned()
                .collect();
            Some(Codec {
                payload_type: remote.payload_type,
                name: mine.name.clone(),
                clock_rate: mine.clock_rate,
                channels: mine.channels,
                fmtp: remote.fmtp.clone().or_else(|| mine.fmtp.clone()),
                rtcp_fb,
                rtx_payload_type: mine.rtx_payload_type.and(remote.rtx_payload_type),
            })
        })
        .collect()
}

/// The header extensions both sides know, with the remote's ids (abs-send-time too when RFC
/// 8888 feedback is negotiated, see [`with_abs_send_time`]).
pub(crate) fn negotiate_extensions(theirs: &[(u8, String)], ccfb: bool) -> Vec<(u8, String)> {
    theirs
        .iter()
        .filter(|(_, uri)| {
            OFFERED_EXTENSIONS.iter().any(|(_, ours)| ours == uri)
                || (ccfb && uri == tern_rtp_rtcp::wire::ext::URI_ABS_SEND_TIME)
        })
        .cloned()
        .collect()
}

/// The id Tern offers abs-send-time under, with RFC 8888 feedback.
pub(crate) const ABS_SEND_TIME_ID: u8 = 2;

/// With RFC 8888 feedback, Tern also offers (and accepts, [`negotiate_extensions`])
/// abs-send-time: libwebrtc sends padding — so its bandwidth probes — only when a send-side
/// estimation header extension is negotiated (transport-wide sequence numbers or
/// abs-send-time), and RFC 8888 takes the first away. Without it Chromium cannot probe and its
/// estimate creeps up from its start rate (measured in pc-chromium: ≈ 0.2–0.4 Mbit/s after 5 s,
/// against ≈ 1.35 Mbit/s with it, as with transport-wide feedback).
pub(crate) fn with_abs_send_time(extensions: &mut Vec<(u8, String)>) {
    let uri = tern_rtp_rtcp::wire::ext::URI_ABS_SEND_TIME;
    if !extensions
        .iter()
        .any(|(id, u)| u == uri || *id == ABS_SEND_TIME_ID)
    {
        extensions.push((ABS_SEND_TIME_ID, uri.to_string()));
    }
}

/// The mid a remote description gives an m-section, or its index for descriptions without mids.
pub(crate) fn section_mid(media: &MediaDescription, index: usize) -> String {
    media
        .mid()
        .map(str::to_string)
        .unwrap_or_else(|| index.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_directions_follow_rfc3264() {
        use Direction::*;
        assert_eq!(answer_direction(SendRecv, SendRecv), SendRecv);
        assert_eq!(answer_direction(SendRecv, SendOnly), RecvOnly);
        assert_eq!(answer_direction(SendRecv, RecvOnly), SendOnly);
        assert_eq!(answer_direction(RecvOnly, RecvOnly), Inactive);
        assert_eq!(answer_direction(SendOnly, SendRecv), SendOnly);
        assert_eq!(answer_direction(SendRecv, Inactive), Inactive);
    }

    fn video_section(feedback: &str) -> RemoteMedia {
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
             m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
             a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 transport-cc\r\n\
             a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n{feedback}"
        );
        let session = tern_sdp::SessionDescription::parse(&sdp).unwrap();
        remote_media(&session.media[0])
    }

    #[test]
    fn ccfb_is_read_from_the_wildcard_and_from_a_payload_type() {
        // RFC 8888 §6: the wildcard form (Chromium's), and a per-type line read the same way.
        let wildcard = video_section("a=rtcp-fb:* ack ccfb\r\n");
        assert!(wildcard.ccfb);
        // The wildcard line applies to the codec too (RFC 4585 §4.2), then stays out of the
        // negotiated feedback: Tern writes it once, as the wildcard.
        assert!(wildcard.codecs[0].rtcp_fb.contains(&"ack ccfb".to_string()));
        let got = negotiate_codecs(&default_codecs(MediaKind::Video), &wildcard.codecs);
        assert_eq!(got[0].rtcp_fb, vec!["transport-cc".to_string()]);
        assert!(video_section("a=rtcp-fb:96 ack  ccfb\r\n").ccfb);
        assert!(!video_section("").ccfb);
        assert!(!video_section("a=rtcp-fb:* ack rpsi\r\n").ccfb);
        assert!(!video_section("a=rtcp-fb:* nack\r\n").ccfb);
    }

    #[test]
    fn without_transport_cc_drops_the_feedback_and_the_extension() {
        let mut codecs = default_codecs(MediaKind::Video);
        let mut extensions: Vec<(u8, String)> = OFFERED_EXTENSIONS
            .iter()
            .map(|(id, uri)| (*id, uri.to_string()))
            .collect();
        without_transport_cc(&mut codecs, &mut extensions);
        assert!(!codecs[0].rtcp_fb.iter().any(|f| f == TWCC_FEEDBACK));
        assert_eq!(codecs[0].rtcp_fb.len(), 3, "nack, pli and fir stay");
        assert_eq!(
            extensions,
            vec![(1, tern_rtp_rtcp::wire::ext::URI_MID.to_string())]
        );
    }

    #[test]
    fn abs_send_time_comes_with_ccfb_only() {
        let abs = tern_rtp_rtcp::wire::ext::URI_ABS_SEND_TIME.to_string();
        let mid = tern_rtp_rtcp::wire::ext::URI_MID.to_string();
        let theirs = vec![(4, mid.clone()), (2, abs.clone())];
        assert_eq!(negotiate_extensions(&theirs, false), vec![(4, mid.clone())]);
        assert_eq!(negotiate_extensions(&theirs, true), theirs);
        let mut ours = vec![(1, mid.clone())];
        with_abs_send_time(&mut ours);
        with_abs_send_time(&mut ours);
        assert_eq!(ours, vec![(1, mid), (ABS_SEND_TIME_ID, abs)]);
    }

    #[test]
    fn feedback_counts_follow_rtpfb_fmt_and_stop_at_a_bad_length() {
        // RR (201, empty), RTPFB FMT 11 (3 words), RTPFB FMT 15 (3 words), RTPFB FMT 1 (NACK).
        let mut compound = vec![0x80, 201, 0, 1, 0, 0, 0, 1];
        compound.extend([0x8b, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
        compound.extend([0x8f, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
        compound.extend([0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
        let mut counts = CongestionFeedbackCounts::default();
        counts.count(&compound, false);
        counts.count(&compound[8..24], true);
        assert_eq!(
            counts,
            CongestionFeedbackCounts {
                twcc_sent: 0,
                twcc_received: 1,
                ccfb_sent: 1,
                ccfb_received: 1,
            }
        );
        // A length running past the datagram counts nothing more.
        let mut truncated = CongestionFeedbackCounts::default();
        truncated.count(&[0x8b, 205, 0, 9, 0, 0, 0, 1], false);
        assert_eq!(truncated, CongestionFeedbackCounts::default());
    }

    #[test]
    fn codecs_match_by_name_and_take_remote_payload_types() {
        let theirs = vec![Codec {
            payload_type: 120,
            name: "vp8".into(),
            clock_rate: 90_000,
            channels: None,
            fmtp: None,
            rtcp_fb: vec!["nack".into(), "nack pli".into(), "goog-remb".into()],
            rtx_payload_type: Some(121),
        }];
        let got = negotiate_codecs(&default_codecs(MediaKind::Video), &theirs);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload_type, 120);
        assert_eq!(got[0].rtx_payload_type, Some(121));
        assert_eq!(
            got[0].rtcp_fb,
            vec!["nack".to_string(), "nack pli".to_string()]
        );
        assert!(negotiate_codecs(&default_codecs(MediaKind::Audio), &theirs).is_empty());
    }
}
