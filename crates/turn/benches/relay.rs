//! Server relay throughput through the sans-IO core: ChannelData packets per second through one
//! allocation (client → peer and peer → client), and spread over 1,000 allocations.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // a base instant for virtual time
#![allow(missing_docs)] // criterion_group! generates an undocumented fn

use std::net::SocketAddr;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tern_turn::{
    ChannelData, Client, ClientConfig, Event, Server, ServerConfig, ServerEvent, Transport,
};

const SERVER: &str = "198.51.100.1:3478";
const PEER: &str = "203.0.113.7:7000";

/// `n` clients, each with an allocation and a channel to the peer.
fn setup(n: u16) -> (Server, Vec<(SocketAddr, SocketAddr, u16)>, Instant) {
    let server_addr: SocketAddr = SERVER.parse().unwrap();
    let peer: SocketAddr = PEER.parse().unwrap();
    let now = Instant::now();
    let mut config = ServerConfig::new("bench", server_addr.ip()).with_user("u", "p");
    config.seed = Some([1; 32]);
    config.user_quota = usize::MAX;
    let mut server = Server::new(config, now, 1_700_000_000);
    let mut out = Vec::new();
    for i in 0..n {
        let client_addr = SocketAddr::new("192.0.2.1".parse().unwrap(), 1000 + i);
        let mut cc = ClientConfig::new(server_addr, "u", "p");
        cc.seed = Some([2; 32]);
        let mut client = Client::new(cc);
        client.allocate(now).unwrap();
        let mut channel = None;
        for _ in 0..10 {
            while let Some(t) = client.poll_transmit() {
                let _ =
                    server.handle_receive(now, Transport::Udp, client_addr, server_addr, &t.data);
            }
            while let Some(e) = server.poll_event() {
                if let ServerEvent::OpenRelay { relay } = e {
                    server.relay_opened(now, relay);
                }
            }
            while let Some(t) = server.poll_transmit() {
                let _ = client.handle_receive(now, t.source, &t.data);
            }
            while let Some(e) = client.poll_event() {
                match e {
                    Event::Allocated { .. } => {
                        client.bind_channel(now, peer).unwrap();
                    }
                    Event::ChannelBound { channel: c, .. } => channel = Some(c),
                    _ => {}
                }
            }
        }
        out.push((
            client_addr,
            client.relayed_address().unwrap(),
            channel.unwrap(),
        ));
    }
    (server, out, now)
}

fn relay(c: &mut Criterion) {
    let server_addr: SocketAddr = SERVER.parse().unwrap();
    let peer: SocketAddr = PEER.parse().unwrap();
    let payload = [0x5Au8; 160]; // an Opus-sized RTP packet
    let mut group = c.benchmark_group("turn_server_relay");
    group.throughput(Throughput::Elements(1));

    let (mut server, allocs, now) = setup(1);
    let (client_addr, relayed, channel) = allocs[0];
    let mut frame = Vec::new();
    ChannelData {
        channel,
        data: &payload,
    }
    .encode(false, &mut frame)
    .unwrap();
    group.bench_function("client_to_peer_1_allocation", |b| {
        b.iter(|| {
            server
                .handle_receive(now, Transport::Udp, client_addr, server_addr, &frame)
                .unwrap();
            server.poll_transmit().unwrap()
        })
    });
    group.bench_function("peer_to_client_1_allocation", |b| {
        b.iter(|| {
            server
                .handle_receive(now, Transport::Udp, peer, relayed, &payload)
                .unwrap();
            server.poll_transmit().unwrap()
        })
    });

    let (mut server, allocs, now) = setup(1000);
    let frames: Vec<Vec<u8>> = allocs
        .iter()
        .map(|(_, _, ch)| {
            let mut f = Vec::new();
            ChannelData {
                channel: *ch,
                data: &payload,
            }
            .encode(false, &mut f)
            .unwrap();
            f
        })
        .collect();
    let mut i = 0;
    group.bench_function("client_to_peer_1000_allocations", |b| {
        b.iter(|| {
            i = (i + 1) % allocs.len();
            server
                .handle_receive(now, Transport::Udp, allocs[i].0, server_addr, &frames[i])
                .unwrap();
            server.poll_transmit().unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, relay);
criterion_main!(benches);
