//! SDP parse of Chromium 156's audio+video+data offer: tern-sdp vs webrtc-rs `sdp` 0.17.2 and
//! Mozilla `webrtc-sdp` 0.3.17. Prints one line per peer: `tern=<ns> peer=<ns> name=<peer>`.
use std::hint::black_box;
use std::io::Cursor;
use tern_bench_compare::compare;

const OFFER: &str = include_str!("../chromium-156-offer-av-data.sdp");

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "parse".into());
    // Time only what succeeds: a parser that rejects the offer would measure its error path.
    if let Err(e) = tern_sdp::SessionDescription::parse(OFFER) {
        panic!("tern-sdp rejects the offer: {e}");
    }
    if let Err(e) = sdp::SessionDescription::unmarshal(&mut Cursor::new(OFFER.as_bytes())) {
        panic!("webrtc-rs sdp rejects the offer: {e}");
    }
    if let Err(e) = webrtc_sdp::parse_sdp(OFFER, false) {
        panic!("webrtc-sdp rejects the offer: {e:?}");
    }
    let (rounds, iters) = (61, 100);
    let parse_tern = || {
        drop(black_box(tern_sdp::SessionDescription::parse(black_box(
            OFFER,
        ))))
    };
    if mode == "serialize" {
        let t = tern_sdp::SessionDescription::parse(OFFER).unwrap();
        let w = sdp::SessionDescription::unmarshal(&mut Cursor::new(OFFER.as_bytes())).unwrap();
        let (tern, peer) = compare(
            rounds,
            iters,
            || drop(black_box(t.to_string())),
            || drop(black_box(w.marshal())),
        );
        println!("tern={tern:.0} peer={peer:.0} name=webrtc-rs-sdp-0.17.2");
    } else {
        let (tern, peer) = compare(rounds, iters, parse_tern, || {
            drop(black_box(sdp::SessionDescription::unmarshal(
                &mut Cursor::new(black_box(OFFER).as_bytes()),
            )))
        });
        println!("tern={tern:.0} peer={peer:.0} name=webrtc-rs-sdp-0.17.2");
        let (tern, peer) = compare(rounds, iters, parse_tern, || {
            drop(black_box(webrtc_sdp::parse_sdp(black_box(OFFER), false)))
        });
        println!("tern={tern:.0} peer={peer:.0} name=mozilla-webrtc-sdp-0.3.17");
    }
}
