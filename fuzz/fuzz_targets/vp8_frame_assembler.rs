#![no_main]
//! The receive pipeline (assembler, reference finder, frame buffer, key-frame timers) fed a
//! stream of packets: each record is seq (2), timestamp delta (1), marker (1), time step (1),
//! length (1), payload.
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_vp8_engine::{ReceiverConfig, Vp8Receiver};

fuzz_target!(|data: &[u8]| {
    #[allow(clippy::disallowed_methods)]
    let mut now = Instant::now();
    let mut rx = Vp8Receiver::new(ReceiverConfig {
        max_buffered_packets: 64,
        max_missing_packets: 32,
        max_pending_frames: 16,
        ..ReceiverConfig::default()
    });
    let mut ts = 0u32;
    let mut rest = data;
    while let [s0, s1, dts, m, step, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(n);
        ts = ts.wrapping_add(u32::from(*dts) * 1500);
        now += Duration::from_millis(u64::from(*step) * 4);
        let _ = rx.handle_packet(now, u16::from_be_bytes([*s0, *s1]), ts, m & 1 == 1, payload);
        if m & 2 != 0 {
            rx.handle_decoder_error(now);
        }
        if let Some(t) = rx.poll_timeout() {
            if t <= now {
                rx.handle_timeout(now);
            }
        }
        while rx.poll_event().is_some() {}
        rest = next;
    }
});
