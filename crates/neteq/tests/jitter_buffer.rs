//! Jitter buffer behaviour on synthetic networks: steady flow, reordering, loss, jitter changes,
//! DTX, and concealment fading.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use tern_neteq::{
    ComfortNoiseDecoder, InsertOutcome, L16Decoder, NetEq, NetEqConfig, Operation, SampleRate,
    SpeechType,
};

const RATE: u32 = 16_000;

#[test]
fn steady_stream_plays_everything_without_concealment() {
    let sig = speech_like(RATE, 3.0, 1);
    let mut n = l16_neteq(SampleRate::Hz16000);
    let trace = clean_trace(150, 20.0, 5.0);
    let r = replay_l16(&mut n, RATE, &sig, 20, &trace, 200);
    let s = n.stats();
    // Concealment only after the stream ended (the 200 ms tail).
    let played = r
        .frames
        .iter()
        .take(300)
        .filter(|f| f.speech_type == SpeechType::Concealed)
        .count();
    assert_eq!(played, 0, "{s:?}");
    assert_eq!(s.concealment_events, 1, "the tail");
    assert_eq!(s.packets_discarded, 0);
    assert_eq!(s.jitter_buffer_emitted_count, sig.len() as u64);
    // Bit-exact where no time stretch happened: the output is the input, delayed.
    let lag = best_alignment(&sig, &r.output, 1600, 8000..12000);
    assert!(s.mean_delay() < 0.08, "mean delay {}", s.mean_delay());
    if s.removed_samples_for_acceleration == 0 && s.inserted_samples_for_deceleration == 0 {
        assert_eq!(&r.output[lag..lag + 16000], &sig[..16000]);
    }
}

#[test]
fn reordered_pairs_are_put_back_in_order() {
    let sig = speech_like(RATE, 2.0, 2);
    let mut n = l16_neteq(SampleRate::Hz16000);
    // Swap every pair: odd packets arrive 5 ms before the even one before them.
    let trace: Vec<TraceEntry> = (0..100)
        .map(|i| {
            let base = i as f64 * 20.0 + 30.0;
            let arrival = if i % 2 == 0 { base + 25.0 } else { base };
            TraceEntry {
                seq: i,
                arrival_ms: Some(arrival),
            }
        })
        .collect();
    let r = replay_l16(&mut n, RATE, &sig, 20, &trace, 300);
    let s = n.stats();
    // Playout starts with the first packet to arrive (packet 1), so packet 0 is late; no other.
    assert_eq!(s.packets_discarded, 1, "{s:?}");
    assert_eq!(s.jitter_buffer_emitted_count, sig.len() as u64 - 320);
    // After the delay manager has learnt the reordering, no concealment: check the last second.
    let tail: Vec<_> = r.frames[100..200].iter().map(|f| f.speech_type).collect();
    assert!(tail.iter().all(|t| *t == SpeechType::Normal), "{tail:?}");
}

#[test]
fn lost_packet_is_concealed_then_merged() {
    let sig = speech_like(RATE, 2.0, 3);
    let mut n = l16_neteq(SampleRate::Hz16000);
    let mut trace = clean_trace(100, 20.0, 10.0);
    trace[50].arrival_ms = None;
    let r = replay_l16(&mut n, RATE, &sig, 20, &trace, 200);
    let s = n.stats();
    // One event for the loss, one for the end of the stream.
    assert_eq!(s.concealment_events, 2, "{s:?}");
    let lost: usize = r
        .frames
        .iter()
        .take(150)
        .filter(|f| f.speech_type == SpeechType::Concealed)
        .count();
    assert!((2..=4).contains(&lost), "{lost} concealed frames, {s:?}");
    assert!(s.operations.merge >= 1);
    let ops: Vec<Operation> = r.frames.iter().map(|f| f.operation).collect();
    let first_expand = ops.iter().position(|o| *o == Operation::Expand).unwrap();
    assert!(ops[first_expand..].contains(&Operation::Merge));
    // Everything after the loss is played: 99 packets' worth of decoded samples.
    assert_eq!(s.jitter_buffer_emitted_count, (sig.len() - 320) as u64);
}

#[test]
fn late_packet_within_the_gap_is_merged_not_lost() {
    let sig = speech_like(RATE, 2.0, 4);
    let mut n = l16_neteq(SampleRate::Hz16000);
    let mut trace = clean_trace(100, 20.0, 0.0);
    // Packet 40 is 5 ms late: it arrives while its gap is being concealed and is still played.
    trace[40].arrival_ms = Some(40.0 * 20.0 + 5.0 + 20.0);
    replay_l16(&mut n, RATE, &sig, 20, &trace, 200);
    let s = n.stats();
    assert_eq!(s.packets_discarded, 0, "{s:?}");
    assert_eq!(s.jitter_buffer_emitted_count, sig.len() as u64);

    // Later than the delay held (one packet on this clean path), with its successor already
    // buffered: the concealment covers exactly the gap, then merges into packet 41 (as
    // libwebrtc does); packet 40 comes too late and is dropped.
    let mut n = l16_neteq(SampleRate::Hz16000);
    let mut trace = clean_trace(100, 20.0, 0.0);
    trace[40].arrival_ms = Some(40.0 * 20.0 + 45.0 + 20.0);
    let r = replay_l16(&mut n, RATE, &sig, 20, &trace, 200);
    let s = n.stats();
    assert_eq!(s.packets_discarded, 1, "{s:?}");
    assert_eq!(s.jitter_buffer_emitted_count, sig.len() as u64 - 320);
    let concealed = r.frames[..150]
        .iter()
        .filter(|f| f.speech_type == SpeechType::Concealed)
        .count();
    // 20 ms of concealment: two frames, or three when the playout point is not on a frame
    // boundary (the delay was built by a time stretch of a pitch period).
    assert!(
        (2..=3).contains(&concealed),
        "20 ms gap, {concealed} frames of concealment"
    );
}

#[test]
fn too_late_packet_is_discarded() {
    let mut n = l16_neteq(SampleRate::Hz16000);
    let p = L16Decoder::encode(&[100; 320]);
    let mut out = [0i16; 160];
    for i in 0..20u32 {
        let now = n.playout_clock();
        if i % 2 == 0 && i != 10 {
            n.insert_packet(i * 160, i as u16, 96, &p, now).unwrap();
        }
        n.get_audio(&mut out).unwrap();
    }
    let now = n.playout_clock();
    assert_eq!(
        n.insert_packet(10 * 160, 5, 96, &p, now).unwrap(),
        InsertOutcome::TooLate
    );
    assert_eq!(n.stats().packets_discarded, 1);
}

#[test]
fn target_follows_jitter_and_accelerate_drains_the_excess() {
    let sig = speech_like(RATE, 40.0, 5);
    let mut n = l16_neteq(SampleRate::Hz16000);
    let mut rng = TestRng(77);
    // 4 s of heavy jitter (0..120 ms), then 36 s of none (the delay manager remembers the
    // largest delay of each 250 ms for tens of seconds).
    let trace: Vec<TraceEntry> = (0..2000)
        .map(|i| {
            let jitter = if i < 200 { rng.unit() * 120.0 } else { 0.0 };
            TraceEntry {
                seq: i,
                arrival_ms: Some(i as f64 * 20.0 + jitter),
            }
        })
        .collect();
    let r = replay_l16(&mut n, RATE, &sig, 20, &trace, 300);
    let jittery_target = r.frames[390].target_delay;
    let calm_target = r.frames[3950].target_delay;
    assert!(
        jittery_target > 16 * 100,
        "target during jitter {jittery_target}"
    );
    assert!(
        calm_target < jittery_target / 2,
        "target after jitter {calm_target}"
    );
    let s = n.stats();
    assert!(s.removed_samples_for_acceleration > 0, "{s:?}");
    // The buffer came down to the calm target.
    assert!(
        r.frames[3950].buffer_level < jittery_target,
        "{:?}",
        r.frames[3950]
    );
}

#[test]
fn rising_target_preemptively_expands() {
    let sig = speech_like(RATE, 6.0, 6);
    let mut n = l16_neteq(SampleRate::Hz16000);
    let mut rng = TestRng(78);
    // Calm first, then jitter starts: the buffer must grow towards the new target.
    let trace: Vec<TraceEntry> = (0..300)
        .map(|i| {
            let jitter = if i >= 100 { rng.unit() * 80.0 } else { 0.0 };
            TraceEntry {
                seq: i,
                arrival_ms: Some(i as f64 * 20.0 + jitter),
            }
        })
        .collect();
    replay_l16(&mut n, RATE, &sig, 20, &trace, 300);
    let s = n.stats();
    assert!(
        s.inserted_samples_for_deceleration > 0 || s.concealed_samples > 0,
        "{s:?}"
    );
    assert!(s.operations.preemptive_expand > 0, "{s:?}");
}

#[test]
fn concealment_fades_to_background_noise() {
    let sig = speech_like(RATE, 1.0, 7);
    let mut n = l16_neteq(SampleRate::Hz16000);
    // Send 1 s of speech, then nothing for 1 s.
    let trace = clean_trace(50, 20.0, 0.0);
    let r = replay_l16(&mut n, RATE, &sig, 20, &trace, 1000);
    let s = n.stats();
    assert!(s.concealed_samples > 14_000, "{s:?}");
    assert!(s.silent_concealed_samples > 8_000, "{s:?}");
    assert_eq!(s.concealment_events, 1);
    let last = rms(&r.output[r.output.len() - 1600..]);
    assert!(last < 100.0, "tail rms {last}");
    // No sample is wild: concealment never amplifies.
    let peak = sig.iter().map(|v| v.unsigned_abs()).max().unwrap();
    assert!(r.output.iter().all(|v| v.unsigned_abs() <= peak + peak / 4));
}

#[test]
fn dtx_plays_comfort_noise_not_concealment() {
    let mut n = l16_neteq(SampleRate::Hz16000);
    n.register_decoder(13, Box::new(ComfortNoiseDecoder::new(16_000)))
        .unwrap();
    let speech = L16Decoder::encode(&speech_like(RATE, 0.02, 8));
    let mut out = [0i16; 160];
    // 20 packets of speech, a CN packet at -50 dBov, 1 s of silence, speech again.
    let mut sent = Vec::new();
    for i in 0..20u32 {
        sent.push((
            i * 320,
            i as u16,
            96u8,
            speech.clone(),
            u64::from(i) * 320 + 160,
        ));
    }
    sent.push((20 * 320, 20, 13, vec![50], 20 * 320 + 160));
    for i in 70..100u32 {
        sent.push((
            i * 320,
            i as u16 - 49,
            96,
            speech.clone(),
            u64::from(i) * 320 + 160,
        ));
    }
    let mut k = 0;
    let mut cn_frames = 0;
    let mut concealed_before_end = 0;
    for _ in 0..220 {
        let now = n.playout_clock();
        while k < sent.len() && sent[k].4 <= now {
            let (ts, seq, pt, ref p, at) = sent[k];
            n.insert_packet(ts, seq, pt, p, at).unwrap();
            k += 1;
        }
        let info = n.get_audio(&mut out).unwrap();
        if info.speech_type == SpeechType::Concealed && n.playout_clock() < 100 * 320 {
            concealed_before_end += 1;
        }
        if info.speech_type == SpeechType::ComfortNoise {
            cn_frames += 1;
        }
        // Skip the first comfort-noise frame: it may start with the tail of the speech.
        if info.speech_type == SpeechType::ComfortNoise && cn_frames > 1 {
            let level = rms(&out);
            // -50 dBov = 103.6 RMS
            assert!(level > 50.0 && level < 200.0, "cn rms {level}");
        }
    }
    let s = n.stats();
    assert!(cn_frames > 80, "comfort-noise frames {cn_frames}, {s:?}");
    assert_eq!(concealed_before_end, 0, "{s:?}");
    assert_eq!(s.jitter_buffer_emitted_count, 50 * 320);
}

#[test]
fn sixteen_and_forty_eight_khz_frames() {
    for rate in [SampleRate::Hz16000, SampleRate::Hz48000] {
        let hz = rate.hz();
        let sig = speech_like(hz, 1.0, 9);
        let mut n = l16_neteq(rate);
        let r = replay_l16(&mut n, hz, &sig, 20, &clean_trace(50, 20.0, 0.0), 100);
        assert_eq!(r.output.len(), 110 * rate.samples_per_frame());
        assert_eq!(n.stats().jitter_buffer_emitted_count, sig.len() as u64);
    }
}

#[test]
fn stall_beyond_the_target_resumes_on_the_old_timeline() {
    // A steady stream whose path stalls once for 300 ms: the 15 packets sent during the stall
    // all arrive together when it ends. The buffer may hold at most 100 ms (`max_delay_ms`), so
    // the stall cannot become the new target.
    let sig = speech_like(RATE, 4.0, 8);
    let stalled = |trace: &mut Vec<TraceEntry>| {
        for e in trace.iter_mut().filter(|e| (100..115).contains(&e.seq)) {
            e.arrival_ms = Some(2300.0 + 30.0);
        }
    };
    let mut config = NetEqConfig::new(SampleRate::Hz16000);
    config.max_delay_ms = 100;
    let mut n = NetEq::new(config);
    n.register_decoder(96, Box::new(L16Decoder::new(RATE)))
        .unwrap();
    let mut trace = clean_trace(200, 20.0, 30.0);
    stalled(&mut trace);
    let r = replay_l16(&mut n, RATE, &sig, 20, &trace, 300);
    let s = n.stats();
    let first_concealed = r
        .frames
        .iter()
        .position(|f| f.speech_type == SpeechType::Concealed)
        .unwrap();
    let resumed = first_concealed
        + r.frames[first_concealed..]
            .iter()
            .position(|f| f.operation == Operation::Merge)
            .unwrap();
    let concealed_ms = (resumed - first_concealed) * 10;
    assert!(concealed_ms >= 200, "{concealed_ms} ms concealed, {s:?}");
    // The media the concealment stood in for is dropped (whole packets), so the buffer resumes
    // at its target instead of 300 ms above it, and no accelerate has to cut the excess out of
    // the speech that follows.
    let skipped = s.packets_discarded as usize;
    assert!(
        skipped * 20 + 20 >= concealed_ms.min(300) - 100,
        "{skipped} packets skipped after {concealed_ms} ms of concealment, {s:?}"
    );
    let after = &r.frames[resumed];
    // (The buffer level counts the packets' media span: the target plus the packet due and
    // the one arriving.)
    assert!(
        after.buffer_level <= after.target_delay + 2 * 320,
        "{after:?}"
    );
    assert_eq!(s.removed_samples_for_acceleration, 0, "{s:?}");
    assert_eq!(
        s.jitter_buffer_emitted_count,
        (sig.len() - skipped * 320) as u64
    );
}
