//! A hand-driven SCTP peer built from the wire codecs, for feeding crafted packets to an
//! association under test.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use tern_sctp::wire::chunk::{self, chunk_type, data_flags};
use tern_sctp::wire::param::{self, LocalCapabilities};
use tern_sctp::wire::{ChecksumPolicy, Chunk, DataChunk, Init, Packet, PacketWriter};
use tern_sctp::{Association, SctpConfig, SctpEvent, StreamParity};

pub struct RawPeer {
    pub now: Instant,
    pub assoc: Association,
    pub tag: u32,
    pub peer_tag: u32,
    pub next_tsn: u32,
    pub events: Vec<SctpEvent>,
    pub sent_by_assoc: Vec<Vec<u8>>,
}

pub fn packet(vtag: u32, build: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    PacketWriter::start(&mut out, 5000, 5000, vtag);
    build(&mut out);
    PacketWriter::finish(&mut out, false);
    out
}

pub fn init_packet(tag: u32, tsn: u32, os: u16, mis: u16, extra_params: &[u8]) -> Vec<u8> {
    let mut params = Vec::new();
    param::encode_capabilities(
        &mut params,
        LocalCapabilities {
            interleaving: false,
            zero_checksum: false,
        },
    );
    params.extend_from_slice(extra_params);
    packet(0, |out| {
        chunk::emit_init(
            out,
            false,
            &Init {
                initiate_tag: tag,
                a_rwnd: 1 << 20,
                outbound_streams: os,
                inbound_streams: mis,
                initial_tsn: tsn,
                params: &params,
                params_at: 0,
            },
        )
    })
}

/// The chunks (type, raw packet) of every packet the association sent.
pub fn chunk_types(p: &[u8]) -> Vec<u8> {
    let pkt = Packet::parse(p, ChecksumPolicy::AcceptZero).unwrap();
    pkt.chunks().map(|c| c.unwrap().chunk_type()).collect()
}

pub fn config(parity: StreamParity) -> SctpConfig {
    SctpConfig {
        seed: Some([9; 32]),
        stream_parity: parity,
        zero_checksum: false,
        interleaving: false,
        ..SctpConfig::default()
    }
}

impl RawPeer {
    /// Handshake by hand: we are the DTLS client (even), the association is odd.
    pub fn connect() -> Self {
        Self::connect_with(config(StreamParity::Odd))
    }

    pub fn connect_with(cfg: SctpConfig) -> Self {
        #[allow(clippy::disallowed_methods)] // virtual clock base
        let now = Instant::now();
        let mut assoc = Association::new(cfg, now);
        let tag = 0x1234_5678;
        let tsn = 1000;
        assoc
            .handle_receive(now, &init_packet(tag, tsn, 1024, 1024, &[]))
            .unwrap();
        let ack = assoc.poll_transmit().unwrap();
        let pkt = Packet::parse(&ack, ChecksumPolicy::Required).unwrap();
        assert_eq!(pkt.header.verification_tag, tag);
        let Some(Ok(Chunk::InitAck(init))) = pkt.chunks().next() else {
            panic!("no INIT-ACK")
        };
        let p = param::InitParams::parse(init.params);
        let cookie = p.cookie.unwrap().to_vec();
        let peer_tag = init.initiate_tag;
        assoc
            .handle_receive(
                now,
                &packet(peer_tag, |o| {
                    chunk::emit_raw(o, chunk_type::COOKIE_ECHO, 0, &cookie)
                }),
            )
            .unwrap();
        let cack = assoc.poll_transmit().unwrap();
        assert_eq!(chunk_types(&cack), vec![chunk_type::COOKIE_ACK]);
        let mut me = RawPeer {
            now,
            assoc,
            tag,
            peer_tag,
            next_tsn: tsn,
            events: Vec::new(),
            sent_by_assoc: Vec::new(),
        };
        me.pump();
        assert!(me.events.contains(&SctpEvent::Connected));
        me
    }

    pub fn pump(&mut self) {
        while let Some(p) = self.assoc.poll_transmit() {
            self.sent_by_assoc.push(p);
        }
        while let Some(e) = self.assoc.poll_event() {
            self.events.push(e);
        }
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.assoc.handle_timeout(self.now);
        self.pump();
    }

    pub fn send(&mut self, p: &[u8]) -> Result<(), tern_sctp::SctpError> {
        let r = self.assoc.handle_receive(self.now, p);
        self.pump();
        r
    }

    /// A DATA chunk with the next TSN.
    pub fn data_chunk(
        &mut self,
        out: &mut Vec<u8>,
        sid: u16,
        ssn: u16,
        ppid: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let tsn = self.next_tsn;
        self.next_tsn = tsn.wrapping_add(1);
        chunk::emit_data(
            out,
            &DataChunk {
                interleaved: false,
                flags,
                tsn,
                stream: sid,
                ssn,
                mid: u32::from(ssn),
                fsn: 0,
                ppid,
                payload,
            },
        );
    }

    /// One whole message in one DATA chunk, in its own packet.
    pub fn message(
        &mut self,
        sid: u16,
        ssn: u16,
        ppid: u32,
        payload: &[u8],
    ) -> Result<(), tern_sctp::SctpError> {
        let mut body = Vec::new();
        self.data_chunk(
            &mut body,
            sid,
            ssn,
            ppid,
            data_flags::B | data_flags::E,
            payload,
        );
        let p = packet(self.peer_tag, |o| o.extend_from_slice(&body));
        self.send(&p)
    }

    /// All chunk types the association sent since the last call.
    pub fn take_sent_types(&mut self) -> Vec<u8> {
        self.sent_by_assoc
            .drain(..)
            .flat_map(|p| chunk_types(&p))
            .collect()
    }

    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        self.sent_by_assoc.drain(..).collect()
    }
}
