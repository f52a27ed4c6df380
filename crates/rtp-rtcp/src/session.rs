//! The RTP session: all streams of one transport, composed sans-IO.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::Error;
use crate::bwe::GoogCc;
use crate::ccfb::{CcfbReceiver, CcfbSender};
use crate::config::{CongestionFeedback, ReceiveStreamConfig, SendStreamConfig, SessionConfig};
use crate::interval::{IntervalParams, rtcp_interval};
use crate::pacer::{Pacer, PacketKind, Queued, Released};
use crate::receive::{Arrival, ReceiveStream};
use crate::send::SendStream;
use crate::time::{NtpClock, compact_to_duration, duration_to_compact};
use crate::twcc::{TwccReceiver, TwccSender};
use crate::wire::ext::{AbsSendTime, ExtensionKind, TransportSequenceNumber};
use crate::wire::rtcp::{
    CongestionControlFeedback, DlrrItem, ExtendedReport, Fir, FirEntry, Nack, Pli, ReceiverReport,
    ReportBlock, RtcpPacket, SourceDescription, XrBlock,
};
use crate::wire::rtp::{RtpHeader, RtpPacket};

/// Largest RTCP datagram we build (before SRTCP overhead).
const MAX_RTCP: usize = 1200;
/// Pacing factor over the target bitrate (libwebrtc uses 2.5).
const PACING_FACTOR: f64 = 2.5;
/// Events kept at most when the application does not drain them.
const MAX_EVENTS: usize = 4096;
/// Transmits kept at most.
const MAX_TRANSMITS: usize = 4096;
/// RTT assumed before one is measured.
const DEFAULT_RTT: Duration = Duration::from_millis(100);

/// Whether a transmit is RTP or RTCP (the SRTP layer protects them differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransmitKind {
    /// An RTP packet.
    Rtp,
    /// An RTCP compound or reduced-size packet.
    Rtcp,
}

/// Bytes to hand to SRTP and then to the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// RTP or RTCP.
    pub kind: TransmitKind,
    /// The unprotected packet.
    pub data: Bytes,
}

/// A received media packet, RTX already unwrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRtp {
    /// Media SSRC.
    pub ssrc: u32,
    /// Extended sequence number (RFC 3550 A.1; starts at 65536 + first sequence number).
    pub extended_sequence: u64,
    /// The packet (for RTX: rebuilt with the original SSRC, payload type and sequence).
    pub packet: Bytes,
    /// True when it was recovered through retransmission.
    pub repaired: bool,
    /// When it arrived.
    pub arrival: Instant,
}

/// How the remote asked for a keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyframeRequestKind {
    /// RFC 4585 §6.3.1 PLI.
    Pli,
    /// RFC 5104 §4.3.1 FIR.
    Fir,
}

/// Things the application must learn.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A media packet to depacketize.
    Rtp(ReceivedRtp),
    /// The remote asked for retransmissions of these packets of our stream `ssrc` (already
    /// answered from the history where possible).
    NackRequested {
        /// Our SSRC.
        ssrc: u32,
        /// Sequence numbers asked for.
        sequence_numbers: Vec<u16>,
    },
    /// The remote wants a keyframe on our stream `ssrc`.
    KeyframeRequested {
        /// Our SSRC.
        ssrc: u32,
        /// PLI or FIR.
        kind: KeyframeRequestKind,
    },
    /// We asked the remote for a keyframe of its stream `ssrc` (the NACK list overflowed).
    KeyframeRequestSent {
        /// The remote SSRC.
        ssrc: u32,
    },
    /// New target bitrate for the encoders, bits/s.
    TargetBitrate(u64),
    /// The remote reported on our stream.
    ReceiverReport {
        /// Our SSRC the block is about.
        ssrc: u32,
        /// The block.
        report: ReportBlock,
        /// RTT computed from LSR/DLSR, if the block carried them.
        rtt: Option<Duration>,
    },
    /// The remote's sender report (for lip sync).
    SenderReport {
        /// Remote SSRC.
        ssrc: u32,
        /// NTP timestamp.
        ntp_time: u64,
        /// RTP timestamp at that NTP time.
        rtp_time: u32,
    },
    /// The remote slice-loss indication on our stream.
    SliceLost {
        /// Our SSRC.
        ssrc: u32,
    },
    /// A remote source left (RTCP BYE).
    Goodbye {
        /// The SSRC.
        ssrc: u32,
    },
}

/// One RTP session (one transport / bundle group): receive and send streams, RTCP,
/// NACK/RTX, transport-wide CC, bandwidth estimation and pacing.
///
/// Drive it as in ARCHITECTURE.md: after every `handle_*` call or command, drain
/// [`poll_transmit`](Self::poll_transmit) then [`poll_event`](Self::poll_event), and call
/// [`handle_timeout`](Self::handle_timeout) at [`poll_timeout`](Self::poll_timeout).
#[derive(Debug)]
pub struct RtpSession {
    cfg: SessionConfig,
    clock: NtpClock,
    epoch: Instant,
    rng: StdRng,
    send: BTreeMap<u32, SendStream>,
    recv: BTreeMap<u32, ReceiveStream>,
    recv_cfg: BTreeMap<u32, ReceiveStreamConfig>,
    rtx_to_media: BTreeMap<u32, u32>,
    twcc_tx: TwccSender,
    twcc_rx: TwccReceiver,
    ccfb_rx: CcfbReceiver,
    ccfb_tx: CcfbSender,
    bwe: GoogCc,
    pacer: Pacer,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    feedback: Vec<RtcpPacket>,
    next_rtcp: Instant,
    initial_rtcp: bool,
    avg_rtcp_size: f64,
    rtt: Option<Duration>,
    remote_rrtr: BTreeMap<u32, (u32, Instant)>,
    reported_target: u64,
    nack_tokens: f64,
    nack_tokens_at: Option<Instant>,
    fir_seq: u8,
    last_fir: BTreeMap<u32, u8>,
}

impl RtpSession {
    /// A session created at `now`, when the NTP wall-clock time was `ntp_now`
    /// (RFC 3550 §4 64-bit format). The NTP time is never read, only extrapolated.
    pub fn new(cfg: SessionConfig, now: Instant, ntp_now: u64) -> Self {
        let rng = match cfg.seed {
            Some(s) => StdRng::from_seed(s),
            None => StdRng::from_entropy(),
        };
        let start = cfg.bwe.start_bitrate;
        RtpSession {
            clock: NtpClock::new(now, ntp_now),
            epoch: now,
            rng,
            send: BTreeMap::new(),
            recv: BTreeMap::new(),
            recv_cfg: BTreeMap::new(),
            rtx_to_media: BTreeMap::new(),
            twcc_tx: TwccSender::default(),
            twcc_rx: TwccReceiver::new(cfg.twcc_feedback_interval),
            ccfb_rx: CcfbReceiver::new(cfg.ccfb_feedback_interval),
            ccfb_tx: CcfbSender::default(),
            bwe: GoogCc::new(cfg.bwe),
            pacer: Pacer::new((start as f64 * PACING_FACTOR) as u64, cfg.pacer_queue_limit),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            feedback: Vec::new(),
            next_rtcp: now,
            initial_rtcp: true,
            avg_rtcp_size: 100.0,
            rtt: None,
            remote_rrtr: BTreeMap::new(),
            reported_target: start,
            nack_tokens: 0.0,
            nack_tokens_at: None,
            fir_seq: 0,
            last_fir: BTreeMap::new(),
            cfg,
        }
    }

    /// Re-anchor the NTP mapping (e.g. after the wall clock was corrected).
    pub fn set_ntp_time(&mut self, now: Instant, ntp_now: u64) {
        self.clock = NtpClock::new(now, ntp_now);
    }

    /// Add a local stream. Replaces one with the same SSRC.
    pub fn add_send_stream(&mut self, cfg: SendStreamConfig) {
        let rtx_seq = rand::Rng::r#gen(&mut self.rng);
        self.send.insert(cfg.ssrc, SendStream::new(cfg, rtx_seq));
    }

    /// Add a remote stream (its clock rate, RTX, NACK settings).
    pub fn add_receive_stream(&mut self, cfg: ReceiveStreamConfig) {
        if let Some(rtx) = cfg.rtx_ssrc {
            self.rtx_to_media.insert(rtx, cfg.ssrc);
        }
        self.recv.insert(
            cfg.ssrc,
            ReceiveStream::new(cfg.ssrc, cfg.clock_rate, cfg.nack, self.epoch),
        );
        self.recv_cfg.insert(cfg.ssrc, cfg);
    }

    /// Current target bitrate, bits/s.
    pub fn target_bitrate(&self) -> u64 {
        self.bwe.target_bitrate()
    }

    /// Latest RTT estimate (from SR/RR or XR).
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// The receive statistics of a remote SSRC.
    pub fn receive_stream(&self, ssrc: u32) -> Option<&ReceiveStream> {
        self.recv.get(&ssrc)
    }

    /// The send state of a local SSRC.
    pub fn send_stream(&self, ssrc: u32) -> Option<&SendStream> {
        self.send.get(&ssrc)
    }

    /// The bandwidth estimator (for inspection).
    pub fn bandwidth_estimator(&self) -> &GoogCc {
        &self.bwe
    }

    /// The RFC 8888 feedback generator (for inspection; it tracks packets only when
    /// [`SessionConfig::congestion_feedback`] is [`CongestionFeedback::Rfc8888`]).
    pub fn ccfb_receiver(&self) -> &CcfbReceiver {
        &self.ccfb_rx
    }

    fn rtt_or_default(&self) -> Duration {
        self.rtt.unwrap_or(DEFAULT_RTT)
    }

    fn sender_ssrc(&self) -> u32 {
        self.send
            .keys()
            .next()
            .copied()
            .unwrap_or(self.cfg.rtcp_ssrc)
    }

    fn push_event(&mut self, e: Event) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    fn push_transmit(&mut self, kind: TransmitKind, data: Bytes) {
        if self.transmits.len() >= MAX_TRANSMITS {
            self.transmits.pop_front();
        }
        self.transmits.push_back(Transmit { kind, data });
    }

    // ------------------------------------------------------------------ receive RTP

    /// An SRTP-decrypted RTP packet arrived. A malformed packet or one from an SSRC over
    /// the limit is rejected without changing any state.
    pub fn handle_rtp(&mut self, now: Instant, data: &[u8]) -> Result<(), Error> {
        let p = RtpPacket::new_checked(data)?;
        let ssrc = p.ssrc();
        let media_ssrc = self.rtx_to_media.get(&ssrc).copied();
        let target = media_ssrc.unwrap_or(ssrc);
        if !self.recv.contains_key(&target) {
            if self.recv.len() >= self.cfg.max_remote_ssrcs {
                return Err(Error::TooManyStreams {
                    limit: self.cfg.max_remote_ssrcs,
                });
            }
            self.add_receive_stream(ReceiveStreamConfig::new(
                target,
                self.cfg.default_clock_rate,
            ));
        }
        if self.cfg.congestion_feedback == CongestionFeedback::Rfc8888 {
            // RFC 8888 §3.1: feedback is per SSRC and RTP sequence number as received (RTX
            // packets are reported under their own SSRC).
            self.ccfb_rx.on_packet(now, ssrc, p.sequence_number());
        }
        if self.cfg.congestion_feedback == CongestionFeedback::TransportWideCc
            && let Some(id) = self.cfg.extensions.id(ExtensionKind::TransportWideCc)
            && let Some(d) = p.extension(id)
            && let Ok(TransportSequenceNumber(seq)) = crate::wire::ext::Extension::parse(d)
        {
            self.twcc_rx.on_packet(now, seq, target);
        }
        let (packet, repaired) = match media_ssrc {
            None => (Bytes::copy_from_slice(data), false),
            Some(media) => {
                // RFC 4588 §4: the RTX payload starts with the 2-byte original sequence
                // number; an RTX packet without it is padding (probing) and carries nothing.
                let payload = p.payload();
                let (Some(&[hi, lo]), Some(rest)) = (payload.get(..2), payload.get(2..)) else {
                    return Ok(());
                };
                let mut h = RtpHeader::parse(&p);
                h.ssrc = media;
                h.sequence_number = u16::from_be_bytes([hi, lo]);
                if let Some(c) = self.recv_cfg.get(&media)
                    && let Some(&(_, apt)) = c
                        .rtx_payload_types
                        .iter()
                        .find(|(rtx, _)| *rtx == h.payload_type)
                {
                    h.payload_type = apt;
                }
                (Bytes::from(h.to_vec(rest, 0)?), true)
            }
        };
        let Ok(mp) = RtpPacket::new_checked(&packet[..]) else {
            return Ok(());
        };
        let (seq, ts, plen) = (mp.sequence_number(), mp.timestamp(), mp.payload().len());
        let Some(stream) = self.recv.get_mut(&target) else {
            return Ok(());
        };
        let arrival = stream.on_packet(now, seq, ts, plen, repaired);
        let keyframe = stream.take_keyframe_needed();
        if let Arrival::New(ext) = arrival
            && plen > 0
        {
            self.push_event(Event::Rtp(ReceivedRtp {
                ssrc: target,
                extended_sequence: ext,
                packet,
                repaired,
                arrival: now,
            }));
        }
        if keyframe {
            self.request_keyframe(target, KeyframeRequestKind::Pli);
            self.push_event(Event::KeyframeRequestSent { ssrc: target });
        }
        Ok(())
    }

    /// Ask the remote for a keyframe on its stream `ssrc` (e.g. after a decoder error).
    pub fn request_keyframe(&mut self, ssrc: u32, kind: KeyframeRequestKind) {
        let sender = self.sender_ssrc();
        let p = match kind {
            KeyframeRequestKind::Pli => RtcpPacket::Pli(Pli {
                sender_ssrc: sender,
                media_ssrc: ssrc,
            }),
            KeyframeRequestKind::Fir => {
                self.fir_seq = self.fir_seq.wrapping_add(1);
                // RFC 5104 §4.3.1.1: the media source SSRC field SHALL be 0.
                RtcpPacket::Fir(Fir {
                    sender_ssrc: sender,
                    media_ssrc: 0,
                    entries: vec![FirEntry {
                        ssrc,
                        seq: self.fir_seq,
                    }],
                })
            }
        };
        self.feedback.push(p);
        // sent at once, as early feedback (RFC 4585 §3.5)
        self.flush();
    }

    // ------------------------------------------------------------------ receive RTCP

    /// An SRTCP-decrypted RTCP packet arrived. The whole compound is decoded before any of
    /// it is acted on, so a malformed compound changes nothing.
    pub fn handle_rtcp(&mut self, now: Instant, data: &[u8]) -> Result<(), Error> {
        let packets = RtcpPacket::parse_compound(data)?;
        for p in packets {
            self.on_rtcp(now, p);
        }
        self.flush();
        Ok(())
    }

    fn on_report_block(&mut self, now: Instant, b: ReportBlock) {
        let Some(stream) = self.send.get_mut(&b.ssrc) else {
            return;
        };
        // RFC 3550 §6.4.1: RTT = A − LSR − DLSR, in the compact NTP format.
        let rtt = (b.last_sr != 0).then(|| {
            let a = self.clock.compact(now);
            compact_to_duration(
                a.wrapping_sub(b.last_sr)
                    .wrapping_sub(b.delay_since_last_sr),
            )
        });
        let rtt = rtt.filter(|r| *r < Duration::from_secs(60));
        stream.last_report = Some(b);
        // Without per-packet feedback, RR loss drives the loss-based controller.
        self.bwe
            .on_report_loss(now, f64::from(b.fraction_lost) / 256.0);
        if let Some(r) = rtt {
            stream.rtt = Some(r);
            self.set_rtt(r);
        }
        self.push_event(Event::ReceiverReport {
            ssrc: b.ssrc,
            report: b,
            rtt,
        });
    }

    fn set_rtt(&mut self, r: Duration) {
        let s = match self.rtt {
            Some(old) => (old * 7 + r) / 8,
            None => r,
        };
        self.rtt = Some(s);
        self.bwe.set_rtt(s);
    }

    fn on_rtcp(&mut self, now: Instant, p: RtcpPacket) {
        match p {
            RtcpPacket::SenderReport(sr) => {
                if let Some(s) = self.recv.get_mut(&sr.ssrc) {
                    s.on_sender_report(now, sr.ntp_time, sr.rtp_time);
                }
                for b in sr.reports {
                    self.on_report_block(now, b);
                }
                self.push_event(Event::SenderReport {
                    ssrc: sr.ssrc,
                    ntp_time: sr.ntp_time,
                    rtp_time: sr.rtp_time,
                });
            }
            RtcpPacket::ReceiverReport(rr) => {
                for b in rr.reports {
                    self.on_report_block(now, b);
                }
            }
            RtcpPacket::Goodbye(bye) => {
                for s in bye.sources {
                    if self.recv.remove(&s).is_some() {
                        self.recv_cfg.remove(&s);
                        self.rtx_to_media.retain(|_, m| *m != s);
                        self.push_event(Event::Goodbye { ssrc: s });
                    }
                }
            }
            RtcpPacket::ExtendedReport(xr) => {
                for b in xr.blocks {
                    match b {
                        XrBlock::ReceiverReferenceTime { ntp_time } => {
                            if self.remote_rrtr.len() < self.cfg.max_remote_ssrcs
                                || self.remote_rrtr.contains_key(&xr.ssrc)
                            {
                                self.remote_rrtr
                                    .insert(xr.ssrc, (crate::time::compact(ntp_time), now));
                            }
                        }
                        XrBlock::Dlrr(items) => {
                            let ours = self.cfg.rtcp_ssrc;
                            let mine: Vec<DlrrItem> = items
                                .into_iter()
                                .filter(|i| i.ssrc == ours || self.send.contains_key(&i.ssrc))
                                .collect();
                            for i in mine {
                                if i.last_rr == 0 {
                                    continue;
                                }
                                // RFC 3611 §4.5: RTT = A − LRR − DLRR.
                                let a = self.clock.compact(now);
                                let r = compact_to_duration(
                                    a.wrapping_sub(i.last_rr)
                                        .wrapping_sub(i.delay_since_last_rr),
                                );
                                if r < Duration::from_secs(60) {
                                    self.set_rtt(r);
                                }
                            }
                        }
                        XrBlock::Unknown { .. } => {}
                    }
                }
            }
            RtcpPacket::Nack(n) => self.on_nack(now, n),
            RtcpPacket::TransportFeedback(fb) => {
                let results = self.twcc_tx.on_feedback(&fb);
                self.bwe.on_feedback(now, &results);
                self.on_target_maybe_changed();
            }
            RtcpPacket::Pli(p) if self.send.contains_key(&p.media_ssrc) => {
                self.push_event(Event::KeyframeRequested {
                    ssrc: p.media_ssrc,
                    kind: KeyframeRequestKind::Pli,
                });
            }
            RtcpPacket::Fir(f) => {
                for e in f.entries {
                    // RFC 5104 §4.3.1.2: a repeated sequence number is the same request.
                    if self.send.contains_key(&e.ssrc) && self.last_fir.get(&e.ssrc) != Some(&e.seq)
                    {
                        self.last_fir.insert(e.ssrc, e.seq);
                        self.push_event(Event::KeyframeRequested {
                            ssrc: e.ssrc,
                            kind: KeyframeRequestKind::Fir,
                        });
                    }
                }
            }
            RtcpPacket::Sli(s) if self.send.contains_key(&s.media_ssrc) => {
                self.push_event(Event::SliceLost { ssrc: s.media_ssrc });
            }
            RtcpPacket::CongestionControlFeedback(fb) => self.on_ccfb(now, &fb),
            RtcpPacket::Remb(r) => {
                self.bwe.on_remb(r.bitrate());
                self.on_target_maybe_changed();
            }
            // SDES, APP and unknown types.
            _ => {}
        }
    }

    /// RFC 8888 feedback drives the same estimator as transport-wide feedback, with packets
    /// identified by (SSRC, RTP sequence number) through the sent-packet log.
    fn on_ccfb(&mut self, now: Instant, fb: &CongestionControlFeedback) {
        let results = self.ccfb_tx.on_feedback(fb);
        self.bwe.on_feedback(now, &results);
        self.on_target_maybe_changed();
    }

    fn on_target_maybe_changed(&mut self) {
        let t = self.bwe.target_bitrate();
        self.pacer.set_rate((t as f64 * PACING_FACTOR) as u64);
        if t != self.reported_target {
            self.reported_target = t;
            self.push_event(Event::TargetBitrate(t));
        }
    }

    fn on_nack(&mut self, now: Instant, n: Nack) {
        let ssrc = n.media_ssrc;
        let rtt = self.rtt_or_default();
        let seqs: Vec<u16> = n.sequence_numbers().take(1024).collect();
        // NACK responder rate limit: retransmissions may use half the target bitrate,
        // refilled continuously, at most one second of it banked.
        let rate = (self.bwe.target_bitrate() as f64 / 8.0 / 2.0).max(12_500.0);
        match self.nack_tokens_at.replace(now) {
            None => self.nack_tokens = rate,
            Some(last) => {
                let refill = rate * now.saturating_duration_since(last).as_secs_f64();
                self.nack_tokens = (self.nack_tokens + refill).min(rate);
            }
        }
        if let Some(stream) = self.send.get_mut(&ssrc) {
            for &s in &seqs {
                if self.nack_tokens <= 0.0 {
                    break;
                }
                let Some(orig) = stream.take_for_retransmission(now, s, rtt) else {
                    continue;
                };
                let Ok(pkt) = stream.to_rtx(&orig) else {
                    continue;
                };
                self.nack_tokens -= pkt.len() as f64;
                let q = Queued {
                    packet: pkt,
                    kind: PacketKind::Retransmission,
                    stream: ssrc,
                    enqueued: now,
                };
                if self.pacer.enqueue(q).is_err() {
                    break;
                }
            }
            self.push_event(Event::NackRequested {
                ssrc,
                sequence_numbers: seqs,
            });
        }
    }

    // ------------------------------------------------------------------ send

    /// Queue an RTP packet of a configured send stream for pacing. The sequence number is
    /// the application's (its packetizer's); transport-wide sequence number and
    /// abs-send-time are written when the pacer releases it.
    pub fn send_rtp(&mut self, now: Instant, data: &[u8]) -> Result<(), Error> {
        let p = RtpPacket::new_checked(data)?;
        if !self.send.contains_key(&p.ssrc()) {
            return Err(Error::UnknownSendSsrc { ssrc: p.ssrc() });
        }
        let q = Queued {
            packet: Bytes::copy_from_slice(data),
            kind: PacketKind::Media,
            stream: p.ssrc(),
            enqueued: now,
        };
        self.pacer.enqueue(q)?;
        self.run_pacer(now);
        Ok(())
    }

    /// Packets waiting in the pacer.
    pub fn pacer_queue_len(&self) -> usize {
        self.pacer.len()
    }

    fn finalize(&mut self, now: Instant, data: &[u8], probe: Option<u32>) -> Result<Bytes, Error> {
        let p = RtpPacket::new_checked(data)?;
        let mut h = RtpHeader::parse(&p);
        let map = &self.cfg.extensions;
        let size = data.len() + 4;
        // every packet is remembered for RFC 8888 feedback, by SSRC and sequence number
        self.ccfb_tx
            .on_send(now, h.ssrc, h.sequence_number, size, probe);
        if map.id(ExtensionKind::TransportWideCc).is_some() {
            let seq = self.twcc_tx.on_send(now, size, probe);
            map.write(&mut h, &TransportSequenceNumber(seq));
        }
        if map.id(ExtensionKind::AbsSendTime).is_some() {
            map.write(&mut h, &AbsSendTime::from_ntp(self.clock.ntp(now)));
        }
        let padding = u8::try_from(p.padding_len()).unwrap_or(u8::MAX);
        Ok(Bytes::from(h.to_vec(p.payload(), padding)?))
    }

    fn run_pacer(&mut self, now: Instant) {
        if let Some(c) = self.bwe.poll_probe(now) {
            self.pacer.start_probe(c);
        }
        while let Some(r) = self.pacer.poll(now) {
            match r {
                Released::Packet(q, probe) => {
                    let Ok(out) = self.finalize(now, &q.packet, probe) else {
                        continue;
                    };
                    if q.kind == PacketKind::Media
                        && let Some(s) = self.send.get_mut(&q.stream)
                        && let Ok(p) = RtpPacket::new_checked(&out[..])
                    {
                        s.on_sent(
                            now,
                            p.sequence_number(),
                            p.timestamp(),
                            p.payload().len(),
                            out.clone(),
                        );
                    }
                    self.push_transmit(TransmitKind::Rtp, out);
                }
                Released::Padding(bytes, probe) => {
                    let Some(pkt) = self.padding(bytes) else {
                        continue;
                    };
                    if let Ok(out) = self.finalize(now, &pkt, Some(probe)) {
                        self.push_transmit(TransmitKind::Rtp, out);
                    }
                }
            }
        }
    }

    /// A probe packet: the latest media packet resent over RTX (redundant payload), a
    /// padding-only RTX packet, or without RTX a duplicate of the latest media packet
    /// (which the receiver discards as a duplicate).
    fn padding(&mut self, bytes: usize) -> Option<Bytes> {
        let key = self
            .send
            .iter()
            .find(|(_, s)| s.config.rtx_ssrc.is_some())
            .map(|(k, _)| *k)
            .or_else(|| self.send.keys().next().copied())?;
        let s = self.send.get_mut(&key)?;
        match s.latest() {
            Some(latest) if latest.len() + 2 <= bytes + 200 => s.to_rtx(&latest).ok(),
            _ => match s.padding_packet(u8::try_from(bytes.min(255)).unwrap_or(255)) {
                Some(r) => r.ok(),
                None => s.latest(),
            },
        }
    }

    // ------------------------------------------------------------------ timers and RTCP

    /// Run timers: pacing, probing, NACK generation, TWCC feedback and regular RTCP.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.run_pacer(now);
        let rtt = self.rtt_or_default();
        let sender = self.sender_ssrc();
        let mut nacks = Vec::new();
        for (ssrc, s) in self.recv.iter_mut() {
            let seqs = s.poll_nack(now, rtt);
            if !seqs.is_empty() {
                nacks.push(RtcpPacket::Nack(Nack::from_sequence_numbers(
                    sender, *ssrc, &seqs,
                )));
            }
        }
        self.feedback.extend(nacks);
        for fb in self.twcc_rx.poll_feedback(now, sender) {
            self.feedback.push(RtcpPacket::TransportFeedback(fb));
        }
        for fb in self.ccfb_rx.poll_feedback(now, &self.clock, sender) {
            self.feedback
                .push(RtcpPacket::CongestionControlFeedback(fb));
        }
        if now >= self.next_rtcp {
            self.send_regular_rtcp(now);
        }
        self.flush();
    }

    fn report_blocks(&mut self, now: Instant) -> Vec<ReportBlock> {
        // RFC 3550 §6.4: at most 31 report blocks per SR/RR.
        self.recv
            .values_mut()
            .filter_map(|s| s.report_block(now))
            .take(31)
            .collect()
    }

    fn send_regular_rtcp(&mut self, now: Instant) {
        let mut packets = Vec::new();
        let blocks = self.report_blocks(now);
        let active: Vec<u32> = self
            .send
            .iter()
            .filter(|(_, s)| s.has_sent())
            .map(|(k, _)| *k)
            .collect();
        if active.is_empty() {
            packets.push(RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: self.sender_ssrc(),
                reports: blocks,
                profile_extension: vec![],
            }));
        } else {
            let mut blocks = Some(blocks);
            for ssrc in &active {
                if let Some(s) = self.send.get(ssrc) {
                    packets.push(RtcpPacket::SenderReport(s.sender_report(
                        now,
                        &self.clock,
                        blocks.take().unwrap_or_default(),
                    )));
                }
            }
        }
        // RFC 3550 §6.1: each compound packet must include an SDES CNAME.
        packets.push(RtcpPacket::SourceDescription(SourceDescription::cname(
            self.sender_ssrc(),
            &self.cfg.cname,
        )));
        let mut xr = Vec::new();
        if self.cfg.send_rrtr && active.is_empty() {
            xr.push(XrBlock::ReceiverReferenceTime {
                ntp_time: self.clock.ntp(now),
            });
        }
        let dlrr: Vec<DlrrItem> = self
            .remote_rrtr
            .iter()
            .map(|(ssrc, (lrr, at))| DlrrItem {
                ssrc: *ssrc,
                last_rr: *lrr,
                delay_since_last_rr: duration_to_compact(now.saturating_duration_since(*at)),
            })
            .collect();
        if !dlrr.is_empty() {
            xr.push(XrBlock::Dlrr(dlrr));
        }
        if !xr.is_empty() {
            packets.push(RtcpPacket::ExtendedReport(ExtendedReport {
                ssrc: self.sender_ssrc(),
                blocks: xr,
            }));
        }
        // feedback rides along in the regular compound
        packets.append(&mut self.feedback);
        let size = self.emit_rtcp(packets);
        // RFC 3550 §6.3.3/§6.3.6: avg_rtcp_size = 1/16 × packet_size + 15/16 × avg_rtcp_size
        // (28 bytes of UDP/IP overhead included).
        self.avg_rtcp_size = (size as f64 + 28.0) / 16.0 + self.avg_rtcp_size * 15.0 / 16.0;
        let params = IntervalParams {
            members: 1 + self.recv.len() as u32,
            senders: active.len().min(1) as u32
                + self
                    .recv
                    .values()
                    .filter(|r| r.received() > 0)
                    .count()
                    .min(1) as u32,
            session_bandwidth: self.cfg.session_bandwidth,
            we_sent: !active.is_empty(),
            avg_rtcp_size: self.avg_rtcp_size,
            initial: self.initial_rtcp,
            min_floor: self.cfg.rtcp_min_interval,
        };
        self.initial_rtcp = false;
        self.next_rtcp = now + rtcp_interval(&params, &mut self.rng);
    }

    fn flush(&mut self) {
        if self.feedback.is_empty() {
            return;
        }
        let fb = std::mem::take(&mut self.feedback);
        if self.cfg.reduced_size_rtcp {
            // RFC 5506 §3: a reduced-size packet carries feedback without the mandatory
            // report and SDES.
            self.emit_rtcp(fb);
        } else {
            // RFC 4585 §3.1: without rsize, feedback must travel in a compound packet: prepend an
            // RR (without consuming the reporting interval's statistics) and the CNAME.
            let mut packets = vec![
                RtcpPacket::ReceiverReport(ReceiverReport {
                    ssrc: self.sender_ssrc(),
                    reports: vec![],
                    profile_extension: vec![],
                }),
                RtcpPacket::SourceDescription(SourceDescription::cname(
                    self.sender_ssrc(),
                    &self.cfg.cname,
                )),
            ];
            packets.extend(fb);
            self.emit_rtcp(packets);
        }
    }

    /// Emit packets as datagrams of at most [`MAX_RTCP`] bytes; returns bytes emitted.
    fn emit_rtcp(&mut self, packets: Vec<RtcpPacket>) -> usize {
        let mut total = 0;
        let mut cur: Vec<RtcpPacket> = Vec::new();
        let mut cur_len = 0;
        for p in packets {
            let l = p.buffer_len();
            if cur_len + l > MAX_RTCP && !cur.is_empty() {
                total += self.emit_one(std::mem::take(&mut cur));
                cur_len = 0;
            }
            cur_len += l;
            cur.push(p);
        }
        if !cur.is_empty() {
            total += self.emit_one(cur);
        }
        total
    }

    fn emit_one(&mut self, packets: Vec<RtcpPacket>) -> usize {
        match RtcpPacket::compound_to_vec(&packets) {
            Ok(v) => {
                let n = v.len();
                self.push_transmit(TransmitKind::Rtcp, Bytes::from(v));
                n
            }
            Err(_) => 0,
        }
    }

    // ------------------------------------------------------------------ output

    /// Next packet to protect and send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let rtt = self.rtt_or_default();
        [
            Some(self.next_rtcp),
            self.pacer.poll_timeout(),
            self.twcc_rx.poll_timeout(),
            self.ccfb_rx.poll_timeout(),
            self.recv.values().filter_map(|s| s.nack_timeout(rtt)).min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
