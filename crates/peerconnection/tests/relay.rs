//! Relayed candidates on virtual time: two Tern peer connections with
//! `iceServers = [turn:…]` and `iceTransportPolicy: relay`, and tern-turn's sans-IO TURN server
//! between them — three parties, no sockets, no clock. Only relayed candidates are signalled,
//! the selected pair is relay–relay, every datagram between the peers goes through the server,
//! and a data channel carries messages byte-exact both ways. The same with one peer reaching the
//! server over TCP (`turn:…?transport=tcp`, RFC 8656 §3.1): its transmits are stream bytes,
//! delivered back to it in odd-sized pieces through `handle_relay_stream`, and a broken
//! connection (`relay_stream_closed`) fails its relay cleanly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // Instant::now() only as the base of the virtual clock

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tern_peerconnection::{
    DataChannelId, DataChannelInit, Event, IceServer, IceTransportPolicy, PeerConnection,
    PeerConnectionState, RtcConfig, Stats, TransportProtocol,
};
use tern_turn::{IpNet, Server, ServerConfig, ServerEvent, StreamFramer, Transport};

const SERVER: &str = "127.0.0.1:3478";

struct Peer {
    pc: PeerConnection,
    address: SocketAddr,
    events: Vec<Event>,
    trickled: usize,
}

struct Net {
    now: Instant,
    a: Peer,
    b: Peer,
    turn: Server,
    /// (deliver at, from, to, over TCP, bytes)
    in_flight: Vec<(Instant, SocketAddr, SocketAddr, bool, Vec<u8>)>,
    /// Datagrams that went straight from one peer to the other (must stay 0).
    direct: usize,
    /// Peer a's TCP stream to the server, reframed for the server core (which takes frames).
    framer: StreamFramer,
    /// Transmits of peer a to the server: (over TCP, over UDP).
    a_to_server: (usize, usize),
}

/// How a peer reaches the TURN server.
#[derive(Clone, Copy, PartialEq)]
enum To {
    Udp,
    Tcp,
    /// Both URLs (`?transport=udp` and `?transport=tcp`), as browsers are often configured.
    Both,
}

fn config(seed: u64, policy: IceTransportPolicy, to: To) -> RtcConfig {
    let urls = match to {
        To::Udp => vec![format!("turn:{SERVER}")],
        To::Tcp => vec![format!("turn:{SERVER}?transport=tcp")],
        To::Both => vec![
            format!("turn:{SERVER}?transport=udp"),
            format!("turn:{SERVER}?transport=tcp"),
        ],
    };
    RtcConfig {
        seed: Some(seed),
        ice_servers: vec![IceServer {
            urls,
            username: Some("u".into()),
            credential: Some("p".into()),
        }],
        ice_transport_policy: policy,
        ..RtcConfig::default()
    }
}

impl Net {
    fn new(seed: u64) -> Net {
        Net::with_tcp(seed, To::Udp)
    }

    /// Peer a reaches the server as `a_to` says; peer b always over UDP.
    fn with_tcp(seed: u64, a_to: To) -> Net {
        let now = Instant::now();
        let peer = |seed: u64, address: &str, to: To| {
            let mut pc =
                PeerConnection::new(config(seed, IceTransportPolicy::Relay, to), now).unwrap();
            let address: SocketAddr = address.parse().unwrap();
            pc.add_local_address(now, address);
            Peer {
                pc,
                address,
                events: Vec::new(),
                trickled: 0,
            }
        };
        let mut server_config =
            ServerConfig::new("tern", "127.0.0.1".parse().unwrap()).with_user("u", "p");
        server_config.seed = Some([seed as u8; 32]);
        // Loopback peers (and relay → relay on the same server) are allowed in this lab.
        server_config
            .peer_policy
            .allow
            .push("127.0.0.0/8".parse::<IpNet>().unwrap());
        Net {
            now,
            a: peer(seed, "127.0.0.1:41001", a_to),
            b: peer(seed + 1, "127.0.0.1:41002", To::Udp),
            turn: Server::new(server_config, now, 1_700_000_000),
            in_flight: Vec::new(),
            direct: 0,
            framer: StreamFramer::new(1 << 16),
            a_to_server: (0, 0),
        }
    }

    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Net) -> bool) {
        let end = self.now + limit;
        let delay = Duration::from_millis(2);
        while self.now < end && !done(self) {
            let now = self.now;
            let server: SocketAddr = SERVER.parse().unwrap();
            let a_address = self.a.address;
            for peer in [&mut self.a, &mut self.b] {
                while let Some(t) = peer.pc.poll_transmit() {
                    assert_eq!(t.source, peer.address, "sent from a socket we do not own");
                    let tcp = t.transport == TransportProtocol::Tcp;
                    if tcp {
                        assert_eq!(t.destination, server, "TCP only to the TURN server");
                    }
                    if t.source == a_address && t.destination == server {
                        if tcp {
                            self.a_to_server.0 += 1;
                        } else {
                            self.a_to_server.1 += 1;
                        }
                    }
                    self.in_flight
                        .push((now + delay, t.source, t.destination, tcp, t.data));
                }
                while let Some(e) = peer.pc.poll_event() {
                    peer.events.push(e);
                }
            }
            while let Some(t) = self.turn.poll_transmit() {
                let tcp = t.transport == Transport::Tcp;
                self.in_flight
                    .push((now + delay, t.source, t.destination, tcp, t.data));
            }
            while let Some(e) = self.turn.poll_event() {
                if let ServerEvent::OpenRelay { relay } = e {
                    self.turn.relay_opened(now, relay);
                }
            }
            // Trickle (RFC 8838) each side's new candidates to the other.
            for (from, to) in [(0, 1), (1, 0)] {
                let (src, dst) = if from == 0 {
                    (&mut self.a, &mut self.b)
                } else {
                    (&mut self.b, &mut self.a)
                };
                let fresh: Vec<String> = src.events[src.trickled..]
                    .iter()
                    .filter_map(|e| match e {
                        Event::LocalCandidate(c) => Some(c.clone()),
                        _ => None,
                    })
                    .collect();
                src.trickled = src.events.len();
                for c in fresh {
                    dst.pc.add_ice_candidate(now, &c).unwrap();
                }
                let _ = to;
            }
            let next = [
                self.in_flight.iter().map(|f| f.0).min(),
                self.a.pc.poll_timeout(),
                self.b.pc.poll_timeout(),
                self.turn.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(end)
            .max(self.now);
            self.now = next.min(end);
            let now = self.now;
            let (due, later): (Vec<_>, Vec<_>) = self.in_flight.drain(..).partition(|f| f.0 <= now);
            self.in_flight = later;
            for (_, from, to, tcp, data) in due {
                if tcp {
                    if to == self.a.address {
                        // The stream arrives in odd-sized pieces: the client must reframe.
                        for chunk in data.chunks(7) {
                            let _ = self.a.pc.handle_relay_stream(now, from, chunk);
                        }
                    } else {
                        assert_eq!(from, self.a.address, "only peer a uses TCP");
                        self.framer.push(&data).unwrap();
                        while let Some(frame) = self.framer.next_frame().unwrap() {
                            let _ = self
                                .turn
                                .handle_receive(now, Transport::Tcp, from, to, &frame);
                        }
                    }
                    continue;
                }
                if to == self.a.address || to == self.b.address {
                    if from == self.a.address || from == self.b.address {
                        self.direct += 1;
                    }
                    let peer = if to == self.a.address {
                        &mut self.a
                    } else {
                        &mut self.b
                    };
                    let _ = peer.pc.handle_receive(now, to, from, &data);
                } else {
                    // The server's listening address or one of its relay addresses.
                    let _ = self
                        .turn
                        .handle_receive(now, Transport::Udp, from, to, &data);
                }
            }
            for peer in [&mut self.a, &mut self.b] {
                if peer.pc.poll_timeout().is_some_and(|t| t <= now) {
                    peer.pc.handle_timeout(now);
                }
            }
            if self.turn.poll_timeout().is_some_and(|t| t <= now) {
                self.turn.handle_timeout(now);
            }
        }
    }
}

fn received(events: &[Event]) -> Vec<Vec<u8>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::DataChannelMessage { data, .. } => Some(data.clone()),
            _ => None,
        })
        .collect()
}

fn selected_types(pc: &PeerConnection, now: Instant) -> (String, String) {
    let stats = pc.stats(now).stats;
    let pair_id = stats
        .iter()
        .find_map(|s| match s {
            Stats::Transport(t) => t.selected_candidate_pair_id.clone(),
            _ => None,
        })
        .expect("a selected pair");
    let pair = stats
        .iter()
        .find_map(|s| match s {
            Stats::CandidatePair(p) if p.id == pair_id => Some(p.clone()),
            _ => None,
        })
        .unwrap();
    let kind = |id: &str| {
        stats
            .iter()
            .find_map(|s| match s {
                Stats::LocalCandidate(c) | Stats::RemoteCandidate(c) if c.id == id => {
                    Some(c.candidate_type.clone())
                }
                _ => None,
            })
            .unwrap()
    };
    (
        kind(&pair.local_candidate_id),
        kind(&pair.remote_candidate_id),
    )
}

/// The local candidate of the selected pair (W3C stats).
fn selected_local(pc: &PeerConnection, now: Instant) -> tern_peerconnection::IceCandidateStats {
    let stats = pc.stats(now).stats;
    let pair_id = stats
        .iter()
        .find_map(|s| match s {
            Stats::Transport(t) => t.selected_candidate_pair_id.clone(),
            _ => None,
        })
        .expect("a selected pair");
    let local_id = stats
        .iter()
        .find_map(|s| match s {
            Stats::CandidatePair(p) if p.id == pair_id => Some(p.local_candidate_id.clone()),
            _ => None,
        })
        .unwrap();
    stats
        .into_iter()
        .find_map(|s| match s {
            Stats::LocalCandidate(c) if c.id == local_id => Some(c),
            _ => None,
        })
        .unwrap()
}

#[test]
fn relay_only_peers_connect_through_turn_and_carry_data_both_ways() {
    let mut net = Net::new(90);
    connect_and_exchange(&mut net);
    assert_eq!(net.a_to_server.0, 0, "no TCP without ?transport=tcp");
    for peer in [&net.a, &net.b] {
        let local = selected_local(&peer.pc, net.now);
        assert_eq!(local.relay_protocol.as_deref(), Some("udp"));
    }
}

#[test]
fn relay_over_tcp_to_the_server_connects_and_carries_data_both_ways() {
    let mut net = Net::with_tcp(91, To::Tcp);
    connect_and_exchange(&mut net);
    // Everything peer a sent to the server went over its TCP stream.
    assert!(net.a_to_server.0 > 10, "{:?}", net.a_to_server);
    assert_eq!(net.a_to_server.1, 0, "{:?}", net.a_to_server);
    let a_local = selected_local(&net.a.pc, net.now);
    assert_eq!(a_local.candidate_type, "relay");
    assert_eq!(
        a_local.protocol, "udp",
        "the relayed candidate itself is UDP"
    );
    assert_eq!(a_local.relay_protocol.as_deref(), Some("tcp"));
    let json = serde_json::to_string(&a_local).unwrap();
    assert!(json.contains(r#""relayProtocol":"tcp""#), "{json}");
    assert_eq!(
        selected_local(&net.b.pc, net.now).relay_protocol.as_deref(),
        Some("udp")
    );

    // Stream bytes for a server we have no TCP relay on are refused, changing nothing.
    let now = net.now;
    let b_address = net.b.address;
    assert!(
        net.a
            .pc
            .handle_relay_stream(now, b_address, &[0; 4])
            .is_err()
    );
    assert_eq!(net.a.pc.connection_state(), PeerConnectionState::Connected);

    // The TCP connection breaks: a's only relay is gone, so its pairs fail — cleanly, and
    // nothing more is sent over TCP. ICE and the connection report `disconnected` at once (W3C:
    // connectivity lost, not `checking`); once b's candidates are known to be complete and no
    // pair is left, they fail.
    net.a.pc.relay_stream_closed(now, SERVER.parse().unwrap());
    net.turn
        .connection_closed(net.a.address, SERVER.parse().unwrap());
    let events: Vec<Event> = std::iter::from_fn(|| net.a.pc.poll_event()).collect();
    assert!(
        events.contains(&Event::IceConnectionStateChange(
            tern_peerconnection::IceConnectionState::Disconnected
        )),
        "{events:?}"
    );
    assert_eq!(
        net.a.pc.connection_state(),
        PeerConnectionState::Disconnected
    );
    net.a.events.extend(events);
    let tcp_before = net.a_to_server.0;
    net.run_until(Duration::from_secs(2), |_| false);
    net.a.pc.add_ice_candidate(net.now, "").unwrap();
    net.run_until(Duration::from_secs(60), |n| {
        n.a.pc.connection_state() == PeerConnectionState::Failed
    });
    assert_eq!(net.a.pc.connection_state(), PeerConnectionState::Failed);
    assert_eq!(
        net.a_to_server.0, tcp_before,
        "TCP bytes after the stream closed"
    );
    let chat = net
        .a
        .events
        .iter()
        .find_map(|e| match e {
            Event::DataChannelOpen { id } => Some(*id),
            _ => None,
        })
        .unwrap();
    let _ = net.a.pc.send(net.now, chat, b"after", true);
    net.run_until(Duration::from_secs(1), |_| false);
    assert_eq!(net.a_to_server.0, tcp_before);
}

#[test]
fn relayed_candidates_over_udp_and_tcp_each_report_their_relay_protocol() {
    let mut net = Net::with_tcp(92, To::Both);
    connect_and_exchange(&mut net);
    // Two allocations on the server from a (one per transport), both used for checks.
    assert!(
        net.a_to_server.0 > 0 && net.a_to_server.1 > 0,
        "{:?}",
        net.a_to_server
    );
    let relayed: Vec<(String, Option<String>)> = net
        .a
        .pc
        .stats(net.now)
        .stats
        .into_iter()
        .filter_map(|s| match s {
            Stats::LocalCandidate(c) if c.candidate_type == "relay" => {
                Some((format!("{}:{}", c.address, c.port), c.relay_protocol))
            }
            _ => None,
        })
        .collect();
    assert_eq!(relayed.len(), 2, "{relayed:?}");
    let mut protocols: Vec<&str> = relayed.iter().map(|(_, p)| p.as_deref().unwrap()).collect();
    protocols.sort_unstable();
    assert_eq!(protocols, ["tcp", "udp"], "{relayed:?}");
}

/// Offer/answer relay-only between a and b, a data channel both ways byte-exact, relay–relay
/// pairs, nothing direct, the server relaying both ways.
fn connect_and_exchange(net: &mut Net) {
    let now = net.now;
    let chat: DataChannelId = net
        .a
        .pc
        .create_data_channel(now, "relay", DataChannelInit::default())
        .unwrap();
    let offer = net.a.pc.create_offer(now).unwrap();
    assert!(
        !offer.sdp.contains("typ host"),
        "relay policy: no host candidate in the offer"
    );
    net.a.pc.set_local_description(now, offer.clone()).unwrap();
    net.b.pc.set_remote_description(now, offer).unwrap();
    let answer = net.b.pc.create_answer(now).unwrap();
    net.b.pc.set_local_description(now, answer.clone()).unwrap();
    net.a.pc.set_remote_description(now, answer).unwrap();
    net.run_until(Duration::from_secs(10), |n| {
        n.a.events
            .iter()
            .any(|e| matches!(e, Event::DataChannelOpen { id } if *id == chat))
            && n.b
                .events
                .iter()
                .any(|e| matches!(e, Event::DataChannel { .. }))
    });
    assert_eq!(net.a.pc.connection_state(), PeerConnectionState::Connected);
    assert_eq!(net.b.pc.connection_state(), PeerConnectionState::Connected);
    let back = net
        .b
        .events
        .iter()
        .find_map(|e| match e {
            Event::DataChannel { id, .. } => Some(*id),
            _ => None,
        })
        .unwrap();
    let to_b: Vec<Vec<u8>> = (0..20u8)
        .map(|i| vec![i; 1 + usize::from(i) * 97])
        .chain([vec![0xab; 100_000]])
        .collect();
    let to_a: Vec<Vec<u8>> = (0..20u8)
        .map(|i| vec![255 - i; 5 + usize::from(i)])
        .collect();
    let now = net.now;
    for m in &to_b {
        net.a.pc.send(now, chat, m, true).unwrap();
    }
    for m in &to_a {
        net.b.pc.send(now, back, m, true).unwrap();
    }
    net.run_until(Duration::from_secs(10), |n| {
        received(&n.b.events).len() == to_b.len() && received(&n.a.events).len() == to_a.len()
    });
    assert_eq!(received(&net.b.events), to_b);
    assert_eq!(received(&net.a.events), to_a);

    // Only relayed candidates were signalled; the pair is relay–relay on both ends; nothing
    // went directly between the peers' sockets; the server relayed both ways.
    for peer in [&net.a, &net.b] {
        let candidates: Vec<&String> = peer
            .events
            .iter()
            .filter_map(|e| match e {
                Event::LocalCandidate(c) => Some(c),
                _ => None,
            })
            .collect();
        assert!(!candidates.is_empty());
        assert!(
            candidates.iter().all(|c| c.contains(" typ relay")),
            "{candidates:?}"
        );
        assert!(peer.events.contains(&Event::IceGatheringComplete));
        assert_eq!(
            selected_types(&peer.pc, net.now),
            ("relay".to_string(), "relay".to_string())
        );
    }
    assert_eq!(net.direct, 0, "datagrams bypassed the relay");
    let stats = net.turn.stats();
    assert!(
        stats.relayed_to_peers > 10 && stats.relayed_to_clients > 10,
        "{stats:?}"
    );
}

#[test]
fn unusable_ice_servers_are_refused_at_construction() {
    let now = Instant::now();
    for (urls, credentials) in [
        (vec!["turn:127.0.0.1"], false),
        (vec!["turns:127.0.0.1:5349"], false),
        (vec!["turns:127.0.0.1:5349?transport=udp"], true),
        (vec!["stuns:127.0.0.1:5349"], false),
        (vec!["turn:127.0.0.1?transport=tls"], true),
        (vec!["stun:127.0.0.1?transport=tcp"], false),
        (vec!["stun:"], false),
    ] {
        let config = RtcConfig {
            ice_servers: vec![IceServer {
                urls: urls.iter().map(|u| u.to_string()).collect(),
                username: credentials.then(|| "u".into()),
                credential: credentials.then(|| "p".into()),
            }],
            ..RtcConfig::default()
        };
        assert!(
            matches!(
                PeerConnection::new(config, now),
                Err(tern_peerconnection::Error::IceServer { .. })
            ),
            "{urls:?}"
        );
    }
}

#[test]
fn turn_over_tcp_and_tls_urls_are_accepted() {
    let now = Instant::now();
    for url in [
        "turn:127.0.0.1?transport=tcp",
        "turn:127.0.0.1:3479?transport=TCP",
        "turn:[::1]:3478?transport=tcp",
        "turns:127.0.0.1",
        "turns:[::1]:443?transport=tcp",
    ] {
        let config = RtcConfig {
            ice_servers: vec![IceServer {
                urls: vec![url.to_string()],
                username: Some("u".into()),
                credential: Some("p".into()),
            }],
            ..RtcConfig::default()
        };
        assert!(PeerConnection::new(config, now).is_ok(), "{url}");
    }
}
