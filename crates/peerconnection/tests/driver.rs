//! The tokio driver on real loopback sockets: two `RtcPeer`s negotiate, send a data-channel
//! message and audio RTP both ways, report stats, and `close()` ends each connection task (the
//! event stream ends: no task left behind — BAD_INPUT row 38).
#![cfg(feature = "tokio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;
use tern_peerconnection::{
    DataChannelInit, Event, MediaKind, RtcConfig, RtcEvents, RtcPeer, SdpType,
    SessionDescriptionInit, Stats,
};

async fn next_matching(events: &mut RtcEvents, mut want: impl FnMut(&Event) -> bool) -> Event {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let event = events
                .recv()
                .await
                .expect("the connection task ended early");
            if want(&event) {
                return event;
            }
        }
    })
    .await
    .expect("timed out waiting for an event")
}

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
