//! Two agents behind RFC 4787 NATs on tern-netsim (virtual time), with a STUN server on the
//! public side: the NAT outcome table. Without TURN, a symmetric NAT facing a port-restricted
//! or symmetric NAT cannot connect; every other combination does. With a TURN server
//! (tern-turn's server core) on the public side as well, every combination connects, and the
//! ones that failed select a pair with a relayed candidate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_ice::{
    CandidateKind, IceAgent, IceConfig, IceConnectionState, IceCredentials, IceEvent, TurnServer,
};
use tern_netsim::{Datagram, HostId, LinkConfig, Loss, NatConfig, NatId, Network};
use tern_stun::{BindingServer, BindingServerConfig};
use tern_turn::{Server as TurnCore, ServerConfig as TurnConfig, ServerEvent, Transport};

const TURN_IP: &str = "198.51.100.2";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nat {
    FullCone,
    RestrictedCone,
    PortRestrictedCone,
    Symmetric,
}

impl Nat {
    fn config(self, ip: &str) -> NatConfig {
        let ip = ip.parse().unwrap();
        match self {
            Nat::FullCone => NatConfig::full_cone(ip),
            Nat::RestrictedCone => NatConfig::restricted_cone(ip),
            Nat::PortRestrictedCone => NatConfig::port_restricted_cone(ip),
            Nat::Symmetric => NatConfig::symmetric(ip),
        }
    }
}

struct Lab {
    net: Network,
    now: Instant,
    agents: [IceAgent; 2],
    hosts: [HostId; 2],
    nats: [NatId; 2],
    addrs: [SocketAddr; 2],
    stun_host: HostId,
    stun: BindingServer,
    stun_addr: SocketAddr,
    turn: Option<(HostId, TurnCore)>,
    /// Application datagrams each agent received (host sockets and relays alike).
    data_received: [Vec<Vec<u8>>; 2],
}

impl Lab {
    fn new(nat_a: Nat, nat_b: Nat, link: LinkConfig, seed: u64) -> Lab {
        Lab::build(nat_a, nat_b, link, seed, false)
    }

    fn with_turn(nat_a: Nat, nat_b: Nat, link: LinkConfig, seed: u64) -> Lab {
        Lab::build(nat_a, nat_b, link, seed, true)
    }

    fn build(nat_a: Nat, nat_b: Nat, link: LinkConfig, seed: u64, turn: bool) -> Lab {
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let mut net = Network::new(seed, start);
        net.set_default_link(LinkConfig::with_delay(Duration::from_millis(10)));
        let ha = net.add_host("10.0.0.2".parse().unwrap()).unwrap();
        let na = net.add_nat(nat_a.config("203.0.113.1"), &[ha]).unwrap();
        let hb = net.add_host("10.1.0.2".parse().unwrap()).unwrap();
        let nb = net.add_nat(nat_b.config("203.0.113.2"), &[hb]).unwrap();
        // The path between the two NATs carries the impairment (both directions).
        net.set_link(na, nb, link).unwrap();
        let stun_host = net.add_host("198.51.100.1".parse().unwrap()).unwrap();
        let stun_addr: SocketAddr = "198.51.100.1:3478".parse().unwrap();
        let turn_addr: SocketAddr = format!("{TURN_IP}:3478").parse().unwrap();
        let turn = turn.then(|| {
            let host = net.add_host(TURN_IP.parse().unwrap()).unwrap();
            let mut config = TurnConfig::new("tern.test", TURN_IP.parse().unwrap())
                .with_user("alice", "turn-secret");
            config.seed = Some([seed as u8; 32]);
            (host, TurnCore::new(config, start, 1_700_000_000))
        });
        let addrs: [SocketAddr; 2] = [
            "10.0.0.2:5000".parse().unwrap(),
            "10.1.0.2:6000".parse().unwrap(),
        ];
        let agent = |i: u64, controlling: bool| {
            let creds = IceCredentials {
                ufrag: format!("uf{i}x"),
                pwd: format!("password-number-{i}-abcdefgh"),
            };
            let mut cfg = IceConfig::with_credentials(controlling, creds, 100 + i, i);
            cfg.stun_servers = vec![stun_addr];
            if turn.is_some() {
                cfg.turn_servers = vec![TurnServer::new(turn_addr, "alice", "turn-secret")];
            }
            IceAgent::new(cfg, start)
        };
        let mut agents = [agent(1, true), agent(2, false)];
        for (i, a) in agents.iter_mut().enumerate() {
            a.add_local_host_candidate(addrs[i]);
            a.end_of_local_candidates();
        }
        let (c0, c1) = (agents[0].local_credentials(), agents[1].local_credentials());
        agents[0].set_remote_credentials(c1.ufrag, c1.pwd);
        agents[1].set_remote_credentials(c0.ufrag, c0.pwd);
        Lab {
            net,
            now: start,
            agents,
            hosts: [ha, hb],
            nats: [na, nb],
            addrs,
            stun_host,
            stun: BindingServer::new(BindingServerConfig::default()),
            stun_addr,
            turn,
            data_received: [Vec::new(), Vec::new()],
        }
    }

    /// Moves datagrams and trickles candidates (signalling is instant) until `limit`.
    fn run(&mut self, limit: Duration, done: impl Fn(&Lab) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            for i in 0..2 {
                while let Some(t) = self.agents[i].poll_transmit() {
                    let d = Datagram {
                        source: t.source,
                        destination: t.destination,
                        payload: t.data,
                    };
                    let _ = self.net.send(self.now, self.hosts[i], d);
                }
                while let Some(e) = self.agents[i].poll_event() {
                    match e {
                        IceEvent::LocalCandidate(c) => {
                            let now = self.now;
                            let _ = self.agents[1 - i].add_remote_candidate(now, c);
                        }
                        IceEvent::GatheringComplete => {
                            self.agents[1 - i].end_of_remote_candidates()
                        }
                        IceEvent::RelayedData { data, .. } => self.data_received[i].push(data),
                        _ => {}
                    }
                }
            }
            while let Some(t) = self.stun.poll_transmit() {
                let d = Datagram {
                    source: t.source,
                    destination: t.destination,
                    payload: t.data,
                };
                let _ = self.net.send(self.now, self.stun_host, d);
            }
            if let Some((host, server)) = &mut self.turn {
                while let Some(ServerEvent::OpenRelay { relay }) = server.poll_event() {
                    server.relay_opened(self.now, relay);
                }
                while let Some(t) = server.poll_transmit() {
                    let d = Datagram {
                        source: t.source,
                        destination: t.destination,
                        payload: t.data,
                    };
                    let _ = self.net.send(self.now, *host, d);
                }
            }
            if done(self) {
                return true;
            }
            let mut next = self.now + Duration::from_millis(50);
            for t in [
                self.net.poll_timeout(),
                self.agents[0].poll_timeout(),
                self.agents[1].poll_timeout(),
                self.turn.as_ref().and_then(|(_, s)| s.poll_timeout()),
            ]
            .into_iter()
            .flatten()
            {
                next = next.min(t.max(self.now + Duration::from_micros(100)));
            }
            self.now = next;
            self.net.handle_timeout(self.now);
            while let Some(d) = self.net.poll_receive() {
                let g = d.datagram;
                if d.host == self.stun_host {
                    let _ = self
                        .stun
                        .handle_receive(self.now, g.destination, g.source, &g.payload);
                } else if let Some((_, server)) =
                    self.turn.as_mut().filter(|(host, _)| *host == d.host)
                {
                    let _ = server.handle_receive(
                        self.now,
                        Transport::Udp,
                        g.source,
                        g.destination,
                        &g.payload,
                    );
                } else {
                    let i = usize::from(d.host == self.hosts[1]);
                    if self.agents[i].accepts(&g.payload) {
                        let _ = self.agents[i].handle_receive(
                            self.now,
                            g.destination,
                            g.source,
                            &g.payload,
                        );
                    } else {
                        self.data_received[i].push(g.payload);
                    }
                }
            }
            let now = self.now;
            for a in &mut self.agents {
                a.handle_timeout(now);
            }
            if let Some((_, server)) = &mut self.turn {
                server.handle_timeout(now);
            }
        }
        done(self)
    }

    fn connected(&self) -> bool {
        self.agents.iter().all(|a| {
            matches!(
                a.connection_state(),
                IceConnectionState::Connected | IceConnectionState::Completed
            ) && a.pairs().iter().any(|p| p.nominated)
        })
    }

    fn failed(&self) -> bool {
        self.agents
            .iter()
            .any(|a| a.connection_state() == IceConnectionState::Failed)
    }
}

fn expect_connects(a: Nat, b: Nat) -> Lab {
    let mut lab = Lab::new(a, b, LinkConfig::with_delay(Duration::from_millis(20)), 1);
    assert!(
        lab.run(Duration::from_secs(20), Lab::connected),
        "{a:?} ↔ {b:?}: {:?} {:?} / {:?} {:?}",
        lab.agents[0].connection_state(),
        lab.agents[0].pairs(),
        lab.agents[1].connection_state(),
        lab.agents[1].pairs()
    );
    // Both ends send through their NAT to the other's public side: the selected remote is
    // never the peer's private host address.
    for i in 0..2 {
        let (local, remote) = lab.agents[i].selected_pair().unwrap();
        assert_eq!(local, lab.addrs[i]);
        assert!(
            remote.ip().to_string().starts_with("203.0.113."),
            "{remote}"
        );
        assert!(lab.agents[i].is_validated_remote(local, remote));
    }
    let _ = lab.stun_addr;
    lab
}

fn expect_fails(a: Nat, b: Nat) {
    let mut lab = Lab::new(a, b, LinkConfig::with_delay(Duration::from_millis(20)), 1);
    assert!(
        lab.run(Duration::from_secs(60), Lab::failed),
        "{a:?} ↔ {b:?} should fail without TURN"
    );
    assert!(lab.agents.iter().all(|x| x.selected_pair().is_none()));
}

const ALL: [Nat; 4] = [
    Nat::FullCone,
    Nat::RestrictedCone,
    Nat::PortRestrictedCone,
    Nat::Symmetric,
];

#[test]
fn nat_outcome_table() {
    for a in ALL {
        for b in ALL {
            let blocked = matches!(
                (a, b),
                (Nat::Symmetric, Nat::Symmetric | Nat::PortRestrictedCone)
                    | (Nat::PortRestrictedCone, Nat::Symmetric)
            );
            if blocked {
                expect_fails(a, b);
            } else {
                expect_connects(a, b);
            }
        }
    }
}

#[test]
fn server_reflexive_candidates_are_gathered_and_signalled() {
    let lab = expect_connects(Nat::FullCone, Nat::FullCone);
    for (i, public) in ["203.0.113.1", "203.0.113.2"].iter().enumerate() {
        let cands = lab.agents[i].local_candidates();
        let srflx = cands
            .iter()
            .find(|c| c.kind == CandidateKind::ServerReflexive)
            .expect("srflx");
        assert_eq!(srflx.address.ip().to_string(), *public);
        assert_eq!(srflx.related_address, Some(lab.addrs[i]));
    }
}

#[test]
fn symmetric_nat_peer_is_reached_through_a_peer_reflexive_candidate() {
    let lab = expect_connects(Nat::Symmetric, Nat::FullCone);
    // The full-cone side learnt the symmetric side's new mapping from its check.
    let b = &lab.agents[1];
    let (_, remote) = b.selected_pair().unwrap();
    let kind = b
        .remote_candidates()
        .iter()
        .find(|c| c.address == remote)
        .unwrap()
        .kind;
    assert_eq!(kind, CandidateKind::PeerReflexive);
}

#[test]
fn connects_with_20_percent_loss_during_checks() {
    for seed in 1..=10 {
        let link = LinkConfig {
            loss: Loss::Uniform(0.2),
            delay: Duration::from_millis(30),
            ..LinkConfig::default()
        };
        let mut lab = Lab::new(Nat::PortRestrictedCone, Nat::RestrictedCone, link, seed);
        assert!(
            lab.run(Duration::from_secs(30), Lab::connected),
            "seed {seed}: {:?} {:?} / {:?} {:?}",
            lab.agents[0].connection_state(),
            lab.agents[0].pairs(),
            lab.agents[1].connection_state(),
            lab.agents[1].pairs()
        );
    }
}

/// Which side's selected pair uses a relayed candidate: local relayed, or remote relayed.
fn relay_in_selected_pair(lab: &Lab, i: usize) -> bool {
    let (local, remote) = lab.agents[i].selected_pair().unwrap();
    let relayed = |addr: SocketAddr| addr.ip().to_string() == TURN_IP;
    relayed(local) || relayed(remote)
}

#[test]
fn nat_outcome_table_with_turn_every_pair_connects() {
    for a in ALL {
        for b in ALL {
            let mut lab =
                Lab::with_turn(a, b, LinkConfig::with_delay(Duration::from_millis(20)), 1);
            assert!(
                lab.run(Duration::from_secs(30), Lab::connected),
                "{a:?} ↔ {b:?} with TURN: {:?} {:?} / {:?} {:?}",
                lab.agents[0].connection_state(),
                lab.agents[0].pairs(),
                lab.agents[1].connection_state(),
                lab.agents[1].pairs()
            );
            let needs_relay = matches!(
                (a, b),
                (Nat::Symmetric, Nat::Symmetric | Nat::PortRestrictedCone)
                    | (Nat::PortRestrictedCone, Nat::Symmetric)
            );
            for i in 0..2 {
                assert_eq!(
                    relay_in_selected_pair(&lab, i),
                    needs_relay,
                    "{a:?} ↔ {b:?} side {i}: {:?}",
                    lab.agents[i].selected_pair()
                );
                let cands = lab.agents[i].local_candidates();
                assert!(
                    cands.iter().any(|c| c.kind == CandidateKind::Relayed
                        && c.address.ip().to_string() == TURN_IP),
                    "{cands:?}"
                );
            }
        }
    }
}

#[test]
fn application_data_flows_both_ways_through_the_relay() {
    let mut lab = Lab::with_turn(
        Nat::Symmetric,
        Nat::Symmetric,
        LinkConfig::with_delay(Duration::from_millis(20)),
        3,
    );
    assert!(lab.run(Duration::from_secs(30), Lab::connected));
    for i in 0..2 {
        // DTLS-looking bytes (first byte 22), so neither agent mistakes them for STUN.
        lab.agents[i].send_data(&[22, 0xfe, 0xfd, i as u8]).unwrap();
    }
    let got = |lab: &Lab| lab.data_received.iter().all(|d| !d.is_empty());
    assert!(lab.run(Duration::from_secs(2), got));
    assert_eq!(lab.data_received[0], vec![vec![22, 0xfe, 0xfd, 1]]);
    assert_eq!(lab.data_received[1], vec![vec![22, 0xfe, 0xfd, 0]]);
    // Consent checks keep the relayed pair alive (RFC 7675): a minute later both sides are
    // still connected over it.
    lab.run(Duration::from_secs(60), |_| false);
    for a in &lab.agents {
        assert_eq!(
            a.connection_state(),
            IceConnectionState::Completed,
            "{:?}",
            a.pairs()
        );
    }
}

#[test]
fn ice_restart_across_nats_keeps_the_old_pair_until_the_new_one_is_selected() {
    let mut lab = Lab::new(
        Nat::PortRestrictedCone,
        Nat::RestrictedCone,
        LinkConfig::with_delay(Duration::from_millis(20)),
        5,
    );
    assert!(lab.run(Duration::from_secs(20), Lab::connected));
    let old = [lab.agents[0].selected_pair(), lab.agents[1].selected_pair()];
    // Both sides restart with new credentials (RFC 8445 §9) and trickle again.
    let now = lab.now;
    let new_creds = [
        IceCredentials {
            ufrag: "re1x".into(),
            pwd: "restarted-password-1-abcdefgh".into(),
        },
        IceCredentials {
            ufrag: "re2x".into(),
            pwd: "restarted-password-2-abcdefgh".into(),
        },
    ];
    for (agent, creds) in lab.agents.iter_mut().zip(&new_creds) {
        agent.restart(now, creds.clone());
    }
    for i in 0..2 {
        let c = &new_creds[1 - i];
        lab.agents[i].set_remote_credentials(c.ufrag.clone(), c.pwd.clone());
        // Media keeps flowing on the old pair meanwhile.
        assert_eq!(lab.agents[i].selected_pair(), old[i]);
        lab.agents[i].send_data(&[23, i as u8]).unwrap();
    }
    for i in 0..2 {
        for c in lab.agents[i].local_candidates() {
            let now = lab.now;
            lab.agents[1 - i].add_remote_candidate(now, c).unwrap();
        }
    }
    for a in &mut lab.agents {
        a.end_of_remote_candidates();
    }
    let both_completed = |lab: &Lab| {
        lab.agents
            .iter()
            .all(|a| a.connection_state() == IceConnectionState::Completed)
    };
    assert!(lab.run(Duration::from_secs(20), both_completed));
    // The data sent during the restart arrived, and a nominated pair of the new generation
    // carries on.
    assert_eq!(lab.data_received[0], vec![vec![23, 1]]);
    assert_eq!(lab.data_received[1], vec![vec![23, 0]]);
    for a in &lab.agents {
        assert!(a.pairs().iter().any(|p| p.nominated), "{:?}", a.pairs());
        assert!(a.selected_pair().is_some());
    }
}

#[test]
fn consent_lost_across_nats_fails_within_30_seconds() {
    let mut lab = Lab::new(
        Nat::FullCone,
        Nat::PortRestrictedCone,
        LinkConfig::with_delay(Duration::from_millis(20)),
        6,
    );
    assert!(lab.run(Duration::from_secs(20), Lab::connected));
    lab.run(Duration::from_secs(10), |_| false);
    assert!(lab.connected());
    // The path between the NATs now drops everything (RFC 7675: consent expires after 30 s).
    let cut = lab.now;
    let dead = LinkConfig {
        loss: Loss::Uniform(1.0),
        delay: Duration::from_millis(20),
        ..LinkConfig::default()
    };
    lab.net.set_link(lab.nats[0], lab.nats[1], dead).unwrap();
    let disconnected = |lab: &Lab| {
        lab.agents
            .iter()
            .all(|a| a.connection_state() == IceConnectionState::Disconnected)
    };
    assert!(lab.run(Duration::from_secs(15), disconnected));
    let both_failed = |lab: &Lab| {
        lab.agents
            .iter()
            .all(|a| a.connection_state() == IceConnectionState::Failed)
    };
    assert!(lab.run(Duration::from_secs(30), both_failed));
    let failed_after = lab.now - cut;
    assert!(
        failed_after <= Duration::from_secs(31),
        "failed {failed_after:?} after the cut"
    );
    for a in &mut lab.agents {
        assert_eq!(a.selected_pair(), None);
        assert_eq!(a.send_data(b"x"), Err(tern_ice::IceError::NoSelectedPair));
    }
}
