//! Transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-extensions-01):
//! sequence numbering and send history on the sender, feedback generation on the receiver.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::time::SeqUnwrapper;
use crate::wire::rtcp::{
    PacketStatus, TWCC_DELTA_TICK_US, TWCC_REFERENCE_TICK_MS, TransportFeedback,
};

/// Sent packets remembered for matching feedback.
const SEND_HISTORY: usize = 1 << 13;
/// Arrivals remembered for building feedback.
const RECEIVE_HISTORY: usize = 1 << 13;
/// Statuses per feedback packet at most (keeps feedback within one MTU).
const MAX_STATUSES: u64 = 400;

/// One sent packet as feedback reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacketResult {
    /// Transport-wide sequence number (unwrapped).
    pub sequence: u64,
    /// When we sent it.
    pub send_time: Instant,
    /// Its size in bytes.
    pub size: usize,
    /// Arrival on the remote clock in µs, `None` if reported lost.
    pub arrival_us: Option<i64>,
    /// The probe cluster it belonged to.
    pub probe_cluster: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: u64,
    at: Instant,
    size: usize,
    probe: Option<u32>,
    acked: bool,
}

/// Sender: numbers outgoing packets and matches feedback to them.
#[derive(Debug, Clone, Default)]
pub struct TwccSender {
    next: u64,
    history: VecDeque<Sent>,
}

impl TwccSender {
    /// Allocate the next transport-wide sequence number for a packet of `size` bytes sent
    /// at `now`.
    pub fn on_send(&mut self, now: Instant, size: usize, probe: Option<u32>) -> u16 {
        let seq = self.next;
        self.next += 1;
        if self.history.len() >= SEND_HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(Sent {
            seq,
            at: now,
            size,
            probe,
            acked: false,
        });
        seq as u16
    }

    /// Match a feedback packet against the history. Packets already reported received are
    /// skipped, so overlapping feedback is not double counted.
    pub fn on_feedback(&mut self, fb: &TransportFeedback) -> Vec<PacketResult> {
        let Some(front) = self.history.front().map(|s| s.seq) else {
            return Vec::new();
        };
        // unwrap the base against what we sent
        let base16 = fb.base_sequence;
        let newest = self.next.saturating_sub(1);
        let diff = (newest as u16).wrapping_sub(base16);
        let Some(base) = newest.checked_sub(u64::from(diff)) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(fb.packets.len());
        for (i, (_, arrival)) in fb.arrivals().enumerate() {
            let seq = base + i as u64;
            let Some(idx) = seq.checked_sub(front) else {
                continue;
            };
            let Some(s) = self.history.get_mut(idx as usize) else {
                break;
            };
            if s.acked {
                continue;
            }
            if arrival.is_some() {
                s.acked = true;
            }
            out.push(PacketResult {
                sequence: seq,
                send_time: s.at,
                size: s.size,
                arrival_us: arrival,
                probe_cluster: s.probe,
            });
        }
        out
    }
}

/// Receiver: records arrivals and builds feedback.
#[derive(Debug, Clone)]
pub struct TwccReceiver {
    epoch: Option<Instant>,
    unwrap: SeqUnwrapper,
    arrivals: BTreeMap<u64, Instant>,
    next_report: Option<u64>,
    feedback_count: u8,
    /// SSRC of the latest media packet carrying the extension.
    pub media_ssrc: u32,
    last_feedback: Option<Instant>,
    interval: Duration,
}

impl TwccReceiver {
    /// Feedback at most every `interval`.
    pub fn new(interval: Duration) -> Self {
        TwccReceiver {
            epoch: None,
            unwrap: SeqUnwrapper::default(),
            arrivals: BTreeMap::new(),
            next_report: None,
            feedback_count: 0,
            media_ssrc: 0,
            last_feedback: None,
            interval,
        }
    }

    /// Record the arrival of transport-wide sequence `seq`.
    pub fn on_packet(&mut self, now: Instant, seq: u16, media_ssrc: u32) {
        self.epoch.get_or_insert(now);
        let s = self.unwrap.unwrap(seq);
        if self.next_report.is_some_and(|n| s < n) {
            return; // already reported (as lost): too late
        }
        self.next_report = Some(self.next_report.map_or(s, |n| n.min(s)));
        self.media_ssrc = media_ssrc;
        self.arrivals.insert(s, now);
        while self.arrivals.len() > RECEIVE_HISTORY {
            self.arrivals.pop_first();
        }
    }

    /// When feedback is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.arrivals.is_empty() {
            return None;
        }
        match self.last_feedback {
            Some(t) => Some(t + self.interval),
            None => self.epoch,
        }
    }

    /// Build the feedback packets due at `now`.
    pub fn poll_feedback(&mut self, now: Instant, sender_ssrc: u32) -> Vec<TransportFeedback> {
        let mut out = Vec::new();
        if self.arrivals.is_empty() || self.last_feedback.is_some_and(|t| now < t + self.interval) {
            return out;
        }
        self.last_feedback = Some(now);
        let Some(epoch) = self.epoch else { return out };
        let Some(&max) = self.arrivals.keys().next_back() else {
            return out;
        };
        let mut base = self.next_report.unwrap_or(max);
        if max - base >= RECEIVE_HISTORY as u64 {
            base = max + 1 - RECEIVE_HISTORY as u64;
        }
        while base <= max {
            let Some((&first_rx, &t0)) = self.arrivals.range(base..).next() else {
                break;
            };
            let us = |t: Instant| t.saturating_duration_since(epoch).as_micros() as i64;
            let ref_ticks = us(t0) / (TWCC_REFERENCE_TICK_MS * 1000);
            let mut prev = ref_ticks * TWCC_REFERENCE_TICK_MS * 1000;
            let mut packets = Vec::new();
            let mut seq = base;
            let _ = first_rx;
            while seq <= max && (packets.len() as u64) < MAX_STATUSES {
                match self.arrivals.get(&seq) {
                    None => packets.push(PacketStatus::NotReceived),
                    Some(&t) => {
                        let delta = (us(t) - prev) / TWCC_DELTA_TICK_US;
                        let Some(st) = PacketStatus::received(delta) else {
                            break;
                        };
                        prev += delta * TWCC_DELTA_TICK_US;
                        packets.push(st);
                    }
                }
                seq += 1;
            }
            // a trailing run of not-received packets is reported next time
            while packets.last() == Some(&PacketStatus::NotReceived) {
                packets.pop();
                seq -= 1;
            }
            if packets.is_empty() {
                break;
            }
            out.push(TransportFeedback {
                sender_ssrc,
                media_ssrc: self.media_ssrc,
                base_sequence: base as u16,
                reference_time: (ref_ticks as u32) & 0x00ff_ffff,
                feedback_count: self.feedback_count,
                packets,
            });
            self.feedback_count = self.feedback_count.wrapping_add(1);
            base = seq;
        }
        self.next_report = Some(base);
        // forget what has been reported
        let keep = self.arrivals.split_off(&base);
        self.arrivals = keep;
        let _ = now;
        out
    }
}
