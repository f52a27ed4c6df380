//! The tokio driver on real loopback sockets: two `RtcPeer`s negotiate, send a data-channel
//! message and audio RTP both ways, report stats, and `close()` ends each connection task (the
//! event stream ends: no task left behind — BAD_INPUT row 38). TURN over TCP
//! (`?transport=tcp`): a server that refuses the connection, or accepts the Allocate and hangs
//! up, fails the relay cleanly (gathering completes without a relayed candidate), and `close()`
//! closes the TCP connection (its task ends with the connection's).
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
    DataChannelId, DataChannelInit, Event, IceServer, IceTransportPolicy, MediaKind, RtcConfig,
    RtcEvents, RtcPeer, SdpType, SessionDescriptionInit, Stats,
};
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn two_drivers_carry_data_and_audio_and_close_cleanly() {
    let bind = ["127.0.0.1:0".parse().unwrap()];
    let (a, mut a_events) = RtcPeer::spawn(RtcConfig::default(), &bind).await.unwrap();
    let (b, mut b_events) = RtcPeer::spawn(RtcConfig::default(), &bind).await.unwrap();
    let chat = a
        .create_data_channel("chat", DataChannelInit::default())
        .await
        .unwrap();
    let a_audio = a.add_track(MediaKind::Audio, "s", "a").await.unwrap();
    let offer = a.create_offer().await.unwrap();
    a.set_local_description(offer.clone()).await.unwrap();
    b.set_remote_description(offer).await.unwrap();
    let b_audio = b.add_track(MediaKind::Audio, "s", "b").await.unwrap();
    let answer = b.create_answer().await.unwrap();
    b.set_local_description(answer.clone()).await.unwrap();
    a.set_remote_description(SessionDescriptionInit {
        sdp_type: SdpType::Answer,
        sdp: answer.sdp,
    })
    .await
    .unwrap();

    next_matching(
        &mut a_events,
        |e| matches!(e, Event::DataChannelOpen { id } if *id == chat),
    )
    .await;
    a.send(chat, b"over real sockets".to_vec(), false)
        .await
        .unwrap();
    let got = next_matching(&mut b_events, |e| {
        matches!(e, Event::DataChannelMessage { .. })
    })
    .await;
    assert!(matches!(got, Event::DataChannelMessage { data, .. } if data == b"over real sockets"));

    for i in 0..5u32 {
        a.write_rtp(a_audio, vec![0xf8, 0xff, 0xfe], i * 960, false)
            .await
            .unwrap();
        b.write_rtp(b_audio, vec![0xf8, 0xff, 0xfe], i * 960, false)
            .await
            .unwrap();
    }
    let at_b = next_matching(&mut b_events, |e| matches!(e, Event::Rtp(_))).await;
    assert!(
        matches!(at_b, Event::Rtp(p) if p.transceiver == b_audio && p.payload == [0xf8, 0xff, 0xfe])
    );
    let at_a = next_matching(&mut a_events, |e| matches!(e, Event::Rtp(_))).await;
    assert!(matches!(at_a, Event::Rtp(p) if p.transceiver == a_audio));

    let stats = a.stats().await.unwrap();
    let outbound = stats
        .stats
        .iter()
        .find_map(|s| match s {
            Stats::OutboundRtp(o) => Some(o.packets_sent),
            _ => None,
        })
        .unwrap();
    assert_eq!(outbound, 5);
    // Timestamps come from the wall clock once the driver gave the NTP time: after 2020.
    assert!(stats.stats.iter().all(|s| match s {
        Stats::Transport(t) => t.timestamp > 1.6e12,
        _ => true,
    }));

    a.close().await;
    b.close().await;
    // The tasks are gone: the event streams end and commands are refused.
    for events in [&mut a_events, &mut b_events] {
        tokio::time::timeout(Duration::from_secs(5), async {
            while events.recv().await.is_some() {}
        })
        .await
        .expect("the connection task ended");
    }
    assert!(a.create_offer().await.is_err());
}

fn tcp_relay_only(port: u16) -> RtcConfig {
    RtcConfig {
        ice_servers: vec![IceServer {
            urls: vec![format!("turn:127.0.0.1:{port}?transport=tcp")],
            username: Some("u".into()),
            credential: Some("p".into()),
        }],
        ice_transport_policy: IceTransportPolicy::Relay,
        ..RtcConfig::default()
    }
}

/// Starts gathering and returns the candidates signalled until gathering completes.
async fn gather(peer: &RtcPeer, events: &mut RtcEvents) -> Vec<String> {
    peer.create_data_channel("c", DataChannelInit::default())
        .await
        .unwrap();
    let offer = peer.create_offer().await.unwrap();
    peer.set_local_description(offer).await.unwrap();
    let mut candidates = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events
                .recv()
                .await
                .expect("the connection task ended early")
            {
                Event::LocalCandidate(c) => candidates.push(c),
                Event::IceGatheringComplete => return,
                _ => {}
            }
        }
    })
    .await
    .expect("gathering never completed");
    candidates
}

#[tokio::test]
async fn turn_tcp_connection_refused_fails_the_relay_cleanly() {
    // A port nobody listens on: the connect is refused at once.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let bind = ["127.0.0.1:0".parse().unwrap()];
    let (peer, mut events) = RtcPeer::spawn(tcp_relay_only(port), &bind).await.unwrap();
    let candidates = gather(&peer, &mut events).await;
    assert!(candidates.is_empty(), "{candidates:?}");
    // The task is alive and answers.
    assert!(peer.stats().await.is_ok());
    peer.close().await;
}

#[tokio::test]
async fn turn_tcp_server_hanging_up_fails_the_relay_cleanly() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut stream, from) = listener.accept().await.unwrap();
        let mut header = [0u8; 20];
        stream.read_exact(&mut header).await.unwrap();
        // Hang up without answering (the stream is dropped here).
        (from, header)
    });
    let bind = ["127.0.0.1:0".parse().unwrap()];
    let (peer, mut events) = RtcPeer::spawn(tcp_relay_only(port), &bind).await.unwrap();
    let candidates = gather(&peer, &mut events).await;
    let (from, header) = server.await.unwrap();
    // The connection left from the host socket's IP and began with an Allocate request
    // (RFC 8656 §7.1: method 0x003, class request; RFC 8489 magic cookie).
    assert_eq!(from.ip(), peer.local_addresses()[0].ip());
    assert_eq!(header[0..2], [0x00, 0x03]);
    assert_eq!(header[4..8], [0x21, 0x12, 0xa4, 0x42]);
    assert!(candidates.is_empty(), "{candidates:?}");
    assert!(peer.stats().await.is_ok());
    peer.close().await;
}

#[tokio::test]
async fn close_ends_the_turn_tcp_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted_tx, accepted) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut header = [0u8; 20];
        stream.read_exact(&mut header).await.unwrap();
        accepted_tx.send(()).unwrap();
        // Never answers; reads until the client's end is closed.
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
            .await
            .expect("the driver kept the TCP connection open after close()")
            .unwrap();
    });
    let bind = ["127.0.0.1:0".parse().unwrap()];
    let (peer, _events) = RtcPeer::spawn(tcp_relay_only(port), &bind).await.unwrap();
    let offer = peer.create_offer().await.unwrap();
    peer.set_local_description(offer).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), accepted)
        .await
        .expect("no TCP connection to the TURN server")
        .unwrap();
    peer.close().await;
    server.await.unwrap();
}

/// Two driver peers on loopback, negotiated, with channel "bulk" from a to b open on a.
async fn two_drivers_with_an_open_channel()
-> (RtcPeer, RtcEvents, RtcPeer, RtcEvents, DataChannelId) {
    let bind = ["127.0.0.1:0".parse().unwrap()];
    let (a, mut a_events) = RtcPeer::spawn(RtcConfig::default(), &bind).await.unwrap();
    let (b, b_events) = RtcPeer::spawn(RtcConfig::default(), &bind).await.unwrap();
    let channel = a
        .create_data_channel("bulk", DataChannelInit::default())
        .await
        .unwrap();
    let offer = a.create_offer().await.unwrap();
    a.set_local_description(offer.clone()).await.unwrap();
    b.set_remote_description(offer).await.unwrap();
    let answer = b.create_answer().await.unwrap();
    b.set_local_description(answer.clone()).await.unwrap();
    a.set_remote_description(answer).await.unwrap();
    next_matching(
        &mut a_events,
        |e| matches!(e, Event::DataChannelOpen { id } if *id == channel),
    )
    .await;
    (a, a_events, b, b_events, channel)
}

/// Message `i` of the bulk transfer: bytes from a xorshift generator seeded with `i`, so a
/// lost, duplicated, reordered or corrupted datagram shows as a wrong message.
fn bulk_message(i: u64, len: usize) -> Vec<u8> {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A bulk transfer between two drivers on loopback. The sender's GSO sends (up to 64 datagrams
/// per `sendmsg`) arrive at the receiving socket, which has UDP GRO on, as super-datagrams:
/// the receiving driver must split each at the kernel's segment size (the last segment
/// shorter) and hand the datagrams over one by one — a super-datagram passed whole, or split
/// at a wrong boundary, breaks DTLS records and the transfer stalls. Every message
/// arrives, in order, byte for byte, and the byte count matches. (DTLS alone would not notice a
/// super-datagram passed whole — several records in one datagram are legal — so the test also
/// counts datagrams.)
#[tokio::test]
async fn a_bulk_transfer_arrives_whole_through_gso_and_gro() {
    const MESSAGE: usize = 65_535;
    const MESSAGES: u64 = 48;
    let (a, mut a_events, b, mut b_events, bulk) = two_drivers_with_an_open_channel().await;
    let receiver = tokio::spawn(async move {
        let mut received = 0usize;
        for i in 0..MESSAGES {
            let got = next_matching(&mut b_events, |e| {
                matches!(e, Event::DataChannelMessage { .. })
            })
            .await;
            let Event::DataChannelMessage { data, binary, .. } = got else {
                unreachable!()
            };
            assert!(binary);
            assert!(data == bulk_message(i, MESSAGE), "message {i} differs");
            received += data.len();
        }
        received
    });
    // Keep up to 1 MiB queued: SCTP sends in full congestion windows, so GSO batches fill.
    a.set_buffered_amount_low_threshold(bulk, 512 * 1024).await;
    for i in 0..MESSAGES {
        if a.buffered_amount(bulk).await > 1 << 20 {
            next_matching(
                &mut a_events,
                |e| matches!(e, Event::DataChannelBufferedAmountLow { id } if *id == bulk),
            )
            .await;
        }
        a.send(bulk, bulk_message(i, MESSAGE), true).await.unwrap();
    }
    let received = tokio::time::timeout(Duration::from_secs(60), receiver)
        .await
        .expect("the bulk transfer stalled")
        .unwrap();
    assert_eq!(received, MESSAGES as usize * MESSAGE);
    // Datagram by datagram: what `b`'s core was handed is what `a`'s core sent (loopback loses
    // next to nothing), not the fewer, larger super-datagrams the kernel delivered.
    let transport = |report: tern_peerconnection::StatsReport| {
        report
            .stats
            .into_iter()
            .find_map(|s| match s {
                Stats::Transport(t) => Some((t.packets_sent, t.packets_received)),
                _ => None,
            })
            .unwrap()
    };
    let (sent, _) = transport(a.stats().await.unwrap());
    let (_, arrived) = transport(b.stats().await.unwrap());
    assert!(
        arrived <= sent && arrived * 10 >= sent * 9,
        "a sent {sent} datagrams, b's core was handed {arrived}"
    );
    a.close().await;
    b.close().await;
}

/// Data-channel throughput of two drivers on loopback (UDP, DTLS, SCTP), for comparing driver
/// changes: `cargo test --release -p tern-peerconnection --features tokio --test driver --
/// --ignored --nocapture throughput`. Prints MB/s; asserts only that every byte arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run by hand in release"]
#[allow(clippy::disallowed_methods)] // wall-clock time is what is measured
async fn throughput_two_drivers_on_loopback() {
    const MESSAGE: usize = 16 * 1024;
    const TOTAL: usize = 64 << 20;
    let (a, _a_events, b, mut b_events, chat) = two_drivers_with_an_open_channel().await;
    let started = std::time::Instant::now();
    let receiver = tokio::spawn(async move {
        let mut received = 0usize;
        while received < TOTAL {
            match b_events.recv().await.expect("b ended early") {
                Event::DataChannelMessage { data, .. } => received += data.len(),
                _ => continue,
            }
        }
        received
    });
    let message = vec![0x5a; MESSAGE];
    let mut sent = 0;
    while sent < TOTAL {
        // Keep about 1 MiB queued (W3C bufferedAmount flow control).
        while a.buffered_amount(chat).await > 1 << 20 {
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        a.send(chat, message.clone(), true).await.unwrap();
        sent += MESSAGE;
    }
    let received = tokio::time::timeout(Duration::from_secs(120), receiver)
        .await
        .expect("timed out")
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(received, TOTAL);
    eprintln!(
        "throughput: {} MiB in {seconds:.2} s = {:.1} MB/s",
        TOTAL >> 20,
        TOTAL as f64 / seconds / 1e6
    );
    a.close().await;
    b.close().await;
}
