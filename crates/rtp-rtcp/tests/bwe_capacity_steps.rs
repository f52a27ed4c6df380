//! Bandwidth estimation on a simulated bottleneck: capacity 2 → 0.5 → 2 Mbit/s, 5 % random
//! loss in both directions, 100 ms RTT. Prints convergence time and utilisation per phase
//! (the table in the crate README comes from this test: `cargo test -p tern-rtp-rtcp --test
//! bwe_capacity_steps -- --nocapture`) and checks bounds on both.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use tern_rtp_rtcp::{ReceiveStreamConfig, RtpSession, SendStreamConfig};

struct Phase {
    start: Duration,
    end: Duration,
    capacity: u64,
}

struct Sample {
    at: Duration,
    target: u64,
    delivered_bytes: u64,
    queue_delay_ms: f64,
}

fn run(phases: &[Phase], loss: f64, seed: u64, netsim: bool) -> Vec<Sample> {
    let t0 = base();
    let mut a = RtpSession::new(config(0xa, 3), t0, 1 << 32);
    let mut b = RtpSession::new(config(0xb, 4), t0, 9 << 32);
    let mut sc = SendStreamConfig::new(MEDIA_SSRC, 90_000);
    sc.rtx_ssrc = Some(RTX_SSRC);
    sc.rtx_payload_types = vec![(MEDIA_PT, RTX_PT)];
    a.add_send_stream(sc);
    let mut rc = ReceiveStreamConfig::new(MEDIA_SSRC, 90_000);
    rc.rtx_ssrc = Some(RTX_SSRC);
    rc.rtx_payload_types = vec![(RTX_PT, MEDIA_PT)];
    b.add_receive_stream(rc);

    let queue = 62_500; // 250 ms at 2 Mbit/s
    let delay = Duration::from_millis(50);
    let (mut ab, mut ba): (Box<dyn Path>, Box<dyn Path>) = if netsim {
        (
            Box::new(NetsimPath::new(
                phases[0].capacity,
                delay,
                loss,
                queue,
                t0,
                seed,
            )),
            Box::new(NetsimPath::new(
                10_000_000,
                delay,
                loss,
                1 << 20,
                t0,
                seed + 1,
            )),
        )
    } else {
        (
            Box::new(Link::new(phases[0].capacity, delay, loss, queue, seed)),
            Box::new(Link::new(10_000_000, delay, loss, 1 << 20, seed + 1)),
        )
    };
    let mut src = VideoSource::new(t0);
    let end = t0 + phases.last().unwrap().end;
    let mut now = t0;
    let mut next_sample = t0;
    let mut samples = Vec::new();
    while now < end {
        let el = now - t0;
        if let Some(p) = phases.iter().find(|p| el >= p.start && el < p.end) {
            ab.set_capacity(p.capacity);
        }
        if now >= src.next_frame {
            // an encoder that follows the target, but not while the pacer is backed up
            let rate = a.target_bitrate();
            if a.pacer_queue_len() < 200 {
                for (_, p) in src.frame(rate) {
                    a.send_rtp(now, &p).unwrap();
                }
            } else {
                src.frame(0);
            }
        }
        for t in ab.deliver(now) {
            input(&mut b, now, &t);
        }
        for t in ba.deliver(now) {
            input(&mut a, now, &t);
        }
        if a.poll_timeout().is_some_and(|t| t <= now) {
            a.handle_timeout(now);
        }
        if b.poll_timeout().is_some_and(|t| t <= now) {
            b.handle_timeout(now);
        }
        while let Some(t) = a.poll_transmit() {
            ab.send(now, t);
        }
        while let Some(t) = b.poll_transmit() {
            ba.send(now, t);
        }
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        if now >= next_sample {
            samples.push(Sample {
                at: el,
                target: a.target_bitrate(),
                delivered_bytes: ab.delivered_bytes(),
                queue_delay_ms: ab.queue_delay_ms(now),
            });
            next_sample += Duration::from_millis(100);
        }
        let next = [
            Some(src.next_frame),
            ab.next_delivery(),
            ba.next_delivery(),
            a.poll_timeout(),
            b.poll_timeout(),
            Some(next_sample),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap();
        now = next.max(now + Duration::from_micros(50));
    }
    samples
}

/// Time from the phase start until the target first enters [lo, hi] × capacity.
fn convergence(samples: &[Sample], p: &Phase, lo: f64, hi: f64) -> Option<Duration> {
    samples
        .iter()
        .filter(|s| s.at >= p.start && s.at < p.end)
        .find(|s| {
            (s.target as f64) >= lo * p.capacity as f64
                && (s.target as f64) <= hi * p.capacity as f64
        })
        .map(|s| s.at - p.start)
}

/// Delivered bitrate over the second half of the phase / capacity.
fn utilisation(samples: &[Sample], p: &Phase) -> f64 {
    let mid = p.start + (p.end - p.start) / 2;
    let a = samples.iter().find(|s| s.at >= mid).unwrap();
    let b = samples.iter().rev().find(|s| s.at < p.end).unwrap();
    let bits = (b.delivered_bytes - a.delivered_bytes) as f64 * 8.0;
    bits / (b.at - a.at).as_secs_f64() / p.capacity as f64
}

fn phases() -> [Phase; 3] {
    [
        Phase {
            start: Duration::ZERO,
            end: Duration::from_secs(30),
            capacity: 2_000_000,
        },
        Phase {
            start: Duration::from_secs(30),
            end: Duration::from_secs(60),
            capacity: 500_000,
        },
        Phase {
            start: Duration::from_secs(60),
            end: Duration::from_secs(100),
            capacity: 2_000_000,
        },
    ]
}

#[test]
fn capacity_steps_with_loss() {
    let phases = phases();
    let samples = run(&phases, 0.05, 21, false);
    println!("Bottleneck model: tests/common Link");
    check(&phases, &samples);
}

/// The same scenario over `tern-netsim`'s link (token bucket + drop-tail queue).
#[test]
fn capacity_steps_with_loss_on_netsim() {
    let phases = phases();
    let samples = run(&phases, 0.05, 21, true);
    println!("Bottleneck model: tern-netsim Link");
    check(&phases, &samples);
}

fn check(phases: &[Phase], samples: &[Sample]) {
    println!(
        "| phase | capacity | convergence (target first in 0.7–1.0 × C) | queue < 100 ms after | utilisation, 2nd half | mean target, 2nd half | max queue delay |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut conv = Vec::new();
    let mut util = Vec::new();
    let mut drain = Vec::new();
    for (i, p) in phases.iter().enumerate() {
        let c = convergence(samples, p, 0.7, 1.0);
        let u = utilisation(samples, p);
        let mid = p.start + (p.end - p.start) / 2;
        let half: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.at >= mid && s.at < p.end)
            .collect();
        let mean = half.iter().map(|s| s.target as f64).sum::<f64>() / half.len() as f64;
        let drained = samples
            .iter()
            .filter(|s| s.at >= p.start + Duration::from_millis(500) && s.at < p.end)
            .find(|s| s.queue_delay_ms < 100.0)
            .map(|s| s.at - p.start);
        let maxq = samples
            .iter()
            .filter(|s| s.at >= p.start && s.at < p.end)
            .map(|s| s.queue_delay_ms)
            .fold(0.0, f64::max);
        println!(
            "| {} ({}–{} s) | {} kbit/s | {} | {} | {:.0} % | {:.0} kbit/s | {:.0} ms |",
            i + 1,
            p.start.as_secs(),
            p.end.as_secs(),
            p.capacity / 1000,
            c.map_or("never".to_string(), |d| format!("{:.1} s", d.as_secs_f64())),
            drained.map_or("never".to_string(), |d| format!("{:.1} s", d.as_secs_f64())),
            u * 100.0,
            mean / 1000.0,
            maxq
        );
        conv.push(c);
        drain.push(drained);
        util.push(u);
    }
    for s in samples.iter().step_by(10) {
        println!(
            "t={:5.1}s target={:5} kbit/s queue={:4.0} ms",
            s.at.as_secs_f64(),
            s.target / 1000,
            s.queue_delay_ms
        );
    }
    // the estimate reaches each capacity level and does not run away
    for (i, c) in conv.iter().enumerate() {
        assert!(
            c.is_some_and(|d| d < Duration::from_secs(20)),
            "phase {} did not converge",
            i + 1
        );
    }
    assert!(
        util[0] > 0.5 && util[1] > 0.5 && util[2] > 0.5,
        "utilisation {util:?}"
    );
    // the standing queue after the capacity drop is drained, and stays small otherwise
    for (i, d) in drain.iter().enumerate() {
        assert!(
            d.is_some_and(|d| d < Duration::from_secs(10)),
            "phase {} queue never drained",
            i + 1
        );
    }
    let late_q = samples
        .iter()
        .filter(|s| s.at >= Duration::from_secs(45))
        .map(|s| s.queue_delay_ms)
        .fold(0.0, f64::max);
    assert!(late_q < 400.0, "queue delay grew to {late_q} ms");
    let max_target = samples.iter().map(|s| s.target).max().unwrap();
    assert!(max_target < 4_000_000, "target ran away: {max_target}");
}
