//! The demo's live stats table: one row per direction per second, from the peers' W3C stats
//! (`getStats()`-style reports) and the media threads' counters.

use super::media::Counters;
use std::sync::atomic::Ordering;
use tern_peerconnection::{Stats, StatsReport};

/// What one peer's stats report says, summed over its streams.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// outbound-rtp video payload bytes.
    pub video_bytes_sent: u64,
    /// outbound-rtp audio payload bytes.
    pub audio_bytes_sent: u64,
    /// inbound-rtp packets received (audio + video).
    pub packets_received: u64,
    /// inbound-rtp cumulative loss (audio + video).
    pub packets_lost: i64,
    /// inbound-rtp audio interarrival jitter, seconds.
    pub audio_jitter: f64,
    /// inbound-rtp packets recovered by RTX.
    pub retransmitted_received: u64,
    /// remote-inbound-rtp round-trip time, seconds (video, else audio).
    pub rtt: Option<f64>,
    /// data-channel payload bytes received.
    pub data_bytes_received: u64,
}

impl Snapshot {
    /// Sums the entries of `report`.
    pub fn of(report: &StatsReport) -> Snapshot {
        let mut s = Snapshot::default();
        for entry in &report.stats {
            match entry {
                Stats::OutboundRtp(o) if o.kind == "video" => s.video_bytes_sent += o.bytes_sent,
                Stats::OutboundRtp(o) => s.audio_bytes_sent += o.bytes_sent,
                // Before its first packet a stream reports one lost packet (RFC 3550 A.3's
                // expected count starts at 1): nothing to show yet.
                Stats::InboundRtp(i) if i.packets_received == 0 => {}
                Stats::InboundRtp(i) => {
                    s.packets_received += i.packets_received;
                    s.packets_lost += i.packets_lost;
                    s.retransmitted_received += i.retransmitted_packets_received;
                    if i.kind == "audio" {
                        s.audio_jitter = i.jitter;
                    }
                }
                Stats::RemoteInboundRtp(r)
                    if r.round_trip_time.is_some() && (s.rtt.is_none() || r.kind == "video") =>
                {
                    s.rtt = r.round_trip_time;
                }
                Stats::DataChannel(d) => s.data_bytes_received += d.bytes_received,
                _ => {}
            }
        }
        s
    }
}

/// Media counters at one moment (for per-second rates).
#[derive(Clone, Copy, Debug, Default)]
pub struct CounterSnapshot {
    frames_sent: u64,
    frames_decoded: u64,
    audio_samples: u64,
    audio_concealed: u64,
    sending_done: bool,
}

impl CounterSnapshot {
    /// Reads `counters`.
    pub fn of(counters: &Counters) -> CounterSnapshot {
        CounterSnapshot {
            frames_sent: counters.frames_sent.load(Ordering::Relaxed),
            frames_decoded: counters.frames_decoded.load(Ordering::Relaxed),
            audio_samples: counters.audio_samples.load(Ordering::Relaxed),
            audio_concealed: counters.audio_concealed.load(Ordering::Relaxed),
            sending_done: counters.sending_done.load(Ordering::Relaxed),
        }
    }
}

/// The table's header.
pub fn header(relay: bool) -> String {
    format!(
        "{:>5}  {:<9}  {:>8}  {:>11}  {:>4}  {:>13}  {:>6}  {:>6}  {:>6}  {:>6}  {:>9}  {:>6}{}",
        "time",
        "direction",
        "data",
        "video",
        "fps",
        "video kbit/s",
        "audio",
        "concl",
        "loss",
        "jitter",
        "rtx / PLI",
        "RTT",
        if relay { "  relay fwd/drop" } else { "" }
    ) + &format!(
        "\n{:>5}  {:<9}  {:>8}  {:>11}  {:>4}  {:>13}  {:>6}  {:>6}  {:>6}  {:>6}  {:>9}  {:>6}",
        "", "", "MiB/s", "sent/decod", "", "sent (target)", "kbit/s", "%", "%", "ms", "", "ms"
    )
}

/// The change over one second in one direction: the sender's and the receiver's view.
pub struct Row<'a> {
    /// `bob→alice`.
    pub direction: &'a str,
    /// Sender stats now and a second ago.
    pub sender: (Snapshot, Snapshot),
    /// Receiver stats now and a second ago.
    pub receiver: (Snapshot, Snapshot),
    /// Sender media counters now and a second ago.
    pub sender_counters: (CounterSnapshot, CounterSnapshot),
    /// Receiver media counters now and a second ago.
    pub receiver_counters: (CounterSnapshot, CounterSnapshot),
    /// The sender's bandwidth-estimate target, bits/s.
    pub target_bps: u64,
    /// PLIs the receiver sent so far.
    pub keyframe_requests: u64,
    /// Seconds since the previous row.
    pub seconds: f64,
}

impl Row<'_> {
    /// One formatted line.
    pub fn format(&self, time: u64) -> String {
        let per_s = |now: u64, then: u64| now.saturating_sub(then) as f64 / self.seconds.max(1e-3);
        let (s_now, s_then) = self.sender;
        let (r_now, r_then) = self.receiver;
        let (sc_now, _) = self.sender_counters;
        let (rc_now, rc_then) = self.receiver_counters;
        let data = per_s(r_now.data_bytes_received, r_then.data_bytes_received) / 1_048_576.0;
        let fps = per_s(rc_now.frames_decoded, rc_then.frames_decoded);
        let video_kbps = per_s(s_now.video_bytes_sent, s_then.video_bytes_sent) * 8.0 / 1000.0;
        let audio_kbps = per_s(s_now.audio_bytes_sent, s_then.audio_bytes_sent) * 8.0 / 1000.0;
        let played = rc_now.audio_samples.saturating_sub(rc_then.audio_samples);
        let concealed = rc_now
            .audio_concealed
            .saturating_sub(rc_then.audio_concealed);
        // Once the sender has stopped, what the receiver plays is concealment of nothing.
        let concealed_pct = if played == 0 || sc_now.sending_done {
            "-".to_string()
        } else {
            format!("{:.1}", concealed as f64 * 100.0 / played as f64)
        };
        let lost = r_now
            .packets_lost
            .saturating_sub(r_then.packets_lost)
            .max(0) as f64;
        let got = r_now
            .packets_received
            .saturating_sub(r_then.packets_received) as f64;
        let loss_pct = if lost + got == 0.0 {
            0.0
        } else {
            lost * 100.0 / (lost + got)
        };
        let rtt = s_now
            .rtt
            .map_or_else(|| "-".to_string(), |r| format!("{:.1}", r * 1000.0));
        format!(
            "{:>4}s  {:<9}  {:>8.1}  {:>5}/{:<5}  {:>4.0}  {:>6.0} ({:>4})  {:>6.1}  {:>6}  {:>6.1}  {:>6.1}  {:>4} / {:<2}  {:>6}",
            time,
            self.direction,
            data,
            sc_now.frames_sent,
            rc_now.frames_decoded,
            fps,
            video_kbps,
            self.target_bps / 1000,
            audio_kbps,
            concealed_pct,
            loss_pct,
            r_now.audio_jitter * 1000.0,
            r_now.retransmitted_received,
            self.keyframe_requests,
            rtt,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_shows_rates_over_the_second() {
        let then = Snapshot::default();
        let sender = Snapshot {
            video_bytes_sent: 50_000,
            audio_bytes_sent: 4_000,
            rtt: Some(0.0123),
            ..Snapshot::default()
        };
        let receiver = Snapshot {
            packets_received: 95,
            packets_lost: 5,
            audio_jitter: 0.002,
            retransmitted_received: 4,
            data_bytes_received: 2 * 1_048_576,
            ..Snapshot::default()
        };
        let counters = CounterSnapshot {
            frames_sent: 30,
            frames_decoded: 29,
            audio_samples: 48_000,
            audio_concealed: 480,
            sending_done: false,
        };
        let row = Row {
            direction: "bob→alice",
            sender: (sender, then),
            receiver: (receiver, then),
            sender_counters: (counters, CounterSnapshot::default()),
            receiver_counters: (counters, CounterSnapshot::default()),
            target_bps: 500_000,
            keyframe_requests: 1,
            seconds: 1.0,
        }
        .format(3);
        for part in [
            "3s",
            "bob→alice",
            "2.0",
            "30/29",
            "400",
            "( 500)",
            "32.0",
            "1.0",
            "5.0",
            "2.0",
            "4 / 1",
            "12.3",
        ] {
            assert!(row.contains(part), "{part:?} missing in {row:?}");
        }
    }
}
