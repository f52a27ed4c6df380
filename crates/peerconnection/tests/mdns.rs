//! mDNS `.local` host candidates through the tokio driver, on loopback: two peers that hide
//! their host IPs (`mdns_host_candidates`) and resolve the other's names (`mdns_resolve`)
//! connect. Neither side ever signals an IP, so no connectivity check could start unless at
//! least one side resolved a name: the connection itself proves the resolver and the responder
//! worked; the stats then show the remote candidate as `host` with the resolved address.
//!
//! Multicast stays on `lo`: queries and answers leave by the peers' own 127.0.0.1 interface
//! (`IP_MULTICAST_IF`) to 224.0.0.251:5353, where each peer's resolver and responder listen.
//! (Against Chromium, on a multicast interface: `tern serve --mdns`, crates/cli/tests/serve_mdns.rs.)
#![cfg(feature = "tokio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod events;

use events::next_matching;
use std::time::Duration;
use tern_peerconnection::{
    DataChannelInit, Error, Event, RtcConfig, RtcPeer, SdpType, SessionDescriptionInit, Stats,
};

fn mdns_config() -> RtcConfig {
    RtcConfig {
        mdns_host_candidates: true,
        mdns_resolve: true,
        ..RtcConfig::default()
    }
}

fn candidate_lines(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("a="))
        .filter(|l| l.starts_with("candidate:"))
        .map(str::to_string)
        .collect()
}

/// The `.local` candidates signalled in `sdp` (and that no IP is).
fn hidden_candidates(sdp: &str) -> Vec<String> {
    let lines = candidate_lines(sdp);
    assert!(!lines.is_empty(), "no candidates in {sdp}");
    for line in &lines {
        let address = line.split(' ').nth(4).unwrap();
        assert!(address.ends_with(".local"), "an IP was signalled: {line}");
        assert_eq!(address.len(), 36 + 6, "not a UUID name: {address}");
    }
    lines
}

#[tokio::test]
async fn two_peers_hiding_their_host_ips_connect_through_mdns() {
    let bind = ["127.0.0.1:0".parse().unwrap()];
    let (a, mut a_events) = RtcPeer::spawn(mdns_config(), &bind).await.unwrap();
    let (b, mut b_events) = RtcPeer::spawn(mdns_config(), &bind).await.unwrap();
    let chat = a
        .create_data_channel("chat", DataChannelInit::default())
        .await
        .unwrap();
    let offer = a.create_offer().await.unwrap();
    let a_names = hidden_candidates(&offer.sdp);
    // The hidden description is accepted back as our own.
    a.set_local_description(offer.clone()).await.unwrap();
    b.set_remote_description(offer).await.unwrap();
    let answer = b.create_answer().await.unwrap();
    let b_names = hidden_candidates(&answer.sdp);
    assert_ne!(a_names, b_names);
    b.set_local_description(answer.clone()).await.unwrap();
    a.set_remote_description(SessionDescriptionInit {
        sdp_type: SdpType::Answer,
        sdp: answer.sdp,
    })
    .await
    .unwrap();
    // Trickled candidates are hidden too; adding them again (now from the cache) works.
    for line in &b_names {
        a.add_ice_candidate(line).await.unwrap();
    }

    next_matching(
        &mut a_events,
        |e| matches!(e, Event::DataChannelOpen { id } if *id == chat),
    )
    .await;
    a.send(chat, b"found by name".to_vec(), false)
        .await
        .unwrap();
    let got = next_matching(&mut b_events, |e| {
        matches!(e, Event::DataChannelMessage { .. })
    })
    .await;
    assert!(matches!(got, Event::DataChannelMessage { data, .. } if data == b"found by name"));

    // A resolved the name B signalled: B's socket is a remote host candidate of A.
    let b_port = b.local_addresses()[0].port();
    let stats = a.stats().await.unwrap();
    let remote: Vec<_> = stats
        .stats
        .iter()
        .filter_map(|s| match s {
            Stats::RemoteCandidate(c) => Some(c),
            _ => None,
        })
        .collect();
    assert!(
        remote
            .iter()
            .any(|c| c.candidate_type == "host" && c.address == "127.0.0.1" && c.port == b_port),
        "{remote:?}"
    );

    // Names of a closed connection are withdrawn: B's no longer resolves.
    b.close().await;
    let (c, _c_events) = RtcPeer::spawn(mdns_config(), &bind).await.unwrap();
    let offer = a.create_offer().await.unwrap();
    c.set_remote_description(offer).await.unwrap();
    let refused = c.add_ice_candidate(&b_names[0]).await;
    assert!(
        matches!(&refused, Err(Error::Candidate(why)) if why.contains("unresolved")),
        "{refused:?}"
    );
    a.close().await;
    c.close().await;
}

#[tokio::test]
async fn without_the_options_local_candidates_are_refused_and_ips_signalled() {
    let bind = ["127.0.0.1:0".parse().unwrap()];
    let (a, _a_events) = RtcPeer::spawn(RtcConfig::default(), &bind).await.unwrap();
    let (b, _b_events) = RtcPeer::spawn(RtcConfig::default(), &bind).await.unwrap();
    a.create_data_channel("chat", DataChannelInit::default())
        .await
        .unwrap();
    let offer = a.create_offer().await.unwrap();
    let lines = candidate_lines(&offer.sdp);
    assert!(lines.iter().all(|l| l.contains(" 127.0.0.1 ")), "{lines:?}");
    b.set_remote_description(offer).await.unwrap();
    let name = "candidate:1 1 udp 2130706431 1f3b2c4d-0000-4abc-8def-0123456789ab.local 9 typ host";
    // Refused at once, without a query.
    let refused = tokio::time::timeout(Duration::from_millis(500), b.add_ice_candidate(name))
        .await
        .expect("no resolution without mdns_resolve");
    assert!(matches!(refused, Err(Error::Candidate(_))));
    a.close().await;
    b.close().await;
}

/// A responder that answers the way Chromium 156's does (measured in crates/cli/tests/serve_mdns.rs):
/// only queries with exactly one question, only questions without the unicast-response bit,
/// and always by multicast to 224.0.0.251:5353, whatever port the query came from. Tern's
/// resolver must still find the name (a two-question QU query from an ephemeral port, which it
/// sent before, got no answer at all from Chromium). And Tern's responder, asked the way
/// Chromium asks (one A question, QM, from port 5353), answers by multicast.
#[tokio::test]
async fn the_resolver_and_responder_speak_to_a_chromium_style_peer() {
    use std::net::{Ipv4Addr, SocketAddr};
    use tern_peerconnection::mdns;
    let lo = Ipv4Addr::LOCALHOST;
    let group_socket = || {
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )
        .unwrap();
        socket.set_reuse_address(true).unwrap();
        socket.set_reuse_port(true).unwrap();
        socket.set_nonblocking(true).unwrap();
        socket
            .bind(&SocketAddr::from((*mdns::MDNS_V4.ip(), 5353)).into())
            .unwrap();
        socket.join_multicast_v4(mdns::MDNS_V4.ip(), &lo).unwrap();
        socket.set_multicast_if_v4(&lo).unwrap();
        socket.set_multicast_loop_v4(true).unwrap();
        tokio::net::UdpSocket::from_std(socket.into()).unwrap()
    };
    let name = "0d9a5c1e-7b2f-4c3d-9e8f-102132435465.local";
    let chromium = group_socket();
    let answered = tokio::spawn(async move {
        let mut buf = vec![0u8; mdns::MAX_PACKET];
        let mut refused = 0;
        loop {
            let (n, _) = chromium.recv_from(&mut buf).await.unwrap();
            let Ok(m) = mdns::parse(&buf[..n]) else {
                continue;
            };
            if m.response || !m.questions.iter().any(|q| q.name == name) {
                continue;
            }
            let [q] = m.questions.as_slice() else {
                refused += 1;
                continue;
            };
            if q.unicast || q.qtype != mdns::TYPE_A {
                refused += 1;
                continue;
            }
            let ip = [std::net::IpAddr::V4(lo)];
            let reply = mdns::response(0, &[], name, &ip, &ip).unwrap();
            chromium
                .send_to(&reply, SocketAddr::V4(mdns::MDNS_V4))
                .await
                .unwrap();
            return refused;
        }
    });
    let bind = ["127.0.0.1:0".parse().unwrap()];
    let (a, _a_events) = RtcPeer::spawn(mdns_config(), &bind).await.unwrap();
    let (b, _b_events) = RtcPeer::spawn(mdns_config(), &bind).await.unwrap();
    a.create_data_channel("chat", DataChannelInit::default())
        .await
        .unwrap();
    let offer = a.create_offer().await.unwrap();
    let tern_name = hidden_candidates(&offer.sdp)[0]
        .split(' ')
        .nth(4)
        .unwrap()
        .to_string();
    b.set_remote_description(offer).await.unwrap();
    let candidate = format!("candidate:1 1 udp 2113937151 {name} 9 typ host");
    tokio::time::timeout(Duration::from_secs(5), b.add_ice_candidate(&candidate))
        .await
        .expect("resolution within the resolver's timeout")
        .expect("the Chromium-style responder's multicast answer resolves the name");
    // The resolver asks A (then AAAA) in single-question QM queries: nothing was refused.
    let refused = answered.await.unwrap();
    assert_eq!(refused, 0, "questions Chromium would ignore");

    // Asked like Chromium asks, Tern's responder (A's) answers by multicast.
    let asker = group_socket();
    let query = mdns::query(0, &tern_name, &[mdns::TYPE_A], false).unwrap();
    asker
        .send_to(&query, SocketAddr::V4(mdns::MDNS_V4))
        .await
        .unwrap();
    let mut buf = vec![0u8; mdns::MAX_PACKET];
    let answer = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            let (n, _) = asker.recv_from(&mut buf).await.unwrap();
            if let Ok(m) = mdns::parse(&buf[..n])
                && m.response
                && m.records.iter().any(|r| r.name == tern_name)
            {
                return m;
            }
        }
    })
    .await
    .expect("Tern's responder answered by multicast");
    assert_eq!(answer.id, 0);
    assert_eq!(answer.records[0].address, std::net::IpAddr::V4(lo));
    a.close().await;
    b.close().await;
}
