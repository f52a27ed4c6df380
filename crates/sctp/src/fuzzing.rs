//! Entry points for the fuzz targets (`fuzz/fuzz_targets/sctp_*.rs`). Not a stable API.

use std::time::{Duration, Instant};

use crate::dcep::DcepMessage;
use crate::wire::chunk::chunk_type;
use crate::wire::param::{self, InitParams, LocalCapabilities};
use crate::wire::{ChecksumPolicy, Chunk, Init, Packet, PacketWriter, chunk, reconfig};
use crate::{
    Association, ChannelId, ChannelInit, MessageKind, Reliability, SctpConfig, StreamParity,
};

/// Parse `data` as a packet every way the crate can, walking every nested structure.
pub fn fuzz_packet(data: &[u8]) {
    for policy in [ChecksumPolicy::Required, ChecksumPolicy::AcceptZero] {
        let Ok(p) = Packet::parse(data, policy) else {
            continue;
        };
        for c in p.chunks().flatten() {
            match c {
                Chunk::Init(i) | Chunk::InitAck(i) => {
                    let _ = InitParams::parse(i.params);
                }
                Chunk::Sack(s) => {
                    let _ = s.gap_blocks().count() + s.duplicate_tsns().count();
                }
                Chunk::ForwardTsn(f) => {
                    let _ = f.entries().count();
                }
                Chunk::ReConfig { params } => {
                    let _ = reconfig::params(params).count();
                }
                Chunk::Abort { causes, .. } | Chunk::Error { causes } => {
                    let _ = param::iter_tlvs(causes).count();
                }
                Chunk::Data(d) => {
                    let _ = DcepMessage::parse(d.payload);
                }
                _ => {}
            }
        }
    }
    // Packets that pass the checksum are rare; also walk the chunk area directly.
    for c in crate::wire::ChunkIter::new(data, 0).flatten() {
        if let Chunk::Init(i) = c {
            let _ = InitParams::parse(i.params);
        }
    }
}

fn packet(vtag: u32, build: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    PacketWriter::start(&mut out, 5000, 5000, vtag);
    build(&mut out);
    PacketWriter::finish(&mut out, false);
    out
}

/// Bring an association to ESTABLISHED by hand, then feed it `data` as a sequence of
/// packets and commands. Each record: `[len_hi, len_lo, flags, arg, payload…]`.
/// Flags: bit 0 overwrites the verification tag with the right one and zeroes the checksum
/// (accepted under RFC 9653 once established), bit 1 advances time by `arg` × 10 ms,
/// bit 2 opens a channel, bit 3 sends `arg` bytes on channel `arg % 4`, bit 4 closes a
/// channel, bit 5 shuts down.
pub fn fuzz_association(data: &[u8]) {
    #[allow(clippy::disallowed_methods)] // a base for virtual time only
    let mut now = Instant::now();
    let config = SctpConfig {
        seed: Some([7; 32]),
        stream_parity: StreamParity::Odd,
        receive_window: 128 * 1024,
        max_message_size: 64 * 1024,
        ..SctpConfig::default()
    };
    let mut a = Association::new(config, now);
    let mut params = Vec::new();
    param::encode_capabilities(
        &mut params,
        LocalCapabilities {
            interleaving: data.first().is_some_and(|b| b & 1 == 1),
            zero_checksum: true,
        },
    );
    let init = packet(0, |o| {
        chunk::emit_init(
            o,
            false,
            &Init {
                initiate_tag: 0x0102_0304,
                a_rwnd: 65_536,
                outbound_streams: 16,
                inbound_streams: 16,
                initial_tsn: 100,
                params: &params,
                params_at: 0,
            },
        )
    });
    let _ = a.handle_receive(now, &init);
    let Some(ack) = a.poll_transmit() else { return };
    let Ok(p) = Packet::parse(&ack, ChecksumPolicy::Required) else {
        return;
    };
    let Some(Ok(Chunk::InitAck(i))) = p.chunks().next() else {
        return;
    };
    let Some(cookie) = InitParams::parse(i.params).cookie else {
        return;
    };
    let tag = i.initiate_tag;
    let echo = packet(tag, |o| {
        chunk::emit_raw(o, chunk_type::COOKIE_ECHO, 0, cookie)
    });
    let _ = a.handle_receive(now, &echo);
    let mut rest = data;
    let mut opened = 0u16;
    while let [hi, lo, flags, arg, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (body, next) = tail.split_at(len);
        rest = next;
        if flags & 2 != 0 {
            now += Duration::from_millis(u64::from(*arg) * 10);
            a.handle_timeout(now);
        }
        if flags & 4 != 0 {
            let init = ChannelInit {
                ordered: arg & 1 == 0,
                reliability: match arg % 3 {
                    0 => Reliability::Reliable,
                    1 => Reliability::MaxRetransmits(u16::from(*arg % 4)),
                    _ => Reliability::MaxPacketLifetime(Duration::from_millis(u64::from(*arg))),
                },
                ..ChannelInit::default()
            };
            if a.open_channel(now, init).is_ok() {
                opened += 1;
            }
        }
        if flags & 8 != 0 && opened > 0 {
            let id = ChannelId(u16::from(*arg % 4) * 2 + 1);
            let n = body.len().min(usize::from(*arg) * 64);
            let _ = a.send(now, id, body.get(..n).unwrap_or(&[]), MessageKind::Binary);
        }
        if flags & 16 != 0 {
            let _ = a.close_channel(now, ChannelId(u16::from(*arg % 8)));
        }
        if flags & 32 != 0 {
            a.shutdown(now);
        }
        let mut pkt = body.to_vec();
        if flags & 1 != 0
            && let Some(h) = pkt.get_mut(4..12)
        {
            let mut header = [0u8; 8];
            header[..4].copy_from_slice(&tag.to_be_bytes());
            h.copy_from_slice(&header);
        }
        let _ = a.handle_receive(now, &pkt);
        let mut budget = 10_000;
        while a.poll_transmit().is_some() && budget > 0 {
            budget -= 1;
        }
        while a.poll_event().is_some() {}
        let _ = a.poll_timeout();
    }
}
