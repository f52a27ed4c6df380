//! ICE restart (RFC 8445 §9, JSEP `restartIce`): new credentials both ways, the old pair keeps
//! carrying data meanwhile, checks run again and the data channel never notices.
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
    DataChannelInit, Event, IceConnectionState, PeerConnection, PeerConnectionState, Stats,
};

fn ufrag(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap()
        .trim()
        .to_string()
}

fn succeeded_pairs(pc: &PeerConnection, now: std::time::Instant) -> usize {
    pc.stats(now)
        .stats
        .iter()
        .filter(|s| matches!(s, Stats::CandidatePair(p) if p.state == "succeeded"))
        .count()
}

fn restart(initiator_is_a: bool) {
    let mut pair = Pair::new(if initiator_is_a { 50 } else { 51 });
    let now = pair.now;
    let chat = pair
        .a
        .pc
        .create_data_channel(now, "chat", DataChannelInit::default())
        .unwrap();
    pair.negotiate(|_| {});
    pair.run_until(Duration::from_secs(10), |p| {
        p.a.events
            .iter()
            .any(|e| matches!(e, Event::DataChannelOpen { id } if *id == chat))
            && p.b
                .events
                .iter()
                .any(|e| matches!(e, Event::DataChannel { .. }))
    });
    let remote_chat = pair
        .b
        .events
        .iter()
        .find_map(|e| match e {
            Event::DataChannel { id, .. } => Some(*id),
            _ => None,
        })
        .unwrap();
    let (a_ufrag, b_ufrag) = (
        pair.a.pc.local_ice_ufrag().to_string(),
        pair.b.pc.local_ice_ufrag().to_string(),
    );
    let checks_before = pair
        .b
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::IceConnectionStateChange(IceConnectionState::Checking)
            )
        })
        .count();

    // The restart offer comes from a, or from b (then b offers and a answers).
    let now = pair.now;
    let (offerer, answerer) = if initiator_is_a {
        (&mut pair.a.pc, &mut pair.b.pc)
    } else {
        (&mut pair.b.pc, &mut pair.a.pc)
    };
    offerer.restart_ice();
    let offer = offerer.create_offer(now).unwrap();
    offerer.set_local_description(now, offer.clone()).unwrap();
    answerer.set_remote_description(now, offer.clone()).unwrap();
    let answer = answerer.create_answer(now).unwrap();
    answerer.set_local_description(now, answer.clone()).unwrap();
    offerer.set_remote_description(now, answer.clone()).unwrap();
    let (offer_ufrag, answer_ufrag) = (ufrag(&offer.sdp), ufrag(&answer.sdp));
    if initiator_is_a {
        assert_ne!(offer_ufrag, a_ufrag);
        assert_ne!(answer_ufrag, b_ufrag);
    } else {
        assert_ne!(offer_ufrag, b_ufrag);
        assert_ne!(answer_ufrag, a_ufrag);
    }

    // Data flows during and after the restart.
    let now = pair.now;
    pair.a
        .pc
        .send(now, chat, b"during the restart", false)
        .unwrap();
    // Longer than consent freshness allows without answered checks (RFC 7675: 30 s): the
    // connection only stays up if both sides check with the new credentials.
    pair.run_for(Duration::from_secs(40));
    let now = pair.now;
    pair.b
        .pc
        .send(now, remote_chat, b"after the restart", false)
        .unwrap();
    pair.run_for(Duration::from_secs(1));
    let got_b: Vec<_> = pair
        .b
        .events
        .iter()
        .filter_map(|e| match e {
            Event::DataChannelMessage { data, .. } => Some(data.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(got_b, vec![b"during the restart".to_vec()]);
    assert!(pair.a.events.iter().any(
        |e| matches!(e, Event::DataChannelMessage { data, .. } if data == b"after the restart")
    ));
    assert_eq!(pair.a.pc.connection_state(), PeerConnectionState::Connected);
    assert_eq!(pair.b.pc.connection_state(), PeerConnectionState::Connected);
    assert!(
        !pair
            .a
            .events
            .iter()
            .any(|e| matches!(e, Event::DataChannelClose { .. }))
    );
    // The checks ran again with the new credentials and succeeded.
    let now = pair.now;
    assert!(succeeded_pairs(&pair.a.pc, now) >= 1);
    assert!(succeeded_pairs(&pair.b.pc, now) >= 1);
    assert_eq!(
        pair.a
            .pc
            .stats(now)
            .stats
            .iter()
            .filter(|s| matches!(s, Stats::CandidatePair(_)))
            .count(),
        1
    );
    let checks_after = pair
        .b
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::IceConnectionStateChange(IceConnectionState::Checking)
            )
        })
        .count();
    assert!(checks_after >= checks_before);
    assert!(!pair.a.events.iter().any(|e| matches!(
        e,
        Event::IceConnectionStateChange(
            IceConnectionState::Failed | IceConnectionState::Disconnected
        )
    )));
}

#[test]
fn ice_restart_by_the_first_offerer_keeps_the_session() {
    restart(true);
}

#[test]
fn ice_restart_by_the_first_answerer_keeps_the_session() {
    restart(false);
}
