//! Key-frame request decisions of `Vp8Receiver`, on virtual time.
#![allow(clippy::disallowed_methods)] // Instant::now() only as the base of virtual time
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use tern_vp8_engine::wire::header::emit_header;
use tern_vp8_engine::{
    FrameToSend, KeyframeReason, PacketizerConfig, ReceiverConfig, ReceiverEvent, Vp8Packetizer,
    Vp8Receiver,
};

/// A sender of synthetic frames: 2 packets each.
struct Sender {
    p: Vp8Packetizer,
    seq: u16,
    ts: u32,
}

impl Sender {
    fn new() -> Self {
        Self {
            p: Vp8Packetizer::new(PacketizerConfig {
                mtu: 300,
                ..Default::default()
            }),
            seq: 40_000,
            ts: 0,
        }
    }
    fn frame(&mut self, key: bool) -> Vec<(u16, u32, bool, Bytes)> {
        let mut f = emit_header(100, key.then_some((64, 64)));
        f.resize(500, 3);
        let pk = self
            .p
            .packetize(&FrameToSend {
                data: &f,
                ..Default::default()
            })
            .unwrap();
        self.ts = self.ts.wrapping_add(3000);
        let n = pk.len();
        pk.into_iter()
            .enumerate()
            .map(|(i, b)| {
                self.seq = self.seq.wrapping_add(1);
                (self.seq, self.ts, i + 1 == n, b)
            })
            .collect()
    }
}

fn drain(rx: &mut Vp8Receiver) -> (usize, Vec<KeyframeReason>) {
    let (mut frames, mut reqs) = (0, Vec::new());
    while let Some(e) = rx.poll_event() {
        match e {
            ReceiverEvent::Frame(_) => frames += 1,
            ReceiverEvent::KeyframeRequest(r) => reqs.push(r.reason),
            _ => {}
        }
    }
    (frames, reqs)
}

fn feed(rx: &mut Vp8Receiver, now: Instant, pkts: &[(u16, u32, bool, Bytes)]) {
    for (s, t, m, b) in pkts {
        rx.handle_packet(now, *s, *t, *m, b).unwrap();
    }
}

#[test]
fn pli_after_200ms_waiting_for_keyframe() {
    let t0 = Instant::now();
    let mut tx = Sender::new();
    let mut rx = Vp8Receiver::new(ReceiverConfig::default());
    // The stream starts with delta frames (the key frame was lost).
    let f = tx.frame(false);
    feed(&mut rx, t0, &f);
    assert_eq!(drain(&mut rx), (0, vec![]));
    assert_eq!(rx.poll_timeout(), Some(t0 + Duration::from_millis(200)));
    rx.handle_timeout(t0 + Duration::from_millis(199));
    assert_eq!(drain(&mut rx).1, vec![]);
    rx.handle_timeout(t0 + Duration::from_millis(200));
    assert_eq!(drain(&mut rx).1, vec![KeyframeReason::WaitingForKeyframe]);
    // Repeated every 200 ms while still waiting, not more often.
    rx.handle_timeout(t0 + Duration::from_millis(300));
    assert_eq!(drain(&mut rx).1, vec![]);
    rx.handle_timeout(t0 + Duration::from_millis(400));
    assert_eq!(drain(&mut rx).1, vec![KeyframeReason::WaitingForKeyframe]);
    // The key frame recovers; no more requests.
    let k = tx.frame(true);
    feed(&mut rx, t0 + Duration::from_millis(450), &k);
    assert_eq!(drain(&mut rx), (1, vec![]));
    assert!(!rx.waiting_for_keyframe());
    rx.handle_timeout(t0 + Duration::from_millis(700));
    assert_eq!(drain(&mut rx).1, vec![]);
}

#[test]
fn gap_repaired_in_time_needs_no_pli() {
    let t0 = Instant::now();
    let mut tx = Sender::new();
    let mut rx = Vp8Receiver::new(ReceiverConfig::default());
    feed(&mut rx, t0, &tx.frame(true));
    let lost = tx.frame(false);
    let next = tx.frame(false);
    feed(&mut rx, t0 + Duration::from_millis(33), &lost[..1]);
    feed(&mut rx, t0 + Duration::from_millis(66), &next);
    assert_eq!(rx.missing().count(), lost.len() - 1);
    assert_eq!(drain(&mut rx), (1, vec![]));
    // The retransmission arrives after 100 ms: both frames decode, in order.
    feed(&mut rx, t0 + Duration::from_millis(166), &lost[1..]);
    assert_eq!(drain(&mut rx), (2, vec![]));
    rx.handle_timeout(t0 + Duration::from_millis(400));
    assert_eq!(drain(&mut rx).1, vec![]);
}

#[test]
fn pli_after_3s_without_decodable_frame() {
    let t0 = Instant::now();
    let mut tx = Sender::new();
    let cfg = ReceiverConfig {
        // Take the 200 ms rule out of the way to see the 3 s rule alone.
        keyframe_wait: Duration::from_secs(10),
        ..Default::default()
    };
    let mut rx = Vp8Receiver::new(cfg);
    feed(&mut rx, t0, &tx.frame(true));
    drain(&mut rx);
    // Only first halves of frames arrive from now on.
    let mut now = t0;
    let mut reqs = Vec::new();
    for _ in 0..100 {
        now += Duration::from_millis(33);
        let f = tx.frame(false);
        feed(&mut rx, now, &f[..1]);
        rx.handle_timeout(now);
        reqs.extend(drain(&mut rx).1);
    }
    assert_eq!(reqs, vec![KeyframeReason::NoDecodableFrame]);
}

#[test]
fn decoder_error_and_nack_overflow_request_at_once() {
    let t0 = Instant::now();
    let mut tx = Sender::new();
    let mut rx = Vp8Receiver::new(ReceiverConfig::default());
    feed(&mut rx, t0, &tx.frame(true));
    drain(&mut rx);
    rx.handle_decoder_error(t0 + Duration::from_millis(10));
    assert_eq!(drain(&mut rx).1, vec![KeyframeReason::DecoderError]);
    // Delta frames are no longer released.
    feed(&mut rx, t0 + Duration::from_millis(40), &tx.frame(false));
    assert_eq!(drain(&mut rx).0, 0);
    // A NACK overflow 50 ms later is rate-limited, then sent when allowed.
    rx.handle_nack_overflow(t0 + Duration::from_millis(60));
    assert_eq!(drain(&mut rx).1, vec![]);
    rx.handle_timeout(t0 + Duration::from_millis(210));
    assert_eq!(drain(&mut rx).1, vec![KeyframeReason::NackOverflow]);
    // A jump of 2000 sequence numbers overflows the receiver's own missing list.
    for _ in 0..1000 {
        tx.frame(false);
    }
    feed(&mut rx, t0 + Duration::from_millis(500), &tx.frame(true));
    let (frames, reqs) = drain(&mut rx);
    assert_eq!(frames, 1);
    assert_eq!(reqs, vec![KeyframeReason::NackOverflow]);
}
