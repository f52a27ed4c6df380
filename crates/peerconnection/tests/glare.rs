//! Rollback and glare (W3C perfect negotiation): both peers offer at once; the polite one
//! applies the other's offer (an implicit rollback of its own), answers, then offers again; an
//! explicit rollback of either side's offer restores what was in force.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // Instant::now() only as the base of the virtual clock

mod harness;

use harness::Pair;
use std::time::Duration;
use tern_peerconnection::{
    DataChannelInit, Direction, Event, MediaKind, PeerConnectionState, SdpType,
    SessionDescriptionInit, SignalingState,
};

fn rollback() -> SessionDescriptionInit {
    SessionDescriptionInit {
        sdp_type: SdpType::Rollback,
        sdp: String::new(),
    }
}

#[test]
fn glare_is_resolved_by_the_polite_peer_and_both_tracks_end_up_negotiated() {
    let mut pair = Pair::new(60);
    let now = pair.now;
    pair.a
        .pc
        .create_data_channel(now, "chat", DataChannelInit::default())
        .unwrap();
    pair.negotiate(|_| {});
    pair.run_until(Duration::from_secs(10), |p| {
        p.a.pc.connection_state() == PeerConnectionState::Connected
    });

    // Both add a track and offer at the same time.
    let now = pair.now;
    let a_audio = pair
        .a
        .pc
        .add_track(MediaKind::Audio, "a", "a-audio")
        .unwrap();
    let b_video = pair
        .b
        .pc
        .add_track(MediaKind::Video, "b", "b-video")
        .unwrap();
    let a_offer = pair.a.pc.create_offer(now).unwrap();
    pair.a
        .pc
        .set_local_description(now, a_offer.clone())
        .unwrap();
    let b_offer = pair.b.pc.create_offer(now).unwrap();
    pair.b
        .pc
        .set_local_description(now, b_offer.clone())
        .unwrap();
    // Both offers use the next free mid for their new section: they collide.
    assert_eq!(
        pair.a.pc.transceiver_mid(a_audio),
        pair.b.pc.transceiver_mid(b_video)
    );

    // a is impolite: it ignores b's offer (never applies it). b is polite: applying a's offer
    // rolls its own back.
    drop(b_offer);
    pair.b.pc.set_remote_description(now, a_offer).unwrap();
    assert_eq!(pair.b.pc.signaling_state(), SignalingState::HaveRemoteOffer);
    assert_eq!(
        pair.b.pc.transceiver_mid(b_video),
        None,
        "b's unapplied mid is forgotten"
    );
    let answer = pair.b.pc.create_answer(now).unwrap();
    pair.b
        .pc
        .set_local_description(now, answer.clone())
        .unwrap();
    pair.a.pc.set_remote_description(now, answer).unwrap();
    assert_eq!(pair.a.pc.signaling_state(), SignalingState::Stable);

    // b offers again, now with its video in a fresh section.
    let offer = pair.b.pc.create_offer(now).unwrap();
    pair.b.pc.set_local_description(now, offer.clone()).unwrap();
    pair.a.pc.set_remote_description(now, offer).unwrap();
    let answer = pair.a.pc.create_answer(now).unwrap();
    pair.a
        .pc
        .set_local_description(now, answer.clone())
        .unwrap();
    pair.b.pc.set_remote_description(now, answer).unwrap();
    let audio_mid = pair.a.pc.transceiver_mid(a_audio).unwrap().to_string();
    let video_mid = pair.b.pc.transceiver_mid(b_video).unwrap().to_string();
    assert_ne!(audio_mid, video_mid);
    assert_eq!(
        pair.a.pc.current_direction(a_audio),
        Some(Direction::SendOnly)
    );
    assert_eq!(
        pair.b.pc.current_direction(b_video),
        Some(Direction::SendOnly)
    );

    pair.run_for(Duration::from_millis(100));
    for i in 0..10u32 {
        let now = pair.now;
        pair.a
            .pc
            .write_rtp(now, a_audio, &[0xf8, 0xff, 0xfe], i * 960, false)
            .unwrap();
        pair.b
            .pc
            .write_rtp(now, b_video, &[1, 2, 3], i * 3000, true)
            .unwrap();
        pair.run_for(Duration::from_millis(20));
    }
    let b_got = pair
        .b
        .events
        .iter()
        .filter(|e| matches!(e, Event::Rtp(p) if p.mid == audio_mid))
        .count();
    let a_got = pair
        .a
        .events
        .iter()
        .filter(|e| matches!(e, Event::Rtp(p) if p.mid == video_mid))
        .count();
    assert_eq!((b_got, a_got), (10, 10));
}

#[test]
fn explicit_rollbacks_restore_the_stable_state() {
    let mut pair = Pair::new(61);
    let now = pair.now;
    pair.a
        .pc
        .create_data_channel(now, "chat", DataChannelInit::default())
        .unwrap();
    pair.negotiate(|_| {});
    let stable_local = pair.a.pc.local_description().cloned();

    // a's own offer, rolled back: its new section is gone from the next offer's numbering.
    let audio = pair.a.pc.add_track(MediaKind::Audio, "s", "t").unwrap();
    let offer = pair.a.pc.create_offer(now).unwrap();
    pair.a.pc.set_local_description(now, offer.clone()).unwrap();
    pair.a.pc.set_local_description(now, rollback()).unwrap();
    assert_eq!(pair.a.pc.signaling_state(), SignalingState::Stable);
    assert_eq!(pair.a.pc.local_description().cloned(), stable_local);
    assert_eq!(pair.a.pc.transceiver_mid(audio), None);

    // The same offer at b, rolled back by b: b keeps no transceiver from it.
    pair.b
        .pc
        .set_remote_description(now, offer.clone())
        .unwrap();
    pair.b.pc.set_remote_description(now, rollback()).unwrap();
    assert_eq!(pair.b.pc.signaling_state(), SignalingState::Stable);
    let answerless = pair.b.pc.create_offer(now).unwrap();
    assert!(!answerless.sdp.contains("m=audio"), "{}", answerless.sdp);
    // Rolling back in stable is refused.
    assert!(pair.b.pc.set_remote_description(now, rollback()).is_err());
    assert!(pair.a.pc.set_local_description(now, rollback()).is_err());
}
