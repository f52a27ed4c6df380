//! Sans-IO RTP/RTCP for WebRTC: packet codecs, per-SSRC receive and send state, NACK/RTX,
//! transport-wide congestion control feedback, GCC-style bandwidth estimation and a pacer.
//!
//! The crate owns no socket, thread or clock: arrival and send times come in as
//! `now: Instant`, NTP wall-clock time is passed in once ([`RtpSession::new`]) and
//! extrapolated, and RTP time is counted in RTP timestamp units.
//!
//! # Implemented
//!
//! * RFC 3550 — RTP fixed header, CSRCs, padding, header extension (§5.1, §5.3.1); SR, RR,
//!   SDES, BYE, APP (§6.4–6.7); compound packets (§6.1, A.2); sequence number validation and
//!   extended sequence numbers (A.1); loss (A.3); jitter (A.8); RTCP interval with the
//!   reduced minimum (§6.2, §6.3.1, A.7). Not implemented: the member/sender tables and timer reconsideration (§6.3.2–§6.3.7
//!   onward: members/senders tables, BYE back-off) — a WebRTC session has two members;
//!   SSRC collision detection (§8.2).
//! * RFC 8285 — one-byte and two-byte header extensions, including mixed use (§4.1.2; `a=extmap-allow-mixed`, §6).
//! * Typed extensions: `sdes:mid` (RFC 8843), `rtp-stream-id` / `repaired-rtp-stream-id`
//!   (RFC 8852), abs-send-time, transport-wide-cc-01, audio level (RFC 6464), toffset
//!   (RFC 5450), video orientation (3GPP TS 26.114), playout-delay; the
//!   [`ExtensionMap`](wire::ext::ExtensionMap) registry maps SDP `a=extmap` ids to them.
//! * RFC 4585 — generic NACK (§6.2.1), PLI (§6.3.1), SLI (§6.3.2); early feedback is sent
//!   as soon as it is due. RFC 5104 — FIR (§4.3.1). Not implemented: TMMBR/TMMBN, TSTR.
//! * RFC 3611 — XR RRTR (§4.4) and DLRR (§4.5) for receiver RTT; other block types are kept
//!   opaque.
//! * RFC 4588 — RTX with the original sequence number, session-multiplexed (SSRC).
//! * RFC 5506 — reduced-size RTCP (feedback sent without RR/SDES when `a=rtcp-rsize`).
//! * RFC 8888 — congestion control feedback (§3.1): codec; generation on the receive side
//!   ([`ccfb::CcfbReceiver`], selected by [`SessionConfig::congestion_feedback`] =
//!   [`CongestionFeedback::Rfc8888`] instead of transport-wide feedback): one report block
//!   per received SSRC covering the sequence numbers since the previous report (overlapping
//!   it when a packet was reordered across the boundary), first arrival of duplicates,
//!   arrival time offsets against the report timestamp (middle 32 bits of NTP), split into
//!   packets that fit the RTCP MTU, ranges capped at [`ccfb::MAX_RANGE`] per SSRC per
//!   report; consumption by the estimator through a per-SSRC log of every packet sent
//!   (media, RTX, probes; [`ccfb::CcfbSender`]). Not implemented: ECN (the stack does not
//!   see IP headers, so ECN is always reported as 00), empty report blocks for SSRCs with
//!   no new packets, and deriving the feedback interval from the RTCP bandwidth.
//! * draft-holmer-rmcat-transport-wide-cc-extensions-01 — sequence numbering, feedback
//!   generation (receiver) and consumption (sender).
//! * draft-alvestrand-rmcat-remb-03 — REMB codec; a received REMB caps the target.
//! * draft-ietf-rmcat-gcc-02 — delay-based (trendline, adaptive threshold, AIMD) and
//!   loss-based control; loss is judged against a learnt random-loss baseline. Probing
//!   follows libwebrtc's approach (initial 3×/6× clusters, exponential further probing,
//!   periodic probing at 2× while the network is calm).
//!
//! # Run loop
//!
//! 1. Create an [`RtpSession`] with a [`SessionConfig`] (extmap ids, CNAME, RTCP mode),
//!    `now` and the NTP time at `now`; add streams with
//!    [`add_send_stream`](RtpSession::add_send_stream) and
//!    [`add_receive_stream`](RtpSession::add_receive_stream) (unknown remote SSRCs are
//!    added automatically up to a limit).
//! 2. For every SRTP-unprotected RTP packet call
//!    [`handle_rtp`](RtpSession::handle_rtp); for every SRTCP-unprotected RTCP packet call
//!    [`handle_rtcp`](RtpSession::handle_rtcp).
//! 3. For every packet the packetizer produces call [`send_rtp`](RtpSession::send_rtp);
//!    the pacer releases it (and writes transport-wide sequence number and abs-send-time).
//! 4. After each of these, drain [`poll_transmit`](RtpSession::poll_transmit) (protect
//!    with SRTP/SRTCP and send), then [`poll_event`](RtpSession::poll_event) (media packets,
//!    keyframe requests, target bitrate, reports).
//! 5. Call [`handle_timeout`](RtpSession::handle_timeout) at
//!    [`poll_timeout`](RtpSession::poll_timeout): pacing, probing, NACKs, congestion
//!    control feedback (TWCC or RFC 8888) and regular RTCP reports happen there; then
//!    drain as in step 4.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tern_rtp_rtcp::wire::rtp::RtpHeader;
//! use tern_rtp_rtcp::{Event, ReceiveStreamConfig, RtpSession, SendStreamConfig, SessionConfig};
//!
//! # #[allow(clippy::disallowed_methods)]
//! let t0 = Instant::now(); // a real driver passes its clock in; tests use virtual time
//! let mut alice = RtpSession::new(SessionConfig::default(), t0, 0);
//! let mut bob = RtpSession::new(SessionConfig::default(), t0, 0);
//! alice.add_send_stream(SendStreamConfig::new(1234, 90_000));
//! bob.add_receive_stream(ReceiveStreamConfig::new(1234, 90_000));
//!
//! let pkt = RtpHeader { payload_type: 96, sequence_number: 7, ssrc: 1234, ..Default::default() }
//!     .to_vec(b"frame", 0)?;
//! alice.send_rtp(t0, &pkt)?;
//! let now = t0 + Duration::from_millis(1);
//! while let Some(t) = alice.poll_transmit() {
//!     // SRTP-protect, send, the far end unprotects, then:
//!     match t.kind {
//!         tern_rtp_rtcp::TransmitKind::Rtp => bob.handle_rtp(now, &t.data)?,
//!         tern_rtp_rtcp::TransmitKind::Rtcp => bob.handle_rtcp(now, &t.data)?,
//!     }
//! }
//! let Some(Event::Rtp(received)) = bob.poll_event() else { unreachable!() };
//! assert_eq!(received.ssrc, 1234);
//! # Ok::<(), tern_rtp_rtcp::Error>(())
//! ```

pub mod bwe;
pub mod ccfb;
pub mod config;
pub mod error;
pub mod interval;
pub mod pacer;
pub mod receive;
pub mod send;
pub mod session;
pub mod time;
pub mod twcc;
pub mod wire;

#[cfg(test)]
mod test_util;

pub use config::{
    BweConfig, CongestionFeedback, NackConfig, ReceiveStreamConfig, SendStreamConfig, SessionConfig,
};
pub use error::Error;
pub use session::{Event, KeyframeRequestKind, ReceivedRtp, RtpSession, Transmit, TransmitKind};
