#![no_main]
//! An ICE agent with a relayed candidate on tern-turn's server core: the input injects raw
//! datagrams "from the server", peer datagrams and well-signed checks that the server relays
//! to the agent (Data indications or ChannelData), timeouts, candidates, data and restarts.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tern_ice::{Candidate, IceAgent, IceConfig, IceCredentials, IceEvent, TurnServer};
use tern_stun::attributes::*;
use tern_stun::{IntegrityKey, MessageEncoder, MessageType, TransactionId};
use tern_turn::{Server, ServerConfig, ServerEvent, Transport};

fuzz_target!(|data: &[u8]| {
    let ours = IceCredentials { ufrag: "locl".into(), pwd: "local-password-0123456789".into() };
    let theirs = IceCredentials { ufrag: "remt".into(), pwd: "remote-password-0123456789".into() };
    let t0 = Instant::now();
    let mut now = t0;
    let local: SocketAddr = "192.0.2.1:5000".parse().unwrap();
    let turn: SocketAddr = "198.51.100.2:3478".parse().unwrap();
    let mut cfg = IceConfig::with_credentials(data.first().is_some_and(|b| b & 1 == 1), ours.clone(), 42, 7);
    cfg.turn_servers = vec![TurnServer::new(turn, "u", "p")];
    let mut agent = IceAgent::new(cfg, now);
    let mut sc = ServerConfig::new("r", turn.ip()).with_user("u", "p");
    sc.seed = Some([1; 32]);
    let mut server = Server::new(sc, now, 1_700_000_000);
    agent.add_local_host_candidate(local);
    agent.end_of_local_candidates();
    agent.set_remote_credentials(theirs.ufrag.clone(), theirs.pwd.clone());
    let peers: [SocketAddr; 3] = [
        "203.0.113.5:6000".parse().unwrap(),
        "203.0.113.6:6001".parse().unwrap(),
        "198.51.100.2:50000".parse().unwrap(),
    ];
    let mut relay: Option<SocketAddr> = None;
    let pump = |agent: &mut IceAgent, server: &mut Server, now: Instant, relay: &mut Option<SocketAddr>| {
        for _ in 0..8 {
            let mut moved = false;
            while let Some(t) = agent.poll_transmit() {
                moved = true;
                // Relayed addresses are no sockets: everything leaves from the host socket.
                assert_eq!(t.source, local);
                if t.destination == turn {
                    let _ = server.handle_receive(now, Transport::Udp, local, turn, &t.data);
                }
            }
            while let Some(e) = agent.poll_event() {
                if let IceEvent::LocalCandidate(c) = e {
                    if c.kind == tern_ice::CandidateKind::Relayed {
                        *relay = Some(c.address);
                    }
                }
            }
            while let Some(ServerEvent::OpenRelay { relay }) = server.poll_event() {
                server.relay_opened(now, relay);
            }
            while let Some(t) = server.poll_transmit() {
                moved = true;
                if t.destination == local {
                    let _ = agent.handle_receive(now, local, t.source, &t.data);
                }
            }
            if !moved {
                break;
            }
        }
    };
    pump(&mut agent, &mut server, now, &mut relay);
    let mut it = data.iter().skip(1).copied();
    while let Some(op) = it.next() {
        let arg = it.next().unwrap_or(0);
        let peer = peers[usize::from(arg) % peers.len()];
        match op % 7 {
            0 => {
                // Raw bytes "from the TURN server".
                let len = usize::from(it.next().unwrap_or(0));
                let bytes: Vec<u8> = it.by_ref().take(len).collect();
                let _ = agent.accepts(&bytes);
                let _ = agent.handle_receive(now, local, turn, &bytes);
            }
            1 => {
                now += Duration::from_millis(u64::from(arg) * 97);
                agent.handle_timeout(now);
                server.handle_timeout(now);
            }
            2 => {
                let mut c = Candidate::host(peer, 1);
                c.priority = u32::from(arg) << 16;
                let _ = agent.add_remote_candidate(now, c);
            }
            3 => {
                // Raw bytes from a peer to our relayed address (relayed if permitted).
                let len = usize::from(it.next().unwrap_or(0));
                let bytes: Vec<u8> = it.by_ref().take(len).collect();
                if let Some(r) = relay {
                    let _ = server.handle_receive(now, Transport::Udp, peer, r, &bytes);
                }
            }
            4 => {
                // A well-signed check from a peer, through the relay.
                let mut buf = Vec::new();
                let mut e = MessageEncoder::new(&mut buf, MessageType::BINDING_REQUEST, TransactionId([arg; 12]));
                let user = format!("{}:{}", ours.ufrag, theirs.ufrag);
                e.add(&Username(&user)).unwrap();
                e.add(&Priority(u32::from(arg) * 1000)).unwrap();
                e.add(&IceControlling(u64::from(arg))).unwrap();
                if arg & 2 == 2 {
                    e.add(&UseCandidate).unwrap();
                }
                e.add_message_integrity(&IntegrityKey::short_term(&ours.pwd)).unwrap();
                e.add_fingerprint().unwrap();
                if let Some(r) = relay {
                    let _ = server.handle_receive(now, Transport::Udp, peer, r, &buf);
                }
            }
            5 => {
                let _ = agent.send_data(&[23, arg]);
            }
            _ => match arg % 3 {
                0 => agent.end_of_remote_candidates(),
                1 => {
                    agent.restart(now, IceCredentials { ufrag: "locl".into(), pwd: ours.pwd.clone() });
                    agent.set_remote_credentials(theirs.ufrag.clone(), theirs.pwd.clone());
                }
                _ => agent.close(),
            },
        }
        pump(&mut agent, &mut server, now, &mut relay);
        let _ = agent.poll_timeout();
        if let Some((l, r)) = agent.selected_pair() {
            assert!(agent.is_validated_remote(l, r));
        }
        assert!(agent.pairs().len() <= 100);
    }
});
