//! Opus through NetEq (feature `opus`): round trip, and in-band FEC beating plain PLC.
#![cfg(feature = "opus")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use tern_neteq::{DecodeError, Decoder, NetEq, NetEqConfig, OpusDecoder, PayloadKind, SampleRate};

/// Encodes 48 kHz mono in 20 ms Opus packets with in-band FEC on.
fn encode(signal: &[i16], fec: bool) -> Vec<Vec<u8>> {
    use audiopus::coder::Encoder;
    let mut enc = Encoder::new(
        audiopus::SampleRate::Hz48000,
        audiopus::Channels::Mono,
        audiopus::Application::Voip,
    )
    .unwrap();
    enc.set_bitrate(audiopus::Bitrate::BitsPerSecond(32_000))
        .unwrap();
    enc.set_inband_fec(fec).unwrap();
    enc.set_packet_loss_perc(if fec { 20 } else { 0 }).unwrap();
    signal
        .chunks_exact(960)
        .map(|f| {
            let mut buf = vec![0u8; 1500];
            let n = enc.encode(f, &mut buf).unwrap();
            buf.truncate(n);
            buf
        })
        .collect()
}

fn decode_clean(packets: &[Vec<u8>]) -> Vec<i16> {
    let mut d = OpusDecoder::new(48_000).unwrap();
    let mut out = Vec::new();
    for p in packets {
        d.decode(p, &mut out).unwrap();
    }
    out
}

/// Opus with its FEC hidden, for comparison.
struct NoFec(OpusDecoder);

impl Decoder for NoFec {
    fn sample_rate(&self) -> u32 {
        self.0.sample_rate()
    }
    fn clock_rate(&self) -> u32 {
        self.0.clock_rate()
    }
    fn payload_kind(&self, p: &[u8]) -> PayloadKind {
        self.0.payload_kind(p)
    }
    fn packet_duration(&self, p: &[u8]) -> Option<usize> {
        self.0.packet_duration(p)
    }
    fn decode(&mut self, p: &[u8], out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        self.0.decode(p, out)
    }
    fn conceal(&mut self, n: usize, out: &mut Vec<i16>) -> Result<usize, DecodeError> {
        self.0.conceal(n, out)
    }
    fn has_plc(&self) -> bool {
        true
    }
    fn reset(&mut self) {
        self.0.reset();
    }
}

fn neteq(decoder: Box<dyn Decoder>) -> NetEq {
    let mut c = NetEqConfig::new(SampleRate::Hz48000);
    c.enable_time_stretch = false;
    let mut n = NetEq::new(c);
    n.register_decoder(111, decoder).unwrap();
    n
}

#[test]
fn opus_round_trip_is_the_plain_decode_delayed() {
    let sig = speech_like(48_000, 2.0, 11);
    let packets = encode(&sig, true);
    let reference = decode_clean(&packets);
    let mut n = neteq(Box::new(OpusDecoder::new(48_000).unwrap()));
    let r = replay(
        &mut n,
        48_000,
        &packets,
        960,
        111,
        &clean_trace(packets.len(), 20.0, 5.0),
        220,
    );
    let s = n.stats();
    assert_eq!(
        s.jitter_buffer_emitted_count,
        reference.len() as u64,
        "{s:?}"
    );
    let lag = best_alignment(&reference, &r.output, 4800, 24_000..40_000);
    assert_eq!(&r.output[lag..lag + 48_000], &reference[..48_000]);
    // Opus itself is faithful to the speech-like input (sanity of the encoder settings).
    let codec_lag = best_alignment(&sig, &reference, 960, 24_000..40_000);
    let snr = segmental_snr(
        &sig[..90_000],
        &reference[codec_lag..codec_lag + 90_000],
        960,
    );
    assert!(snr > 5.0, "opus segmental SNR {snr}");
}

#[test]
fn opus_fec_beats_plain_plc_on_lost_packets() {
    let sig = speech_like(48_000, 6.0, 12);
    let packets = encode(&sig, true);
    let reference = decode_clean(&packets);
    // Lose every 7th packet (about 14 %), isolated losses so FEC can recover each.
    let mut trace = clean_trace(packets.len(), 20.0, 30.0);
    for (i, e) in trace.iter_mut().enumerate() {
        if i % 7 == 3 {
            e.arrival_ms = None;
        }
    }
    let frames = packets.len() * 2 + 20;
    let mut with_fec = neteq(Box::new(OpusDecoder::new(48_000).unwrap()));
    let a = replay(&mut with_fec, 48_000, &packets, 960, 111, &trace, frames);
    let mut plc_only = neteq(Box::new(NoFec(OpusDecoder::new(48_000).unwrap())));
    let b = replay(&mut plc_only, 48_000, &packets, 960, 111, &trace, frames);
    assert!(
        with_fec.stats().fec_recovered_packets > 30,
        "{:?}",
        with_fec.stats()
    );
    assert_eq!(plc_only.stats().fec_recovered_packets, 0);

    let score = |out: &[i16]| {
        let lag = best_alignment(&reference, out, 9600, 4800..20_000);
        segmental_snr(
            &reference[..reference.len() - 9600],
            &out[lag..lag + reference.len() - 9600],
            960,
        )
    };
    let (fec, plc) = (score(&a.output), score(&b.output));
    eprintln!("segmental SNR vs clean decode: FEC {fec:.2} dB, PLC only {plc:.2} dB");
    assert!(fec > plc + 1.0, "FEC {fec:.2} dB vs PLC {plc:.2} dB");
}

#[test]
fn opus_lbrr_flag_detection() {
    let sig = speech_like(48_000, 1.0, 13);
    let with = encode(&sig, true);
    let without = encode(&sig, false);
    let d = OpusDecoder::new(48_000).unwrap();
    let fec_count = with.iter().filter(|p| d.has_fec(p)).count();
    let none_count = without.iter().filter(|p| d.has_fec(p)).count();
    assert!(fec_count > with.len() / 2, "{fec_count} of {}", with.len());
    assert_eq!(none_count, 0);
}
