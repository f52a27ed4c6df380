//! Property tests: `parse(emit(x)) == x` for the TURN attributes and ChannelData, stream
//! reframing under any chunking, and policy decisions that do not depend on the IPv6 spelling
//! of an IPv4 address.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use tern_stun::{Attribute, TransactionId};
use tern_turn::wire::attributes::{
    AddressErrorCode, AddressFamily, ChannelNumber, Data, EvenPort, Icmp, Lifetime,
    RequestedTransport, XorPeerAddress, XorRelayedAddress,
};
use tern_turn::{ChannelData, PeerPolicy, StreamFramer, canonical_ip};

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<u32>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::new(Ipv4Addr::from(ip).into(), p)),
        (any::<u128>(), any::<u16>())
            .prop_map(|(ip, p)| SocketAddr::new(Ipv6Addr::from(ip).into(), p)),
    ]
}

fn round_trip<'a, A: Attribute<'a> + PartialEq + std::fmt::Debug>(
    a: &A,
    tid: &TransactionId,
    buf: &'a mut Vec<u8>,
) {
    a.encode(tid, buf).unwrap();
    assert_eq!(&A::decode(buf, tid).unwrap(), a);
}

proptest! {
    #[test]
    fn attributes_round_trip(
        tid in any::<[u8; 12]>(),
        peer in addr(),
        relayed in addr(),
        channel in any::<u16>(),
        lifetime in any::<u32>(),
        data in proptest::collection::vec(any::<u8>(), 0..300),
        reserve in any::<bool>(),
        protocol in any::<u8>(),
        code in 300u16..700,
        reason in "[a-zA-Z ]{0,40}",
        icmp in any::<(u8, u8, u32)>(),
    ) {
        let tid = TransactionId(tid);
        round_trip(&XorPeerAddress(peer), &tid, &mut Vec::new());
        round_trip(&XorRelayedAddress(relayed), &tid, &mut Vec::new());
        round_trip(&ChannelNumber(channel), &tid, &mut Vec::new());
        round_trip(&Lifetime(lifetime), &tid, &mut Vec::new());
        round_trip(&Data(&data), &tid, &mut Vec::new());
        round_trip(&EvenPort { reserve_next: reserve }, &tid, &mut Vec::new());
        round_trip(&RequestedTransport(protocol), &tid, &mut Vec::new());
        round_trip(&AddressErrorCode { family: AddressFamily::V6, code, reason: &reason }, &tid, &mut Vec::new());
        round_trip(&Icmp { icmp_type: icmp.0, icmp_code: icmp.1, error_data: icmp.2 }, &tid, &mut Vec::new());
    }

    #[test]
    fn channel_data_round_trips(channel in 0x4000u16..=0x4FFF, data in proptest::collection::vec(any::<u8>(), 0..2000), padded in any::<bool>()) {
        let cd = ChannelData { channel, data: &data };
        let mut out = Vec::new();
        cd.encode(padded, &mut out).unwrap();
        prop_assert_eq!(out.len(), cd.encoded_len(padded));
        if padded {
            prop_assert_eq!(out.len() % 4, 0);
        }
        prop_assert_eq!(ChannelData::decode(&out).unwrap(), cd);
    }

    #[test]
    fn channel_data_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        if let Ok(cd) = ChannelData::decode(&bytes) {
            prop_assert!(cd.data.len() + 4 <= bytes.len());
        }
    }

    #[test]
    fn reframing_is_independent_of_chunking(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..70), 1..20),
        chunk in 1usize..50,
    ) {
        let mut stream = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            ChannelData { channel: 0x4000 + i as u16, data: p }.encode(true, &mut stream).unwrap();
        }
        let mut framer = StreamFramer::default();
        let mut frames = Vec::new();
        for piece in stream.chunks(chunk) {
            framer.push(piece).unwrap();
            while let Some(f) = framer.next_frame().unwrap() {
                frames.push(f);
            }
        }
        prop_assert_eq!(frames.len(), payloads.len());
        for (f, p) in frames.iter().zip(&payloads) {
            prop_assert_eq!(ChannelData::decode(f).unwrap().data, p.as_slice());
        }
    }

    #[test]
    fn policy_ignores_the_ipv6_spelling_of_ipv4(v4 in any::<u32>()) {
        let ip = Ipv4Addr::from(v4);
        let p = PeerPolicy::default();
        let verdict = p.check(IpAddr::V4(ip));
        let mapped = IpAddr::V6(ip.to_ipv6_mapped());
        let nat64 = IpAddr::V6(Ipv6Addr::from((0x0064_ff9b_u128 << 96) | u128::from(v4)));
        let sixto4 = IpAddr::V6(Ipv6Addr::from((0x2002_u128 << 112) | (u128::from(v4) << 80)));
        for form in [mapped, nat64, sixto4] {
            prop_assert_eq!(canonical_ip(form), IpAddr::V4(ip));
            prop_assert_eq!(p.check(form), verdict);
        }
        prop_assert_eq!(canonical_ip(canonical_ip(mapped)), IpAddr::V4(ip));
    }
}
