//! Property tests: any corruption of any datagram of a real handshake, fed to either side at any
//! point, never panics, never reports Connected with mismatched keys, and a rejected datagram
//! leaves a handshake that can still complete.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // one real Instant as the origin of virtual time

mod common;

use common::*;
use proptest::prelude::*;
use tern_dtls::DtlsEndpoint;

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, xor: u8 },
    Truncate { to: usize },
    Splice { at: usize, bytes: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
        any::<usize>().prop_map(|to| Mutation::Truncate { to }),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 1..40)
        )
            .prop_map(|(at, bytes)| Mutation::Splice { at, bytes }),
    ]
}

fn apply(d: &[u8], m: &Mutation) -> Vec<u8> {
    let mut d = d.to_vec();
    match m {
        Mutation::Flip { at, xor } => {
            let n = d.len();
            d[at % n] ^= xor;
        }
        Mutation::Truncate { to } => d.truncate(to % d.len()),
        Mutation::Splice { at, bytes } => {
            let at = at % d.len();
            d.splice(at..at, bytes.iter().copied());
        }
    }
    d
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_datagram_then_genuine_handshake(which in 0usize..16, m in mutation(), seed in 0u8..4) {
        let now = std::time::Instant::now();
        let (c, s) = configs(100 + seed);
        let mut client = DtlsEndpoint::new(c, now).unwrap();
        let mut server = DtlsEndpoint::new(s, now).unwrap();
        // Run the handshake, injecting a corrupted copy of the `which`-th datagram before the
        // genuine one.
        let mut n = 0usize;
        for _ in 0..20 {
            let from_client = drain(&mut client);
            let from_server = drain(&mut server);
            if from_client.is_empty() && from_server.is_empty() {
                break;
            }
            for d in from_client {
                if n == which {
                    let _ = server.handle_receive(now, &apply(&d, &m));
                }
                n += 1;
                let _ = server.handle_receive(now, &d);
            }
            for d in from_server {
                if n == which {
                    let _ = client.handle_receive(now, &apply(&d, &m));
                }
                n += 1;
                let _ = client.handle_receive(now, &d);
            }
        }
        // A corrupted copy may kill the handshake (it can carry a well-formed fatal message),
        // but if both sides connected, their keys agree.
        if client.is_connected() && server.is_connected() {
            prop_assert_eq!(
                client.export_keying_material("EXTRACTOR-dtls_srtp", 60).unwrap(),
                server.export_keying_material("EXTRACTOR-dtls_srtp", 60).unwrap()
            );
        }
        if which >= n {
            prop_assert!(client.is_connected() && server.is_connected());
        }
    }

    #[test]
    fn random_datagrams_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1500), seed in 0u8..4) {
        let now = std::time::Instant::now();
        let (c, s) = configs(110 + seed);
        let mut client = DtlsEndpoint::new(c, now).unwrap();
        let mut server = DtlsEndpoint::new(s, now).unwrap();
        let _ = client.handle_receive(now, &data);
        let _ = server.handle_receive(now, &data);
        // Also with a valid record header in front, so the body parsers run.
        let mut framed = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9];
        framed.extend_from_slice(&(data.len() as u16).to_be_bytes());
        framed.extend_from_slice(&data);
        let _ = client.handle_receive(now, &framed);
        let _ = server.handle_receive(now, &framed);
        prop_assert!(!client.is_connected() && !server.is_connected());
    }
}
