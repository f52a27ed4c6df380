//! Whole endpoints. Deterministic mode: a seeded client and server with fixed certificates
//! handshake with each other while the input decides, per datagram, to pass, drop, duplicate,
//! corrupt, truncate or replace it, or to let time pass — so the fuzzer reaches every state
//! without forging signatures. Invariant: if both sides report Connected, their keys agree.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_dtls::{Certificate, DtlsConfig, DtlsEndpoint, DtlsRole, HashAlgorithm};

fn certs() -> &'static (Certificate, Certificate, Instant) {
    static C: OnceLock<(Certificate, Certificate, Instant)> = OnceLock::new();
    C.get_or_init(|| {
        let a = Certificate::generate_from_seed([7; 32]).unwrap();
        let b = Certificate::generate_from_seed([8; 32]).unwrap();
        (a, b, Instant::now())
    })
}

struct Ops<'a>(&'a [u8]);

impl Ops<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

fuzz_target!(|data: &[u8]| {
    let (ca, cb, start) = certs();
    let mut ops = Ops(data);
    let flags = ops.byte().unwrap_or(0);
    let mut c = DtlsConfig::new(DtlsRole::Client, ca.clone());
    c.remote_fingerprints = vec![cb.fingerprint(HashAlgorithm::Sha256)];
    c.rng_seed = Some([1; 32]);
    let mut s = DtlsConfig::new(DtlsRole::Server, cb.clone());
    s.remote_fingerprints = vec![ca.fingerprint(HashAlgorithm::Sha256)];
    s.rng_seed = Some([2; 32]);
    s.cookie_exchange = flags & 1 != 0;
    if flags & 2 != 0 {
        c.mtu = 256;
        s.mtu = 256;
    }
    c.cipher_suites.rotate_left(usize::from(flags >> 2) % 3);
    if flags & 0x40 != 0 {
        // DTLS 1.3 on both sides (bit 0x20 then keeps the server on 1.2 only).
        c.dtls13 = true;
        s.dtls13 = flags & 0x20 == 0;
    }
    let mut now = *start;
    let mut client = DtlsEndpoint::new(c, now).unwrap();
    let mut server = DtlsEndpoint::new(s, now).unwrap();
    if flags & 0x80 != 0 {
        // Raw mode: the rest is length-prefixed datagrams for a lone server.
        while let Some(n) = ops.byte() {
            let d = ops.take(usize::from(n) * 8).to_vec();
            let _ = server.handle_receive(now, &d);
            while server.poll_transmit().is_some() {}
            while server.poll_event().is_some() {}
        }
        return;
    }
    for _ in 0..64 {
        let mut queue: Vec<(bool, Vec<u8>)> = Vec::new();
        while let Some(d) = client.poll_transmit() {
            queue.push((true, d));
        }
        while let Some(d) = server.poll_transmit() {
            queue.push((false, d));
        }
        while client.poll_event().is_some() {}
        while server.poll_event().is_some() {}
        if queue.is_empty() {
            match ops.byte() {
                Some(b) => now += Duration::from_millis(u64::from(b) * 250),
                None => break,
            }
            client.handle_timeout(now);
            server.handle_timeout(now);
            continue;
        }
        for (to_server, mut d) in queue {
            let copies = match ops.byte().unwrap_or(0) % 8 {
                0..=2 => 1,
                3 => 0,
                4 => 2,
                5 => {
                    let pos = usize::from(ops.byte().unwrap_or(0));
                    let x = ops.byte().unwrap_or(1);
                    let at = pos % d.len().max(1);
                    if let Some(b) = d.get_mut(at) {
                        *b ^= x;
                    }
                    1
                }
                6 => {
                    let n = usize::from(ops.byte().unwrap_or(0)) * 4;
                    d.truncate(n);
                    1
                }
                _ => {
                    let n = usize::from(ops.byte().unwrap_or(0));
                    d = ops.take(n * 4).to_vec();
                    1
                }
            };
            for _ in 0..copies {
                let ep = if to_server { &mut server } else { &mut client };
                let _ = ep.handle_receive(now, &d);
            }
        }
    }
    if client.is_connected() && server.is_connected() {
        let a = client.export_keying_material("EXTRACTOR-dtls_srtp", 60).unwrap();
        let b = server.export_keying_material("EXTRACTOR-dtls_srtp", 60).unwrap();
        assert_eq!(a, b);
    }
});
