//! Send side of one local SSRC: SR generation with the NTP/RTP mapping, a bounded packet
//! history for retransmission, RTX encapsulation (RFC 4588) and per-packet NACK rate
//! limiting.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::Error;
use crate::config::SendStreamConfig;
use crate::time::{NtpClock, rtp_ticks};
use crate::wire::rtcp::{ReportBlock, SenderReport};
use crate::wire::rtp::{RtpHeader, RtpPacket};

#[derive(Debug, Clone)]
struct Stored {
    seq: u16,
    packet: Bytes,
    sent_at: Instant,
    last_retransmit: Option<Instant>,
}

/// State of one local media SSRC.
#[derive(Debug, Clone)]
pub struct SendStream {
    /// Configuration.
    pub config: SendStreamConfig,
    history: VecDeque<Stored>,
    rtx_seq: u16,
    packets_sent: u32,
    octets_sent: u32,
    last_rtp: Option<(u32, Instant)>,
    /// Latest report block the remote sent about this stream.
    pub last_report: Option<ReportBlock>,
    /// RTT measured from the latest RR.
    pub rtt: Option<Duration>,
}

impl SendStream {
    /// A stream; `rtx_seq_start` should be random (RFC 3550 §5.1).
    pub fn new(config: SendStreamConfig, rtx_seq_start: u16) -> Self {
        SendStream {
            history: VecDeque::with_capacity(config.history_len.min(4096)),
            config,
            rtx_seq: rtx_seq_start,
            packets_sent: 0,
            octets_sent: 0,
            last_rtp: None,
            last_report: None,
            rtt: None,
        }
    }

    /// Record a media packet as sent (after pacing) and keep it for retransmission.
    pub fn on_sent(
        &mut self,
        now: Instant,
        seq: u16,
        timestamp: u32,
        payload_len: usize,
        packet: Bytes,
    ) {
        // RFC 3550 §6.4.1: the sender's packet and octet counts (payload octets only),
        // wrapping modulo 2^32.
        self.packets_sent = self.packets_sent.wrapping_add(1);
        self.octets_sent = self.octets_sent.wrapping_add(payload_len as u32);
        self.last_rtp = Some((timestamp, now));
        if self.config.history_len == 0 {
            return;
        }
        while self.history.len() >= self.config.history_len {
            self.history.pop_front();
        }
        self.history.push_back(Stored {
            seq,
            packet,
            sent_at: now,
            last_retransmit: None,
        });
    }

    fn find(&mut self, seq: u16) -> Option<&mut Stored> {
        // history is in send order; sequence numbers are consecutive except at restarts
        let first = self.history.front()?.seq;
        let idx = usize::from(seq.wrapping_sub(first));
        match self.history.get(idx) {
            Some(s) if s.seq == seq => self.history.get_mut(idx),
            _ => self.history.iter_mut().find(|s| s.seq == seq),
        }
    }

    /// The stored packet for `seq` if it may be retransmitted now: at most once per `rtt`
    /// (libwebrtc's per-packet limit, so a burst of NACKs for one packet costs one resend).
    pub fn take_for_retransmission(
        &mut self,
        now: Instant,
        seq: u16,
        rtt: Duration,
    ) -> Option<Bytes> {
        let s = self.find(seq)?;
        if let Some(t) = s.last_retransmit
            && now.saturating_duration_since(t) < rtt
        {
            return None;
        }
        if now.saturating_duration_since(s.sent_at) > Duration::from_secs(2) {
            return None;
        }
        s.last_retransmit = Some(now);
        Some(s.packet.clone())
    }

    /// The most recently sent packet (payload for probing when no padding is allowed).
    pub fn latest(&self) -> Option<Bytes> {
        self.history.back().map(|s| s.packet.clone())
    }

    /// Wrap `original` in RTX (RFC 4588 §4): RTX SSRC and payload type, own sequence
    /// number, and the original sequence number (OSN) in front of the original payload.
    /// Without RTX, the original packet is returned for plain retransmission.
    pub fn to_rtx(&mut self, original: &[u8]) -> Result<Bytes, Error> {
        let Some(rtx_ssrc) = self.config.rtx_ssrc else {
            return Ok(Bytes::copy_from_slice(original));
        };
        let p = RtpPacket::new_checked(original)?;
        let mut h = RtpHeader::parse(&p);
        let Some(&(_, rtx_pt)) = self
            .config
            .rtx_payload_types
            .iter()
            .find(|(m, _)| *m == h.payload_type)
        else {
            return Ok(Bytes::copy_from_slice(original));
        };
        let osn = h.sequence_number;
        h.ssrc = rtx_ssrc;
        h.payload_type = rtx_pt;
        h.sequence_number = self.next_rtx_seq();
        let mut payload = Vec::with_capacity(2 + p.payload().len());
        payload.extend_from_slice(&osn.to_be_bytes());
        payload.extend_from_slice(p.payload());
        Ok(Bytes::from(h.to_vec(&payload, 0)?))
    }

    /// The next RTX sequence number.
    pub fn next_rtx_seq(&mut self) -> u16 {
        let s = self.rtx_seq;
        self.rtx_seq = self.rtx_seq.wrapping_add(1);
        s
    }

    /// A padding-only packet of `padding` bytes (RFC 3550 §5.1 P bit) on the RTX SSRC
    /// (RFC 4588 §4), so that it consumes no media sequence numbers; `None` without RTX.
    pub fn padding_packet(&mut self, padding: u8) -> Option<Result<Bytes, Error>> {
        let ssrc = self.config.rtx_ssrc?;
        let &(_, pt) = self.config.rtx_payload_types.first()?;
        let seq = self.next_rtx_seq();
        let timestamp = self.last_rtp.map_or(0, |(ts, _)| ts);
        let h = RtpHeader {
            payload_type: pt,
            sequence_number: seq,
            timestamp,
            ssrc,
            ..Default::default()
        };
        Some(h.to_vec(&[], padding.max(1)).map(Bytes::from))
    }

    /// True once any packet was sent (an SR is only sent by active senders).
    pub fn has_sent(&self) -> bool {
        self.last_rtp.is_some()
    }

    /// Build an SR: the RTP timestamp is extrapolated from the last sent packet to `now`.
    pub fn sender_report(
        &self,
        now: Instant,
        clock: &NtpClock,
        reports: Vec<ReportBlock>,
    ) -> SenderReport {
        let rtp_time = match self.last_rtp {
            Some((ts, at)) => ts.wrapping_add(rtp_ticks(
                now.saturating_duration_since(at),
                self.config.clock_rate,
            )),
            None => 0,
        };
        SenderReport {
            ssrc: self.config.ssrc,
            ntp_time: clock.ntp(now),
            rtp_time,
            packet_count: self.packets_sent,
            octet_count: self.octets_sent,
            reports,
            profile_extension: Vec::new(),
        }
    }

    /// Packets sent.
    pub fn packets_sent(&self) -> u32 {
        self.packets_sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(seq: u16) -> Vec<u8> {
        RtpHeader {
            payload_type: 96,
            sequence_number: seq,
            timestamp: 3000,
            ssrc: 5,
            ..Default::default()
        }
        .to_vec(b"hello", 0)
        .unwrap()
    }

    #[test]
    fn rtx_carries_osn() {
        let mut cfg = SendStreamConfig::new(5, 90_000);
        cfg.rtx_ssrc = Some(6);
        cfg.rtx_payload_types = vec![(96, 97)];
        let mut s = SendStream::new(cfg, 100);
        let r = s.to_rtx(&pkt(4242)).unwrap();
        let p = RtpPacket::new_checked(&r[..]).unwrap();
        assert_eq!(
            (
                p.ssrc(),
                p.payload_type(),
                p.sequence_number(),
                p.timestamp()
            ),
            (6, 97, 100, 3000)
        );
        assert_eq!(&p.payload()[..2], &4242u16.to_be_bytes());
        assert_eq!(&p.payload()[2..], b"hello");
    }

    #[test]
    fn history_is_bounded_and_rate_limited() {
        let t = crate::test_util::base();
        let mut cfg = SendStreamConfig::new(5, 90_000);
        cfg.history_len = 10;
        let mut s = SendStream::new(cfg, 0);
        for q in 65530..=65535u16 {
            s.on_sent(t, q, 0, 5, Bytes::from(pkt(q)));
        }
        for q in 0..10u16 {
            s.on_sent(t, q, 0, 5, Bytes::from(pkt(q)));
        }
        assert!(
            s.take_for_retransmission(t, 65531, Duration::from_millis(100))
                .is_none(),
            "evicted"
        );
        let rtt = Duration::from_millis(100);
        assert!(s.take_for_retransmission(t, 5, rtt).is_some());
        assert!(
            s.take_for_retransmission(t + Duration::from_millis(50), 5, rtt)
                .is_none()
        );
        assert!(s.take_for_retransmission(t + rtt, 5, rtt).is_some());
        assert_eq!(s.packets_sent(), 16);
    }

    #[test]
    fn sr_extrapolates_rtp_time() {
        let t = crate::test_util::base();
        let mut s = SendStream::new(SendStreamConfig::new(5, 90_000), 0);
        s.on_sent(t, 1, 1000, 5, Bytes::from(pkt(1)));
        let clock = NtpClock::new(t, 1 << 32);
        let sr = s.sender_report(t + Duration::from_millis(100), &clock, vec![]);
        assert_eq!(sr.rtp_time, 1000 + 9000);
        assert_eq!(
            sr.ntp_time,
            (1 << 32) + crate::time::duration_to_ntp(Duration::from_millis(100))
        );
        assert_eq!(sr.octet_count, 5);
    }
}
