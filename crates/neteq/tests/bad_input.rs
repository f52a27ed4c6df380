//! BAD_INPUT.md row 37, NetEq part: timestamp jumps of ±2^31, duplicates, 10k-packet bursts,
//! payload-type switches, empty payloads. What must hold: bounded buffer, continuous output
//! (concealment), finite samples, no panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use proptest::prelude::*;
use tern_neteq::{InsertOutcome, L16Decoder, NetEqError, SampleRate, SpeechType};

fn packet(seed: u64) -> Vec<u8> {
    L16Decoder::encode(&speech_like(16_000, 0.02, seed + 1))
}

/// Sends 20 ms packets with timestamps `base + i*320` (wrapping), one per two 10 ms ticks.
fn run_stream(n: &mut tern_neteq::NetEq, base: u32, first: u32, count: u32) -> Vec<SpeechType> {
    let p = packet(1);
    let mut out = [0i16; 160];
    let mut types = Vec::new();
    for i in 0..count * 2 {
        if i % 2 == 0 {
            let k = first + i / 2;
            let now = n.playout_clock();
            n.insert_packet(
                base.wrapping_add(k.wrapping_mul(320)),
                k as u16,
                96,
                &p,
                now,
            )
            .unwrap();
        }
        types.push(n.get_audio(&mut out).unwrap().speech_type);
    }
    types
}

#[test]
fn bad_input_neteq_37_timestamp_wrap_is_seamless() {
    let mut n = l16_neteq(SampleRate::Hz16000);
    // Starts 10 packets before the 32-bit wrap.
    run_stream(&mut n, u32::MAX - 320 * 10 + 1, 0, 50);
    // Play out what is still buffered (the delay held).
    let mut out = [0i16; 160];
    for _ in 0..10 {
        n.get_audio(&mut out).unwrap();
    }
    let s = n.stats();
    assert_eq!(s.buffer_flushes, 0, "{s:?}");
    assert_eq!(s.packets_discarded, 0);
    assert_eq!(s.jitter_buffer_emitted_count, 50 * 320, "{s:?}");
}

#[test]
fn bad_input_neteq_37_timestamp_jump_plus_2_31() {
    for jump in [1u32 << 31, (1u32 << 31) - 1, (1u32 << 31) + 1] {
        let mut n = l16_neteq(SampleRate::Hz16000);
        run_stream(&mut n, 1000, 0, 25);
        let p = packet(2);
        let now = n.playout_clock();
        let outcome = n
            .insert_packet(
                1000u32.wrapping_add(25 * 320).wrapping_add(jump),
                25,
                96,
                &p,
                now,
            )
            .unwrap();
        assert_eq!(outcome, InsertOutcome::StreamRestarted, "jump {jump:#x}");
        // The new stream plays on from there.
        let types = run_stream(&mut n, 1000u32.wrapping_add(jump), 26, 25);
        assert!(
            types[10..].iter().all(|t| *t == SpeechType::Normal),
            "{types:?}"
        );
        assert!(n.packets_buffered() <= 3);
    }
}

#[test]
fn bad_input_neteq_37_timestamp_jump_minus_2_31_and_back() {
    let mut n = l16_neteq(SampleRate::Hz16000);
    run_stream(&mut n, 5_000_000, 0, 25);
    // Jump back by just under 2^31, then back again: each is a restart, output continues.
    let back = 5_000_000u32.wrapping_sub((1 << 31) - 1);
    let types = run_stream(&mut n, back, 0, 25);
    assert!(
        types[10..].iter().all(|t| *t == SpeechType::Normal),
        "{types:?}"
    );
    let types = run_stream(&mut n, 5_000_000, 100, 25);
    assert!(
        types[10..].iter().all(|t| *t == SpeechType::Normal),
        "{types:?}"
    );
    assert_eq!(n.stats().buffer_flushes, 2);
}

#[test]
fn bad_input_neteq_37_duplicates_change_nothing() {
    let sig = speech_like(16_000, 2.0, 3);
    let trace = clean_trace(100, 20.0, 10.0);
    let mut clean = l16_neteq(SampleRate::Hz16000);
    let a = replay_l16(&mut clean, 16_000, &sig, 20, &trace, 100);
    // Same trace, every packet three times (one copy at once, one 7 ms later).
    let mut dup_trace = Vec::new();
    for e in &trace {
        for d in [0.0, 0.0, 7.0] {
            dup_trace.push(TraceEntry {
                seq: e.seq,
                arrival_ms: e.arrival_ms.map(|x| x + d),
            });
        }
    }
    let mut dup = l16_neteq(SampleRate::Hz16000);
    let b = replay_l16(&mut dup, 16_000, &sig, 20, &dup_trace, 100);
    // A copy is a duplicate while the original waits in the buffer, and late once it was played.
    let d = dup.stats();
    assert_eq!(d.duplicate_packets + d.packets_discarded, 200, "{d:?}");
    assert!(d.duplicate_packets > 0, "{d:?}");
    assert_eq!(
        dup.stats().jitter_buffer_emitted_count,
        clean.stats().jitter_buffer_emitted_count
    );
    assert_eq!(a.output, b.output);
}

#[test]
fn bad_input_neteq_37_burst_of_10k_packets_stays_bounded() {
    let mut n = l16_neteq(SampleRate::Hz16000);
    let p = packet(4);
    let mut outcomes = std::collections::HashMap::new();
    for i in 0..10_000u32 {
        let o = n.insert_packet(i * 320, i as u16, 96, &p, 0).unwrap();
        *outcomes
            .entry(format!("{o:?}").split(' ').next().unwrap().to_string())
            .or_insert(0) += 1;
        assert!(n.packets_buffered() <= 200);
    }
    assert!(
        n.stats().buffer_flushes >= 49,
        "{:?} {outcomes:?}",
        n.stats()
    );
    let mut out = [0i16; 160];
    for _ in 0..300 {
        n.get_audio(&mut out).unwrap();
        assert!(n.buffer_level() <= 200 * 320 + 320 * 8);
    }
    // The backlog is drained by accelerate and playout goes on.
    let s = n.stats();
    assert!(s.jitter_buffer_emitted_count > 0);
    assert!(
        s.operations.accelerate + s.operations.fast_accelerate > 0,
        "{s:?}"
    );
}

#[test]
fn bad_input_neteq_37_payload_type_switches() {
    let mut n = l16_neteq(SampleRate::Hz16000);
    n.register_decoder(97, Box::new(L16Decoder::new(16_000)))
        .unwrap();
    let p = packet(5);
    let mut out = [0i16; 160];
    let mut switches = 0;
    for i in 0..100u32 {
        let now = n.playout_clock();
        let pt = if (i / 5) % 2 == 0 { 96 } else { 97 };
        if n.insert_packet(i * 320, i as u16, pt, &p, now).unwrap() == InsertOutcome::CodecSwitched
        {
            switches += 1;
        }
        for _ in 0..2 {
            let info = n.get_audio(&mut out).unwrap();
            if i > 5 {
                assert_eq!(info.speech_type, SpeechType::Normal, "packet {i}");
            }
        }
    }
    assert_eq!(switches, 19);
    // Unknown payload type: error, nothing changes.
    let before = n.packets_buffered();
    assert_eq!(
        n.insert_packet(100 * 320, 100, 55, &p, 0),
        Err(NetEqError::UnknownPayloadType { payload_type: 55 })
    );
    assert_eq!(
        n.insert_packet(100 * 320, 100, 200, &p, 0),
        Err(NetEqError::InvalidPayloadType { payload_type: 200 })
    );
    assert_eq!(n.packets_buffered(), before);
}

#[test]
fn bad_input_neteq_37_empty_and_malformed_payloads() {
    let mut n = l16_neteq(SampleRate::Hz16000);
    assert_eq!(
        n.insert_packet(0, 0, 96, &[], 0),
        Err(NetEqError::EmptyPayload)
    );
    assert_eq!(
        n.insert_packet(0, 0, 96, &[1, 2, 3], 0),
        Err(NetEqError::InvalidDuration)
    );
    assert!(matches!(
        n.insert_packet(0, 0, 96, &vec![0; 100_000], 0),
        Err(NetEqError::PayloadTooLarge { .. })
    ));
    // 121 ms of L16 is longer than any real packet.
    assert_eq!(
        n.insert_packet(0, 0, 96, &vec![0; 2 * 16 * 121], 0),
        Err(NetEqError::InvalidDuration)
    );
    assert_eq!(n.packets_buffered(), 0);
    let mut out = [0i16; 160];
    assert_eq!(
        n.get_audio(&mut out).unwrap().speech_type,
        SpeechType::Silence
    );
    let mut short = [0i16; 100];
    assert_eq!(
        n.get_audio(&mut short),
        Err(NetEqError::OutputSize {
            expected: 160,
            got: 100
        })
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Arbitrary packet sequences (timestamps, payload types, sizes, arrival order) interleaved
    /// with playout: never a panic, always one finite frame, bounded buffer.
    #[test]
    fn bad_input_neteq_37_arbitrary_sequences(ops in proptest::collection::vec(
        (any::<u32>(), any::<u16>(), prop_oneof![Just(96u8), Just(97u8), Just(13u8), any::<u8>()], 0usize..2000, 0u8..4),
        1..400,
    )) {
        let mut n = l16_neteq(SampleRate::Hz16000);
        n.register_decoder(13, Box::new(tern_neteq::ComfortNoiseDecoder::new(16_000))).unwrap();
        let mut out = [0i16; 160];
        let mut last_ts = 0u32;
        for (ts, seq, pt, len, pulls) in ops {
            // Half the time near the previous timestamp, so the buffer actually fills.
            let ts = if ts % 2 == 0 { last_ts.wrapping_add(ts % 2000) } else { ts };
            last_ts = ts;
            let payload = vec![(seq & 0xff) as u8; len];
            let now = n.playout_clock();
            let _ = n.insert_packet(ts, seq, pt, &payload, now);
            prop_assert!(n.packets_buffered() <= 200);
            for _ in 0..pulls {
                let info = n.get_audio(&mut out).unwrap();
                prop_assert_eq!(info.samples, 160);
            }
        }
    }
}
