//! Any `iceServers` URLs (one per line, with credentials): no panic; either a typed refusal at
//! construction, or a connection that offers and gathers with those servers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Instant;
use tern_peerconnection::{IceServer, IceTransportPolicy, PeerConnection, RtcConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let urls: Vec<String> = text.lines().take(8).map(str::to_string).collect();
    let relay = data.first().is_some_and(|b| b & 1 == 1);
    let config = RtcConfig {
        seed: Some(1),
        ice_servers: vec![IceServer { urls, username: Some("u".into()), credential: Some("p".into()) }],
        ice_transport_policy: if relay { IceTransportPolicy::Relay } else { IceTransportPolicy::All },
        ..RtcConfig::default()
    };
    let now = Instant::now();
    let Ok(mut pc) = PeerConnection::new(config, now) else { return };
    pc.add_local_address(now, "127.0.0.1:40000".parse().unwrap());
    assert!(pc.create_offer(now).is_ok(), "accepted servers must not break offering");
    while pc.poll_transmit().is_some() {}
});
