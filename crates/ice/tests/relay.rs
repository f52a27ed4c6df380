//! Relayed candidates (RFC 8445 §5.1.1.2) through tern-turn's server core, on virtual time
//! without NATs: gathering, a relay-only path carrying checks and data, allocation failures,
//! and deallocation on close.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tern_ice::{
    Candidate, CandidateKind, IceAgent, IceConfig, IceConnectionState, IceCredentials, IceEvent,
    PairState, TransportProtocol, TurnServer,
};
use tern_turn::{Server, ServerConfig, ServerEvent, StreamFramer, Transport};

const A: &str = "192.0.2.10:5000";
const B: &str = "203.0.113.20:6000";
const TURN: &str = "198.51.100.2:3478";

struct Net {
    now: Instant,
    agents: [IceAgent; 2],
    addrs: [SocketAddr; 2],
    server: Option<Server>,
    /// (deliver at, source, destination, over TCP, bytes)
    in_flight: Vec<(Instant, SocketAddr, SocketAddr, bool, Vec<u8>)>,
    /// Agent 0's TCP stream to the server, reframed for the server core (which takes frames).
    framer: StreamFramer,
    events: [Vec<IceEvent>; 2],
    /// Non-STUN datagrams each agent's driver received (socket or relay).
    data: [Vec<Vec<u8>>; 2],
    /// Drops datagrams whose (source, destination) match.
    blocked: Vec<(SocketAddr, SocketAddr)>,
    /// What agent 0 sent to the TURN server.
    to_server: Vec<Vec<u8>>,
    /// Virtual time per step.
    tick: Duration,
}

fn creds(i: u8) -> IceCredentials {
    IceCredentials {
        ufrag: format!("uf{i}"),
        pwd: format!("a-long-enough-password-{i}"),
    }
}

impl Net {
    /// Agent 0 (controlling) allocates on the TURN server with `password`; agent 1 has no
    /// TURN server. `with_server`: whether the server answers at all.
    fn new(password: &str, with_server: bool) -> Net {
        Net::with_transport(password, with_server, TransportProtocol::Udp)
    }

    fn with_transport(password: &str, with_server: bool, transport: TransportProtocol) -> Net {
        Net::build(password, with_server, transport, false)
    }

    fn build(
        password: &str,
        with_server: bool,
        transport: TransportProtocol,
        relay_only: bool,
    ) -> Net {
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let turn: SocketAddr = TURN.parse().unwrap();
        let mut c0 = IceConfig::with_credentials(true, creds(0), 10, 1);
        c0.turn_servers = vec![match transport {
            TransportProtocol::Udp => TurnServer::new(turn, "alice", password),
            TransportProtocol::Tcp => TurnServer::tcp(turn, "alice", password),
        }];
        c0.relay_only = relay_only;
        let c1 = IceConfig::with_credentials(false, creds(1), 20, 2);
        let server = with_server.then(|| {
            let mut config =
                ServerConfig::new("tern.test", turn.ip()).with_user("alice", "turn-secret");
            config.seed = Some([7; 32]);
            Server::new(config, now, 1_700_000_000)
        });
        let mut net = Net {
            now,
            agents: [IceAgent::new(c0, now), IceAgent::new(c1, now)],
            addrs: [A.parse().unwrap(), B.parse().unwrap()],
            server,
            in_flight: Vec::new(),
            framer: StreamFramer::new(1 << 16),
            events: [Vec::new(), Vec::new()],
            data: [Vec::new(), Vec::new()],
            blocked: Vec::new(),
            to_server: Vec::new(),
            tick: Duration::from_millis(1),
        };
        for i in 0..2 {
            let addr = net.addrs[i];
            net.agents[i].add_local_host_candidate(addr);
            net.agents[i].end_of_local_candidates();
            let o = creds(1 - i as u8);
            net.agents[i].set_remote_credentials(o.ufrag, o.pwd);
        }
        net
    }

    fn signal(&mut self, from: usize, c: Candidate) {
        let now = self.now;
        let _ = self.agents[1 - from].add_remote_candidate(now, c);
    }

    fn step(&mut self) {
        let latency = Duration::from_millis(5);
        for i in 0..2 {
            while let Some(t) = self.agents[i].poll_transmit() {
                if i == 0 && t.destination == TURN.parse::<SocketAddr>().unwrap() {
                    self.to_server.push(t.data.clone());
                }
                // Relayed addresses are no sockets: everything leaves from the host socket.
                assert_eq!(t.source, self.addrs[i], "{t:?}");
                let tcp = t.transport == TransportProtocol::Tcp;
                self.in_flight
                    .push((self.now + latency, t.source, t.destination, tcp, t.data));
            }
            while let Some(e) = self.agents[i].poll_event() {
                if let IceEvent::RelayedData { data, .. } = &e {
                    self.data[i].push(data.clone());
                }
                self.events[i].push(e);
            }
        }
        if let Some(server) = &mut self.server {
            while let Some(ServerEvent::OpenRelay { relay }) = server.poll_event() {
                server.relay_opened(self.now, relay);
            }
            while let Some(t) = server.poll_transmit() {
                let tcp = t.transport == Transport::Tcp;
                self.in_flight
                    .push((self.now + latency, t.source, t.destination, tcp, t.data));
            }
        }
        self.now += self.tick;
        let now = self.now;
        let (due, rest): (Vec<_>, Vec<_>) =
            self.in_flight.drain(..).partition(|(at, ..)| *at <= now);
        self.in_flight = rest;
        for (_, from, to, tcp, bytes) in due {
            if self.blocked.contains(&(from, to)) {
                continue;
            }
            if tcp {
                if to == self.addrs[0] {
                    // The stream arrives in odd-sized pieces: the client must reframe.
                    for chunk in bytes.chunks(7) {
                        let _ = self.agents[0].handle_relay_stream(now, from, chunk);
                    }
                } else if let Some(server) = &mut self.server {
                    self.framer.push(&bytes).unwrap();
                    while let Some(frame) = self.framer.next_frame().unwrap() {
                        let _ = server.handle_receive(now, Transport::Tcp, from, to, &frame);
                    }
                }
                continue;
            }
            if let Some(i) = self.addrs.iter().position(|a| *a == to) {
                if self.agents[i].accepts(&bytes) {
                    let _ = self.agents[i].handle_receive(now, to, from, &bytes);
                } else {
                    self.data[i].push(bytes);
                }
            } else if let Some(server) = &mut self.server
                && to.ip() == TURN.parse::<SocketAddr>().unwrap().ip()
            {
                let _ = server.handle_receive(now, Transport::Udp, from, to, &bytes);
            }
        }
        for a in &mut self.agents {
            a.handle_timeout(now);
        }
        if let Some(server) = &mut self.server {
            server.handle_timeout(now);
        }
    }

    fn run_until(&mut self, limit: Duration, done: impl Fn(&Net) -> bool) -> bool {
        let end = self.now + limit;
        while self.now < end {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    fn local_candidates(&self, i: usize) -> Vec<Candidate> {
        self.events[i]
            .iter()
            .filter_map(|e| match e {
                IceEvent::LocalCandidate(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    fn gathered(&self, i: usize) -> bool {
        self.events[i].contains(&IceEvent::GatheringComplete)
    }
}

fn relayed(c: &Candidate) -> bool {
    c.kind == CandidateKind::Relayed
}

#[test]
fn relayed_candidate_is_gathered_before_gathering_complete() {
    let mut net = Net::new("turn-secret", true);
    assert!(net.run_until(Duration::from_secs(2), |n| n.gathered(0)));
    let events = &net.events[0];
    let relay_at = events
        .iter()
        .position(|e| matches!(e, IceEvent::LocalCandidate(c) if relayed(c)))
        .expect("a relayed candidate");
    let complete_at = events
        .iter()
        .position(|e| *e == IceEvent::GatheringComplete)
        .unwrap();
    assert!(relay_at < complete_at);
    let cands = net.local_candidates(0);
    let relay = cands.iter().find(|c| relayed(c)).unwrap();
    assert_eq!(relay.address.ip(), TURN.parse::<SocketAddr>().unwrap().ip());
    // Related address: the mapped address the server saw (no NAT here: the host address).
    assert_eq!(relay.related_address, Some(A.parse().unwrap()));
    // RFC 8445 §5.1.2.2: relayed candidates have type preference 0, below host.
    let host = cands
        .iter()
        .find(|c| c.kind == CandidateKind::Host)
        .unwrap();
    assert!(relay.priority < host.priority);
    assert!(net.agents[0].local_candidates().contains(relay));
}

#[test]
fn relay_only_path_carries_checks_and_data_both_ways() {
    let mut net = Net::new("turn-secret", true);
    assert!(net.run_until(Duration::from_secs(2), |n| n.gathered(0)));
    let a_host: SocketAddr = A.parse().unwrap();
    let b: SocketAddr = B.parse().unwrap();
    // The direct path is blocked both ways: only the relay works.
    net.blocked = vec![(a_host, b), (b, a_host)];
    for c in net.local_candidates(0) {
        net.signal(0, c);
    }
    for c in net.local_candidates(1) {
        net.signal(1, c);
    }
    net.agents[0].end_of_remote_candidates();
    net.agents[1].end_of_remote_candidates();
    let connected = |n: &Net| {
        n.agents
            .iter()
            .all(|a| a.connection_state() == IceConnectionState::Completed)
    };
    assert!(
        net.run_until(Duration::from_secs(10), connected),
        "{:?} / {:?}",
        net.agents[0].pairs(),
        net.agents[1].pairs()
    );
    let (local, remote) = net.agents[0].selected_pair().unwrap();
    assert_eq!(local.ip(), TURN.parse::<SocketAddr>().unwrap().ip());
    assert_eq!(remote, b);
    assert_eq!(net.agents[1].selected_pair(), Some((b, local)));
    assert!(net.agents[0].is_validated_remote(local, remote));

    net.agents[0].send_data(&[23, 1, 2, 3]).unwrap();
    // A channel was bound for the selected pair: data goes as ChannelData (RFC 8656 §12.4),
    // channel 0x4000–0x4FFF, length 4.
    let sent_before = net.to_server.len();
    net.step();
    let last = net.to_server.get(sent_before).unwrap();
    assert_eq!(last.len(), 8, "{last:02x?}");
    assert!((0x40..=0x4f).contains(&last[0]), "{last:02x?}");
    assert_eq!(&last[2..], &[0, 4, 23, 1, 2, 3]);
    net.agents[1].send_data(&[23, 4, 5, 6]).unwrap();
    assert!(net.run_until(Duration::from_millis(200), |n| {
        n.data.iter().all(|d| !d.is_empty())
    }));
    assert_eq!(net.data[0], vec![vec![23, 4, 5, 6]]);
    assert_eq!(net.data[1], vec![vec![23, 1, 2, 3]]);
    // Consent checks keep flowing through the relay.
    net.run_until(Duration::from_secs(40), |_| false);
    assert_eq!(
        net.agents[0].connection_state(),
        IceConnectionState::Completed
    );
}

#[test]
fn wrong_turn_password_completes_gathering_without_relay() {
    let mut net = Net::new("not-the-secret", true);
    assert!(net.run_until(Duration::from_secs(5), |n| n.gathered(0)));
    assert!(!net.local_candidates(0).iter().any(relayed));
}

#[test]
fn silent_turn_server_completes_gathering_after_the_transaction_times_out() {
    let mut net = Net::new("turn-secret", false);
    // RFC 8489 §6.2.1: Rc = 7 transmissions, RTO 500 ms doubling, Rm = 16: 39.5 s.
    assert!(!net.run_until(Duration::from_secs(30), |n| n.gathered(0)));
    assert!(net.run_until(Duration::from_secs(15), |n| n.gathered(0)));
    assert!(!net.local_candidates(0).iter().any(relayed));
}

#[test]
fn send_data_without_a_selected_pair_is_an_error() {
    let mut net = Net::new("turn-secret", true);
    assert_eq!(
        net.agents[0].send_data(b"x"),
        Err(tern_ice::IceError::NoSelectedPair)
    );
}

#[test]
fn close_deletes_the_allocation() {
    let mut net = Net::new("turn-secret", true);
    assert!(net.run_until(Duration::from_secs(2), |n| n.gathered(0)));
    let live = |n: &Net| n.server.as_ref().unwrap().stats().allocations;
    assert_eq!(live(&net), 1);
    net.agents[0].close();
    assert!(net.run_until(Duration::from_secs(1), |n| live(n) == 0));
}

#[test]
fn relay_over_tcp_to_the_server_carries_checks_and_data() {
    let mut net = Net::with_transport("turn-secret", true, TransportProtocol::Tcp);
    assert!(net.run_until(Duration::from_secs(2), |n| n.gathered(0)));
    let relay = net
        .local_candidates(0)
        .into_iter()
        .find(relayed)
        .expect("a relayed candidate over TCP");
    // The relayed candidate itself is UDP (RFC 8656 §3.1: TCP only to the server), and the
    // TCP connection's mapped address is no UDP server-reflexive candidate.
    assert_eq!(relay.transport, TransportProtocol::Udp);
    assert!(
        !net.local_candidates(0)
            .iter()
            .any(|c| c.kind == CandidateKind::ServerReflexive)
    );
    let a_host: SocketAddr = A.parse().unwrap();
    let b: SocketAddr = B.parse().unwrap();
    net.blocked = vec![(a_host, b), (b, a_host)];
    for c in net.local_candidates(0) {
        net.signal(0, c);
    }
    for c in net.local_candidates(1) {
        net.signal(1, c);
    }
    net.agents[0].end_of_remote_candidates();
    net.agents[1].end_of_remote_candidates();
    assert!(net.run_until(Duration::from_secs(10), |n| {
        n.agents
            .iter()
            .all(|a| a.connection_state() == IceConnectionState::Completed)
    }));
    assert_eq!(net.agents[0].selected_pair(), Some((relay.address, b)));
    net.agents[0].send_data(&[23, 9]).unwrap();
    net.agents[1].send_data(&[23, 8]).unwrap();
    assert!(net.run_until(Duration::from_millis(200), |n| {
        n.data.iter().all(|d| !d.is_empty())
    }));
    assert_eq!(net.data[0], vec![vec![23, 8]]);
    assert_eq!(net.data[1], vec![vec![23, 9]]);
    // Stream bytes for a server we have no TCP relay on are refused.
    assert_eq!(
        net.agents[0].handle_relay_stream(net.now, b, &[0; 4]),
        Err(tern_ice::IceError::UnknownRelayServer)
    );
    // The TCP connection drops: the allocation and its pairs are gone.
    let now = net.now;
    net.agents[0].relay_stream_closed(now, TURN.parse().unwrap());
    assert_eq!(net.agents[0].selected_pair(), None);
    // Connectivity is lost, not being established: never back to `checking`.
    assert!(
        matches!(
            net.agents[0].connection_state(),
            IceConnectionState::Disconnected | IceConnectionState::Failed
        ),
        "{:?}",
        net.agents[0].connection_state()
    );
    assert_eq!(
        net.agents[0].send_data(b"x"),
        Err(tern_ice::IceError::NoSelectedPair)
    );
    // Nothing more leaves from the dead relayed address (step() asserts every source is the
    // host socket), and a new remote candidate pairs only with the host candidate.
    let pairs_before = net.agents[0].pairs().len();
    net.signal(1, Candidate::host("203.0.113.21:7000".parse().unwrap(), 1));
    assert_eq!(net.agents[0].pairs().len(), pairs_before + 1);
    net.run_until(Duration::from_secs(5), |_| false);
}

#[test]
fn relay_only_policy_signals_and_uses_only_the_relayed_candidate() {
    let mut net = Net::build("turn-secret", true, TransportProtocol::Udp, true);
    assert!(net.run_until(Duration::from_secs(2), |n| n.gathered(0)));
    let signalled = net.local_candidates(0);
    assert_eq!(signalled.len(), 1, "{signalled:?}");
    assert!(relayed(&signalled[0]));
    assert_eq!(net.agents[0].local_candidates(), signalled);
    for c in net.local_candidates(0) {
        net.signal(0, c);
    }
    for c in net.local_candidates(1) {
        net.signal(1, c);
    }
    net.agents[0].end_of_remote_candidates();
    net.agents[1].end_of_remote_candidates();
    // The direct path works, but the policy keeps the agent on the relay.
    assert!(net.run_until(Duration::from_secs(10), |n| {
        n.agents
            .iter()
            .all(|a| a.connection_state() == IceConnectionState::Completed)
    }));
    let b: SocketAddr = B.parse().unwrap();
    assert_eq!(
        net.agents[0].selected_pair(),
        Some((signalled[0].address, b))
    );
    assert!(
        net.agents[0]
            .pairs()
            .iter()
            .all(|p| p.local == signalled[0].address)
    );
}

#[test]
fn relayed_pair_survives_allocation_permission_and_channel_refreshes() {
    let mut net = Net::new("turn-secret", true);
    assert!(net.run_until(Duration::from_secs(2), |n| n.gathered(0)));
    let a_host: SocketAddr = A.parse().unwrap();
    let b: SocketAddr = B.parse().unwrap();
    net.blocked = vec![(a_host, b), (b, a_host)];
    for c in net.local_candidates(0) {
        net.signal(0, c);
    }
    for c in net.local_candidates(1) {
        net.signal(1, c);
    }
    net.agents[0].end_of_remote_candidates();
    net.agents[1].end_of_remote_candidates();
    assert!(net.run_until(Duration::from_secs(10), |n| {
        n.agents
            .iter()
            .all(|a| a.connection_state() == IceConnectionState::Completed)
    }));
    // 25 virtual minutes: the allocation (600 s), permissions (300 s) and the channel
    // (600 s) must all be refreshed, and consent must keep flowing through them.
    net.tick = Duration::from_millis(20);
    for minute in 0..25 {
        net.run_until(Duration::from_secs(60), |_| false);
        for a in &net.agents {
            assert_eq!(
                a.connection_state(),
                IceConnectionState::Completed,
                "minute {minute}"
            );
        }
        let allocations = net.server.as_ref().unwrap().stats().allocations;
        assert_eq!(allocations, 1, "minute {minute}");
    }
    // The refreshes went out: Refresh (0x004), CreatePermission (0x008) and ChannelBind
    // (0x009) requests, each more than once.
    let requests = |method: u8| {
        net.to_server
            .iter()
            .filter(|d| d.len() > 20 && d[0] == 0 && d[1] == method)
            .count()
    };
    assert!(requests(0x04) >= 2, "{} Refresh requests", requests(0x04));
    assert!(requests(0x08) >= 4, "{} CreatePermission", requests(0x08));
    assert!(requests(0x09) >= 2, "{} ChannelBind", requests(0x09));
    let before = net.data[1].len();
    net.agents[0].send_data(&[23, 42]).unwrap();
    assert!(net.run_until(Duration::from_secs(1), |n| n.data[1].len() > before));
}

#[test]
fn pairs_towards_a_peer_the_server_refuses_fail_at_once() {
    let mut net = Net::new("turn-secret", true);
    assert!(net.run_until(Duration::from_secs(2), |n| n.gathered(0)));
    let relay = net.local_candidates(0).into_iter().find(relayed).unwrap();
    // A private address: tern-turn's default policy answers CreatePermission with 403.
    let private: SocketAddr = "10.1.2.3:7000".parse().unwrap();
    net.signal(1, Candidate::host(private, 1));
    let failed = |n: &Net| {
        n.agents[0].pairs().iter().any(|p| {
            p.local == relay.address && p.remote == private && p.state == PairState::Failed
        })
    };
    // Far sooner than a check's retransmissions would time out (RFC 8489 §6.2.1: 39.5 s).
    assert!(
        net.run_until(Duration::from_secs(1), failed),
        "{:?}",
        net.agents[0].pairs()
    );
    // Nothing for that peer is held or sent through the relay afterwards.
    let sent = net.to_server.len();
    net.run_until(Duration::from_secs(5), |_| false);
    let to_private = net.to_server[sent..]
        .iter()
        .filter(|d| d.len() > 20 && d[0] == 0 && d[1] == 0x16)
        .count();
    assert_eq!(to_private, 0, "Send indications after the 403");
}

#[test]
fn losing_the_only_relay_reports_disconnected_then_recovers_on_a_new_pair() {
    let mut net = Net::with_transport("turn-secret", true, TransportProtocol::Tcp);
    assert!(net.run_until(Duration::from_secs(2), |n| n.gathered(0)));
    let a_host: SocketAddr = A.parse().unwrap();
    let b: SocketAddr = B.parse().unwrap();
    net.blocked = vec![(a_host, b), (b, a_host)];
    for c in net.local_candidates(0) {
        net.signal(0, c);
    }
    for c in net.local_candidates(1) {
        net.signal(1, c);
    }
    // No end-of-candidates for agent 0: more candidates may come, so losing its pair is
    // `disconnected` (connectivity lost, may recover), not `failed`.
    assert!(net.run_until(Duration::from_secs(10), |n| {
        n.agents[0].selected_pair().is_some()
            && n.agents[0].connection_state() == IceConnectionState::Connected
    }));
    let now = net.now;
    net.agents[0].relay_stream_closed(now, TURN.parse().unwrap());
    assert_eq!(net.agents[0].selected_pair(), None);
    assert_eq!(
        net.agents[0].connection_state(),
        IceConnectionState::Disconnected
    );
    // A direct path opens and the peer trickles a candidate on it: checks succeed and the
    // agent is connected again.
    net.blocked.clear();
    net.signal(1, Candidate::host(b, 1));
    assert!(net.run_until(Duration::from_secs(10), |n| {
        n.agents[0].connection_state() == IceConnectionState::Connected
    }));
    assert_eq!(net.agents[0].selected_pair().map(|p| p.0), Some(a_host));
}
