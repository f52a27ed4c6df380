//! NACK through tern-rtp-rtcp: real RTP packets (`RtpHeader`), the receive side's NACK
//! generator (`ReceiveStream`), RTCP generic NACK and PLI on the wire, the sender's history
//! (`SendStream::take_for_retransmission`) — around the VP8 engine, over the same lossy,
//! reordering `tern-netsim` link as `end_to_end.rs`, on virtual time. The same run without
//! NACK is the baseline: retransmission must turn most key-frame requests into repairs.
#![cfg(feature = "libvpx")]
#![allow(clippy::disallowed_methods)] // Instant::now() only as the base of virtual time
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use tern_netsim::{End, LinkConfig, Loss, LossyPipe};
use tern_rtp_rtcp::NackConfig;
use tern_rtp_rtcp::SendStreamConfig;
use tern_rtp_rtcp::receive::{Arrival, ReceiveStream};
use tern_rtp_rtcp::send::SendStream;
use tern_rtp_rtcp::wire::rtcp::{Nack, Pli, RtcpPacket};
use tern_rtp_rtcp::wire::rtp::{RtpHeader, RtpPacket};
use tern_vp8_engine::{
    EncoderConfig, I420Image, PacketizerConfig, ReceiverConfig, ReceiverEvent, Vp8Decoder,
    Vp8Encoder, Vp8Packetizer, Vp8Receiver,
};

const W: u32 = 320;
const H: u32 = 240;
const FPS: u64 = 30;
const MEDIA_SSRC: u32 = 0x1234_5678;
const RECEIVER_SSRC: u32 = 0x0bad_cafe;
const RTT: Duration = Duration::from_millis(60);

fn source(i: u64) -> I420Image {
    let mut img = I420Image::colour_bars(W, H, i);
    let (y, _, _) = img.planes_mut();
    for (k, p) in y.iter_mut().enumerate() {
        *p = p.wrapping_add(((k as u64 * 7 + i * 13) % 17) as u8);
    }
    img
}

fn rtcp(packet: RtcpPacket) -> Bytes {
    let mut buf = vec![0u8; packet.buffer_len()];
    let n = packet.emit(&mut buf).unwrap();
    buf.truncate(n);
    Bytes::from(buf)
}

#[derive(Debug, Default)]
struct Outcome {
    sent_frames: u64,
    decoded: u64,
    psnr_sum: f64,
    plis: u64,
    nacked: u64,
    retransmitted: u64,
    keyframes_sent: u64,
}

fn run(nack: bool, seconds: u64) -> Outcome {
    let t0 = Instant::now();
    let link = LinkConfig {
        loss: Loss::Uniform(0.02),
        delay: RTT / 2,
        jitter: Duration::from_millis(8),
        reorder: 0.05,
        ..LinkConfig::default()
    };
    let mut pipe: LossyPipe<Bytes> = LossyPipe::new(11, t0, link);
    let mut enc = Vp8Encoder::new(EncoderConfig::new(W, H, 600)).unwrap();
    let mut pk = Vp8Packetizer::new(PacketizerConfig::default());
    let mut send = SendStream::new(
        SendStreamConfig {
            history_len: 1024,
            ..SendStreamConfig::new(MEDIA_SSRC, 90_000)
        },
        1,
    );
    let nack_cfg = NackConfig {
        enabled: nack,
        ..NackConfig::default()
    };
    let mut recv = ReceiveStream::new(MEDIA_SSRC, 90_000, nack_cfg, t0);
    let mut rx = Vp8Receiver::new(ReceiverConfig::default());
    let mut dec = Vp8Decoder::new(1).unwrap();
    let mut seq = 40_000u16;
    let mut o = Outcome::default();
    for ms in 0..seconds * 1000 {
        let now = t0 + Duration::from_millis(ms);
        // Sender: one frame every 1/30 s, as RTP packets through the send history.
        if ms * FPS / 1000 >= o.sent_frames {
            let i = o.sent_frames;
            o.sent_frames += 1;
            let ts = (i * 90_000 / FPS) as u32;
            for f in enc.encode(&source(i), u64::from(ts)).unwrap() {
                o.keyframes_sent += u64::from(f.key_frame);
                let payloads = pk.packetize(&f.to_send()).unwrap();
                let n = payloads.len();
                for (k, p) in payloads.iter().enumerate() {
                    let header = RtpHeader {
                        marker: k + 1 == n,
                        payload_type: 96,
                        sequence_number: seq,
                        timestamp: ts,
                        ssrc: MEDIA_SSRC,
                        csrcs: Vec::new(),
                        extensions: None,
                    };
                    let mut buf = vec![0u8; header.buffer_len() + p.len()];
                    let len = header.emit(p, 0, &mut buf).unwrap();
                    buf.truncate(len);
                    let packet = Bytes::from(buf);
                    send.on_sent(now, seq, ts, p.len(), packet.clone());
                    pipe.send(now, End::A, packet);
                    seq = seq.wrapping_add(1);
                }
            }
        }
        // Sender: RTCP from the receiver.
        while let Some(d) = pipe.poll_receive(End::A) {
            for p in RtcpPacket::parse_compound(&d).unwrap() {
                match p {
                    RtcpPacket::Nack(n) => {
                        for s in n.sequence_numbers() {
                            o.nacked += 1;
                            if let Some(again) = send.take_for_retransmission(now, s, RTT) {
                                o.retransmitted += 1;
                                pipe.send(now, End::A, again);
                            }
                        }
                    }
                    RtcpPacket::Pli(_) => enc.request_keyframe(),
                    _ => {}
                }
            }
        }
        pipe.handle_timeout(now);
        // Receiver: RTP → statistics and NACK list → VP8 pipeline.
        while let Some(d) = pipe.poll_receive(End::B) {
            let packet = RtpPacket::new_checked(&d[..]).unwrap();
            let h = RtpHeader::parse(&packet);
            let payload = packet.payload();
            if let Arrival::New(_) =
                recv.on_packet(now, h.sequence_number, h.timestamp, payload.len(), false)
            {
                rx.handle_packet(now, h.sequence_number, h.timestamp, h.marker, payload)
                    .unwrap();
            }
        }
        let missing = recv.poll_nack(now, RTT);
        if !missing.is_empty() {
            let n = Nack::from_sequence_numbers(RECEIVER_SSRC, MEDIA_SSRC, &missing);
            pipe.send(now, End::B, rtcp(RtcpPacket::Nack(n)));
        }
        if recv.take_keyframe_needed() {
            rx.handle_nack_overflow(now);
        }
        if rx.poll_timeout().is_some_and(|t| t <= now) {
            rx.handle_timeout(now);
        }
        while let Some(e) = rx.poll_event() {
            match e {
                ReceiverEvent::Frame(f) => {
                    let index = u64::from(f.frame.timestamp) * FPS / 90_000;
                    match dec.decode(&f.frame.data) {
                        Ok(Some(img)) => {
                            o.decoded += 1;
                            o.psnr_sum += img.psnr_y(&source(index)).unwrap();
                        }
                        Ok(None) => {}
                        Err(_) => rx.handle_decoder_error(now),
                    }
                }
                ReceiverEvent::KeyframeRequest(_) => {
                    o.plis += 1;
                    let pli = Pli {
                        sender_ssrc: RECEIVER_SSRC,
                        media_ssrc: MEDIA_SSRC,
                    };
                    pipe.send(now, End::B, rtcp(RtcpPacket::Pli(pli)));
                }
                _ => {}
            }
        }
    }
    o
}

#[test]
fn nack_through_rtp_rtcp_repairs_losses_that_otherwise_cost_key_frames() {
    let without = run(false, 10);
    let with = run(true, 10);
    for (name, o) in [("without NACK", &without), ("with NACK", &with)] {
        println!(
            "{name}: sent {} decoded {} mean PSNR-Y {:.1} dB, PLIs {}, key frames {}, NACKed {}, retransmitted {}",
            o.sent_frames,
            o.decoded,
            o.psnr_sum / o.decoded.max(1) as f64,
            o.plis,
            o.keyframes_sent,
            o.nacked,
            o.retransmitted
        );
    }
    assert_eq!(without.nacked, 0);
    assert!(without.plis >= 3, "the baseline must actually lose frames");
    // Retransmission repairs nearly everything: ≥ 95 % of frames decode, far fewer key frames.
    assert!(with.retransmitted > 0);
    assert!(with.decoded * 100 >= with.sent_frames * 95, "{with:?}");
    assert!(with.decoded > without.decoded);
    assert!(
        with.plis * 3 <= without.plis,
        "{} vs {}",
        with.plis,
        without.plis
    );
    assert!(with.psnr_sum / with.decoded as f64 > 32.0);
}
