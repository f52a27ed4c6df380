//! The tokio runner (feature `server`) end to end on loopback: our client allocates, binds a
//! channel and relays both ways through it; `run_with_stats` reports the counters from the
//! server's own thread and returns once the shutdown future completes, on a multi-thread and
//! on a current-thread caller runtime.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // a socket test reads the clock

mod running_server;
use running_server::RunningServer;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tern_turn::{Client, ClientConfig, Event, PeerPolicy, ServerConfig, ServerRunner, ServerStats};

fn drive(client: &mut Client, socket: &UdpSocket, done: impl Fn(&Event) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 2048];
    loop {
        while let Some(t) = client.poll_transmit() {
            socket.send_to(&t.data, t.destination).unwrap();
        }
        while let Some(e) = client.poll_event() {
            assert!(!matches!(e, Event::Failed(_)), "{e:?}");
            if done(&e) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "no answer from our server");
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = client.handle_receive(Instant::now(), from, &buf[..n]);
        }
        if client.poll_timeout().is_some_and(|t| t <= Instant::now()) {
            client.handle_timeout(Instant::now());
        }
    }
}

fn relay_both_ways(multi_thread: bool) {
    let mut config =
        ServerConfig::new("tern.test", "127.0.0.1".parse().unwrap()).with_user("alice", "secret");
    config.peer_policy = PeerPolicy::allowing(["127.0.0.0/8".parse().unwrap()]);
    let (addr_tx, addr_rx) = mpsc::channel::<SocketAddr>();
    let (stats_tx, stats_rx) = mpsc::channel::<ServerStats>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        let rt = if multi_thread {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        .unwrap();
        rt.block_on(async move {
            let runner = ServerRunner::bind(config, "127.0.0.1:0".parse().unwrap(), false)
                .await
                .unwrap();
            addr_tx.send(runner.local_addr()).unwrap();
            runner
                .run_with_stats(
                    async move {
                        let _ = stop_rx.await;
                    },
                    Some(Duration::from_millis(20)),
                    move |s| {
                        let _ = stats_tx.send(s);
                    },
                )
                .await
        })
    });
    let server_addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();

    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut client = Client::new(ClientConfig::new(server_addr, "alice", "secret"));
    client.allocate(Instant::now()).unwrap();
    drive(&mut client, &socket, |e| {
        matches!(e, Event::Allocated { .. })
    });
    let peer_addr = peer.local_addr().unwrap();
    client.bind_channel(Instant::now(), peer_addr).unwrap();
    drive(&mut client, &socket, |e| {
        matches!(e, Event::ChannelBound { .. })
    });
    let relayed = client.relayed_address().unwrap();

    // Client → peer.
    client.send_to(peer_addr, b"to the peer").unwrap();
    while let Some(t) = client.poll_transmit() {
        socket.send_to(&t.data, t.destination).unwrap();
    }
    let mut buf = [0u8; 2048];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"to the peer");
    assert_eq!(from, relayed);

    // Peer → client.
    peer.send_to(b"to the client", relayed).unwrap();
    drive(
        &mut client,
        &socket,
        |e| matches!(e, Event::Data { data, .. } if &data[..] == b"to the client"),
    );

    // The counters arrive from the server's thread.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = stats_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        if s.relayed_to_peers >= 1 && s.relayed_to_clients >= 1 {
            assert_eq!(s.allocations, 1);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stats never showed the relayed data: {s:?}"
        );
    }
    stop_tx.send(()).unwrap();
    server.join().unwrap().unwrap();
}

#[test]
fn relays_both_ways_and_reports_stats_on_a_multi_thread_runtime() {
    relay_both_ways(true);
}

#[test]
fn relays_both_ways_and_reports_stats_on_a_current_thread_runtime() {
    relay_both_ways(false);
}

/// A server allowing relays on loopback, with two writer threads or none.
fn start_server(writer: bool) -> RunningServer {
    start_server_with_quota(writer, None)
}

/// As [`start_server`], with `user_quota` allocations per user when given.
fn start_server_with_quota(writer: bool, user_quota: Option<usize>) -> RunningServer {
    let mut config =
        ServerConfig::new("tern.test", "127.0.0.1".parse().unwrap()).with_user("alice", "secret");
    config.peer_policy = PeerPolicy::allowing(["127.0.0.0/8".parse().unwrap()]);
    if let Some(quota) = user_quota {
        config.user_quota = quota;
    }
    RunningServer::start(config, false, Some(if writer { 2 } else { 0 }))
}

/// The size of datagram `i` of a burst: runs of equal sizes broken by shorter and longer ones,
/// so that the runner's GSO runs start and end in every way.
fn burst_size(i: usize) -> usize {
    match i % 11 {
        0..=5 => 300,
        6 => 120,
        7 | 8 => 300,
        9 => 1200,
        _ => 1,
    }
}

fn burst_payload(i: usize) -> Vec<u8> {
    let mut p = vec![(i % 251) as u8; burst_size(i)];
    let tag = (i as u32).to_be_bytes();
    let n = tag.len().min(p.len());
    p[..n].copy_from_slice(&tag[..n]);
    p
}

/// Bursts of datagrams through the runner, both ways over one channel: every datagram
/// arrives, byte-exact and in order (the runner reads them in batches, sends runs of equal
/// sizes as one GSO send, and may hand them to its writer thread).
fn bursts_arrive_complete_and_in_order(writer: bool) {
    const BURST: usize = 64;
    const BURSTS: usize = 12;
    let server = start_server(writer);
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut client = Client::new(ClientConfig::new(server.addr, "alice", "secret"));
    client.allocate(Instant::now()).unwrap();
    drive(&mut client, &socket, |e| {
        matches!(e, Event::Allocated { .. })
    });
    let peer_addr = peer.local_addr().unwrap();
    let channel = client.bind_channel(Instant::now(), peer_addr).unwrap();
    drive(&mut client, &socket, |e| {
        matches!(e, Event::ChannelBound { .. })
    });
    let relayed = client.relayed_address().unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 4096];

    // Client → peer: ChannelData frames (RFC 8656 §12.4; UDP needs no padding).
    for b in 0..BURSTS {
        for i in b * BURST..(b + 1) * BURST {
            let payload = burst_payload(i);
            let mut frame = channel.to_be_bytes().to_vec();
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            frame.extend_from_slice(&payload);
            socket.send_to(&frame, server.addr).unwrap();
        }
        for i in b * BURST..(b + 1) * BURST {
            let (n, from) = peer
                .recv_from(&mut buf)
                .expect("a relayed datagram is missing");
            assert_eq!(from, relayed);
            assert_eq!(&buf[..n], &burst_payload(i)[..], "datagram {i} to the peer");
        }
    }

    // Peer → client: raw datagrams to the relayed address, ChannelData at the client.
    for b in 0..BURSTS {
        for i in b * BURST..(b + 1) * BURST {
            peer.send_to(&burst_payload(i), relayed).unwrap();
        }
        for i in b * BURST..(b + 1) * BURST {
            let (n, from) = socket
                .recv_from(&mut buf)
                .expect("a relayed datagram is missing");
            assert_eq!(from, server.addr);
            let frame = &buf[..n];
            assert_eq!(u16::from_be_bytes([frame[0], frame[1]]), channel);
            let len = usize::from(u16::from_be_bytes([frame[2], frame[3]]));
            assert_eq!(
                &frame[4..4 + len],
                &burst_payload(i)[..],
                "datagram {i} to the client"
            );
        }
    }
}

#[test]
fn bursts_arrive_complete_and_in_order_with_writer_threads() {
    bursts_arrive_complete_and_in_order(true);
}

#[test]
fn bursts_arrive_complete_and_in_order_on_one_thread() {
    bursts_arrive_complete_and_in_order(false);
}

/// One allocation with a channel to `peer`: the client's socket, channel and relayed address.
fn allocate_with_channel(
    server: SocketAddr,
    peers: &[SocketAddr],
) -> (UdpSocket, Vec<u16>, SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut client = Client::new(ClientConfig::new(server, "alice", "secret"));
    client.allocate(Instant::now()).unwrap();
    drive(&mut client, &socket, |e| {
        matches!(e, Event::Allocated { .. })
    });
    let mut channels = Vec::new();
    for &peer in peers {
        let channel = client.bind_channel(Instant::now(), peer).unwrap();
        drive(
            &mut client,
            &socket,
            |e| matches!(e, Event::ChannelBound { peer: p, .. } if *p == peer),
        );
        channels.push(channel);
    }
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    (socket, channels, client.relayed_address().unwrap())
}

fn channel_data(channel: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = channel.to_be_bytes().to_vec();
    frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Bursts spread over many allocations and peers: the listening socket sends to many clients
/// and one relay socket to many peers, datagrams each on their own (batched in `sendmmsg`),
/// mixed with runs to one destination (GSO). Every datagram arrives byte-exact, and each flow
/// in order.
fn bursts_over_many_flows_arrive_complete_and_in_order(writer: bool) {
    const CLIENTS: usize = 24;
    const PEERS: usize = 6;
    const ROUNDS: usize = 40;
    let server = start_server_with_quota(writer, Some(CLIENTS));
    let peers: Vec<UdpSocket> = (0..PEERS)
        .map(|_| {
            let p = UdpSocket::bind("127.0.0.1:0").unwrap();
            p.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            p
        })
        .collect();
    let peer_addrs: Vec<SocketAddr> = peers.iter().map(|p| p.local_addr().unwrap()).collect();
    let clients: Vec<(UdpSocket, Vec<u16>, SocketAddr)> = (0..CLIENTS)
        .map(|c| {
            // The first client binds a channel to every peer, the others to the first peer.
            let bound = if c == 0 {
                &peer_addrs[..]
            } else {
                &peer_addrs[..1]
            };
            allocate_with_channel(server.addr, bound)
        })
        .collect();
    let mut buf = [0u8; 4096];

    // Peer → clients: the first peer sends round-robin over every relayed address (each
    // datagram to another client from the one listening socket), and now and then a run of
    // three to one relay (to one client, equal sizes: GSO).
    let mut expected: Vec<Vec<Vec<u8>>> = vec![Vec::new(); CLIENTS];
    let mut i = 0;
    for round in 0..ROUNDS {
        for (c, (_, _, relayed)) in clients.iter().enumerate() {
            let repeat = if (round + c) % 7 == 0 { 3 } else { 1 };
            for _ in 0..repeat {
                let payload = burst_payload(i);
                i += 1;
                peers[0].send_to(&payload, relayed).unwrap();
                expected[c].push(payload);
            }
        }
        if round % 4 == 3 {
            // Read what was sent so far, so no socket buffer overflows.
            for (c, (socket, channels, _)) in clients.iter().enumerate() {
                for payload in expected[c].drain(..) {
                    let (n, from) = socket
                        .recv_from(&mut buf)
                        .expect("a relayed datagram is missing");
                    assert_eq!(from, server.addr);
                    assert_eq!(u16::from_be_bytes([buf[0], buf[1]]), channels[0]);
                    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
                    assert_eq!(n, 4 + len, "one ChannelData message per datagram");
                    assert_eq!(&buf[4..n], &payload[..], "to client {c}");
                }
            }
        }
    }

    // Client 0 → every peer, round-robin over its channels (one relay socket, many peers),
    // and the other clients to the first peer (many relay sockets, one peer).
    let mut to_peer: Vec<Vec<(SocketAddr, Vec<u8>)>> = vec![Vec::new(); PEERS];
    for round in 0..ROUNDS {
        let (socket, channels, relayed) = &clients[0];
        for (p, channel) in channels.iter().enumerate() {
            let payload = burst_payload(i);
            i += 1;
            socket
                .send_to(&channel_data(*channel, &payload), server.addr)
                .unwrap();
            to_peer[p].push((*relayed, payload));
        }
        for (socket, channels, relayed) in &clients[1..] {
            let payload = burst_payload(i);
            i += 1;
            socket
                .send_to(&channel_data(channels[0], &payload), server.addr)
                .unwrap();
            to_peer[0].push((*relayed, payload));
        }
        if round % 4 == 3 {
            for (p, peer) in peers.iter().enumerate() {
                // Each relay's datagrams arrive in order; relays may interleave.
                let mut from_each: std::collections::HashMap<SocketAddr, Vec<Vec<u8>>> =
                    std::collections::HashMap::new();
                let mut want: std::collections::HashMap<SocketAddr, Vec<Vec<u8>>> =
                    std::collections::HashMap::new();
                for (relayed, payload) in to_peer[p].drain(..) {
                    want.entry(relayed).or_default().push(payload);
                }
                let count: usize = want.values().map(Vec::len).sum();
                for _ in 0..count {
                    let (n, from) = peer
                        .recv_from(&mut buf)
                        .expect("a relayed datagram is missing");
                    from_each.entry(from).or_default().push(buf[..n].to_vec());
                }
                assert_eq!(from_each, want, "at peer {p}");
            }
        }
    }
}

#[test]
fn bursts_over_many_flows_arrive_complete_and_in_order_with_writer_threads() {
    bursts_over_many_flows_arrive_complete_and_in_order(true);
}

#[test]
fn bursts_over_many_flows_arrive_complete_and_in_order_on_one_thread() {
    bursts_over_many_flows_arrive_complete_and_in_order(false);
}

/// Both ways at once over many allocations: a thread per direction sends while the other
/// direction is in flight, so the event loop (and its writers) are busy from both sides
/// together. Every datagram arrives byte-exact, and each flow in order.
fn both_ways_at_once_over_many_allocations(writer: bool) {
    const CLIENTS: usize = 32;
    const ROUNDS: usize = 48;
    let server = start_server_with_quota(writer, Some(CLIENTS));
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let clients: Vec<(UdpSocket, Vec<u16>, SocketAddr)> = (0..CLIENTS)
        .map(|_| allocate_with_channel(server.addr, &[peer_addr]))
        .collect();
    let relays: Vec<SocketAddr> = clients.iter().map(|(_, _, r)| *r).collect();
    // Peer side: every round sends one datagram to each relay, then reads what the clients
    // sent this round (CLIENTS datagrams), checking order per relay.
    let peer_thread = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut next_from: std::collections::HashMap<SocketAddr, usize> =
            relays.iter().map(|r| (*r, 0)).collect();
        for round in 0..ROUNDS {
            for (c, relayed) in relays.iter().enumerate() {
                peer.send_to(&burst_payload(round * CLIENTS + c), relayed)
                    .unwrap();
            }
            for _ in 0..CLIENTS {
                let (n, from) = peer
                    .recv_from(&mut buf)
                    .expect("a datagram to the peer is missing");
                let c = relays.iter().position(|r| *r == from).expect("a relay");
                let k = next_from.get_mut(&from).unwrap();
                // Client c's k-th datagram (payload index offset past the peer's).
                let i = 1_000_000 + *k * CLIENTS + c;
                assert_eq!(&buf[..n], &burst_payload(i)[..], "from relay {c}, #{k}");
                *k += 1;
            }
        }
        assert!(next_from.values().all(|&k| k == ROUNDS));
    });
    // Client side, at the same time.
    let mut buf = [0u8; 4096];
    for round in 0..ROUNDS {
        for (c, (socket, channels, _)) in clients.iter().enumerate() {
            let payload = burst_payload(1_000_000 + round * CLIENTS + c);
            socket
                .send_to(&channel_data(channels[0], &payload), server.addr)
                .unwrap();
        }
        for (c, (socket, channels, _)) in clients.iter().enumerate() {
            let (n, from) = socket
                .recv_from(&mut buf)
                .expect("a datagram to a client is missing");
            assert_eq!(from, server.addr);
            assert_eq!(u16::from_be_bytes([buf[0], buf[1]]), channels[0]);
            let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
            assert_eq!(n, 4 + len, "one ChannelData message per datagram");
            assert_eq!(
                &buf[4..n],
                &burst_payload(round * CLIENTS + c)[..],
                "to client {c}, round {round}"
            );
        }
    }
    peer_thread.join().unwrap();
}

#[test]
fn both_ways_at_once_over_many_allocations_with_writer_threads() {
    both_ways_at_once_over_many_allocations(true);
}

#[test]
fn both_ways_at_once_over_many_allocations_on_one_thread() {
    both_ways_at_once_over_many_allocations(false);
}
