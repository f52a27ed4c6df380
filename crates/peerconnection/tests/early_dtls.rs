//! The answerer's DTLS may reach the offerer before the answer does (signaling is slower than
//! the media path: libdatachannel sends its ClientHello as soon as its ICE connects). The
//! offerer holds it, bounded, until the answer and ICE let DTLS start, instead of dropping it
//! and waiting a full 1 s DTLS retransmission.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // Instant::now() only as the base of the virtual clock

mod harness;

use std::time::Duration;
use tern_peerconnection::{DataChannelInit, Event};

#[test]
fn dtls_arriving_before_the_answer_is_held_not_dropped() {
    let mut pair = harness::Pair::new(71);
    let now = pair.now;
    let chat = pair
        .a
        .pc
        .create_data_channel(now, "chat", DataChannelInit::default())
        .unwrap();
    let offer = pair.a.pc.create_offer(now).unwrap();
    pair.a.pc.set_local_description(now, offer.clone()).unwrap();
    pair.b.pc.set_remote_description(now, offer).unwrap();
    let answer = pair.b.pc.create_answer(now).unwrap();
    pair.b
        .pc
        .set_local_description(now, answer.clone())
        .unwrap();
    // The answer is "in signaling" for 300 ms while the peers' datagrams flow.
    pair.run_for(Duration::from_millis(300));
    let answered = pair.now;
    pair.a.pc.set_remote_description(answered, answer).unwrap();
    pair.run_until(Duration::from_secs(5), |p| {
        p.a.events
            .iter()
            .any(|e| matches!(e, Event::DataChannelOpen { id } if *id == chat))
    });
    let open_after = pair.now - answered;
    assert!(
        pair.a
            .events
            .iter()
            .any(|e| matches!(e, Event::DataChannelOpen { id } if *id == chat)),
        "channel never opened"
    );
    eprintln!("open {open_after:?} after the answer");
    // No DTLS flight waited for its 1 s retransmission timer.
    assert!(open_after < Duration::from_millis(500), "{open_after:?}");
}
