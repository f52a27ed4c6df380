#![no_main]
//! Drive an ICE agent with a sequence of datagrams, timeouts, candidates and well-signed
//! checks/responses built from the input (so the fuzzer reaches authenticated states).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_ice::{Candidate, IceAgent, IceConfig, IceCredentials};
use tern_stun::attributes::*;
use tern_stun::{IntegrityKey, MessageEncoder, MessageType, TransactionId};

fuzz_target!(|data: &[u8]| {
    let ours = IceCredentials { ufrag: "locl".into(), pwd: "local-password-0123456789".into() };
    let theirs = IceCredentials { ufrag: "remt".into(), pwd: "remote-password-0123456789".into() };
    let t0 = Instant::now();
    let mut now = t0;
    let controlling = data.first().is_some_and(|b| b & 1 == 1);
    let mut cfg = IceConfig::with_credentials(controlling, ours.clone(), 42, 7);
    cfg.ice_lite = data.first().is_some_and(|b| b & 2 == 2);
    let mut agent = IceAgent::new(cfg, now);
    let local: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    agent.add_local_host_candidate(local);
    agent.set_remote_credentials(theirs.ufrag.clone(), theirs.pwd.clone());
    let peers: [SocketAddr; 4] = [
        "10.0.0.2:6000".parse().unwrap(),
        "10.0.0.3:6001".parse().unwrap(),
        "[::1]:7".parse().unwrap(),
        "224.0.0.1:9".parse().unwrap(),
    ];
    let mut sent: Vec<(SocketAddr, [u8; 12])> = Vec::new();
    let mut it = data.iter().skip(1).copied();
    while let Some(op) = it.next() {
        let arg = it.next().unwrap_or(0);
        let peer = peers[usize::from(arg) % peers.len()];
        match op % 6 {
            0 => {
                let len = usize::from(it.next().unwrap_or(0));
                let bytes: Vec<u8> = it.by_ref().take(len).collect();
                let _ = agent.accepts(&bytes);
                let _ = agent.handle_receive(now, local, peer, &bytes);
            }
            1 => {
                now += Duration::from_millis(u64::from(arg) * 37);
                agent.handle_timeout(now);
            }
            2 => {
                let mut c = Candidate::host(peer, 1);
                c.priority = u32::from(arg) << 16;
                let _ = agent.add_remote_candidate(now, c);
            }
            3 => {
                // A check signed with our password, as the peer would send.
                let mut buf = Vec::new();
                let tid = TransactionId([arg; 12]);
                let mut e = MessageEncoder::new(&mut buf, MessageType::BINDING_REQUEST, tid);
                let user = format!("{}:{}", ours.ufrag, theirs.ufrag);
                e.add(&Username(&user)).unwrap();
                e.add(&Priority(u32::from(arg) * 1000)).unwrap();
                if arg & 1 == 1 {
                    e.add(&IceControlling(u64::from(arg))).unwrap();
                } else {
                    e.add(&IceControlled(u64::from(arg))).unwrap();
                }
                if arg & 2 == 2 {
                    e.add(&UseCandidate).unwrap();
                }
                e.add_message_integrity(&IntegrityKey::short_term(&ours.pwd)).unwrap();
                e.add_fingerprint().unwrap();
                let _ = agent.handle_receive(now, local, peer, &buf);
            }
            4 => {
                // Answer one of the agent's requests (success, or 487 / 400), signed by the peer.
                if sent.is_empty() {
                    continue;
                }
                let (dest, tid) = sent[usize::from(arg) % sent.len()];
                let mut buf = Vec::new();
                let class = if arg & 3 == 3 { MessageType::BINDING_ERROR } else { MessageType::BINDING_SUCCESS };
                let mut e = MessageEncoder::new(&mut buf, class, TransactionId(tid));
                if arg & 3 == 3 {
                    e.add(&ErrorCode { code: if arg & 4 == 4 { 487 } else { 400 }, reason: "" }).unwrap();
                } else {
                    e.add(&XorMappedAddress(local)).unwrap();
                }
                e.add_message_integrity(&IntegrityKey::short_term(&theirs.pwd)).unwrap();
                e.add_fingerprint().unwrap();
                let from = if arg & 8 == 8 { peer } else { dest };
                let _ = agent.handle_receive(now, local, from, &buf);
            }
            _ => {
                if arg & 1 == 1 {
                    agent.end_of_remote_candidates();
                } else {
                    agent.restart(now, IceCredentials { ufrag: "locl".into(), pwd: ours.pwd.clone() });
                    agent.set_remote_credentials(theirs.ufrag.clone(), theirs.pwd.clone());
                }
            }
        }
        while let Some(t) = agent.poll_transmit() {
            assert_eq!(t.source, local);
            if t.data.len() >= 20 && t.data[0] == 0 && t.data[1] == 1 && sent.len() < 64 {
                sent.push((t.destination, t.data[8..20].try_into().unwrap()));
            }
        }
        while agent.poll_event().is_some() {}
        let _ = agent.poll_timeout();
        if let Some((l, r)) = agent.selected_pair() {
            assert_eq!(l, local);
            // Nothing is selected (so no media flows) before our own check on it succeeded.
            assert!(agent.is_validated_remote(l, r));
        }
        assert!(agent.pairs().len() <= 100);
    }
});
