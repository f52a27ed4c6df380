//! Suite `pc-chromium`: Tern's peer connection against headless Chromium (libwebrtc, dcsctp,
//! BoringSSL DTLS) on 127.0.0.1, both directions of offer, one Chromium per case.
//!
//! The page (support/interop_page.html) opens a data channel per case and checks that Tern echoes
//! every message byte-exact; Tern echoes every message on channels the browser opened.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // a test driver owns the clock

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use support::browser::{Chromium, HttpServer};
use tern_peerconnection::{
    DataChannelId, DataChannelInit, Event, KeyframeRequestKind, MediaKind, PeerConnection,
    RtcConfig, SdpType, SessionDescriptionInit,
};

const PAGE: &str = include_str!("support/interop_page.html");
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Direction {
    BrowserOffers,
    TernOffers,
}

fn run_case(direction: Direction, case: &str) {
    eprintln!(
        "pc-chromium: {case} ({direction:?}) against {}",
        Chromium::version()
    );
    let http = HttpServer::start();
    // In xtask's namespace Chromium's only host candidate is the namespace's veth address (it never
    // gathers loopback), so we bind there too; elsewhere 127.0.0.1.
    let ip = std::env::var("TERN_INTEROP_IP").unwrap_or_else(|_| "127.0.0.1".into());
    let socket = UdpSocket::bind((ip.as_str(), 0)).unwrap();
    let local: SocketAddr = socket.local_addr().unwrap();
    let start = Instant::now();
    let mut pc = PeerConnection::new(RtcConfig::default(), start).unwrap();
    pc.add_local_address(start, local);

    // Tern's own channel: carries the `tern-opens` case and gives our offer an m=application.
    let tern_channel: DataChannelId = pc
        .create_data_channel(start, "tern-opened", DataChannelInit::default())
        .unwrap();
    // The media case: Tern sends an audio and a video track and echoes the page's RTP on them.
    if case == "media" && direction == Direction::TernOffers {
        pc.add_track(MediaKind::Audio, "tern", "tern-audio")
            .unwrap();
        pc.add_track(MediaKind::Video, "tern", "tern-video")
            .unwrap();
    }
    let tern_offer = if direction == Direction::TernOffers {
        let offer = pc.create_offer(start).unwrap();
        pc.set_local_description(start, offer.clone()).unwrap();
        Some(offer.sdp)
    } else {
        None
    };

    let query = match direction {
        Direction::BrowserOffers => "browser-offers",
        Direction::TernOffers => "tern-offers",
    };
    let _chromium = Chromium::open(&format!(
        "http://127.0.0.1:{}/?direction={query}&case={case}",
        http.port
    ));

    let mut buf = vec![0u8; 65536];
    let mut result: Option<(bool, String)> = None;
    let mut tern_echoes: Vec<Vec<u8>> = Vec::new();
    let tern_messages: Vec<Vec<u8>> = vec![
        b"hello from tern".to_vec(),
        vec![0u8, 1, 2, 255],
        vec![7u8; 70_000],
    ];
    let mut tern_sent = false;
    let mut log = Vec::new();
    let mut rtp_echoed = 0usize;
    let deadline = start + CASE_TIMEOUT;
    while result.is_none() {
        let now = Instant::now();
        assert!(now < deadline, "case {case} timed out; page log: {log:?}");

        // Signaling and results from the page.
        while let Ok(request) = http.requests.try_recv() {
            match (
                request.method.as_str(),
                request.path.split('?').next().unwrap_or(""),
            ) {
                ("GET", "/") => request.reply("text/html; charset=utf-8", PAGE),
                ("POST", "/offer") => {
                    let offer = SessionDescriptionInit {
                        sdp_type: SdpType::Offer,
                        sdp: request.body_text(),
                    };
                    pc.set_remote_description(now, offer).unwrap();
                    if case == "media" {
                        // addTrack takes the transceivers the browser's offer created.
                        pc.add_track(MediaKind::Audio, "tern", "tern-audio")
                            .unwrap();
                        pc.add_track(MediaKind::Video, "tern", "tern-video")
                            .unwrap();
                    }
                    let answer = pc.create_answer(now).unwrap();
                    pc.set_local_description(now, answer.clone()).unwrap();
                    request.reply("application/sdp", answer.sdp);
                }
                ("GET", "/tern-offer") => {
                    request.reply("application/sdp", tern_offer.clone().unwrap_or_default())
                }
                ("POST", "/answer") => {
                    let answer = SessionDescriptionInit {
                        sdp_type: SdpType::Answer,
                        sdp: request.body_text(),
                    };
                    pc.set_remote_description(now, answer).unwrap();
                    request.reply("text/plain", "ok");
                }
                ("POST", "/log") => {
                    log.push(request.body_text());
                    request.reply("text/plain", "ok");
                }
                ("POST", "/result") => {
                    let text = request.body_text();
                    let ok = text.contains("\"ok\":true");
                    result = Some((ok, text));
                    request.reply("text/plain", "ok");
                }
                _ => request.reply("text/plain", "not found"),
            }
        }

        // The network.
        let wait = pc
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(10))
            .clamp(Duration::from_millis(1), Duration::from_millis(10));
        socket.set_read_timeout(Some(wait)).unwrap();
        if let Ok((n, from)) = socket.recv_from(&mut buf)
            && let Err(e) = pc.handle_receive(Instant::now(), local, from, &buf[..n])
            && std::env::var_os("TERN_DEBUG").is_some()
        {
            eprintln!("dropped {n} bytes from {from} (first byte {}): {e}", buf[0]);
        }
        let now = Instant::now();
        if pc.poll_timeout().is_some_and(|t| t <= now) {
            pc.handle_timeout(now);
        }

        // Application.
        while let Some(event) = pc.poll_event() {
            match event {
                Event::DataChannelMessage { id, data, binary } if id != tern_channel => {
                    pc.send(Instant::now(), id, &data, binary).unwrap();
                }
                Event::DataChannelMessage { id, data, .. } if id == tern_channel => {
                    tern_echoes.push(data)
                }
                Event::DataChannelOpen { id }
                    if id == tern_channel && case == "tern-opens" && !tern_sent =>
                {
                    for (i, m) in tern_messages.iter().enumerate() {
                        pc.send(Instant::now(), tern_channel, m, i != 0).unwrap();
                    }
                    tern_sent = true;
                }
                Event::Rtp(packet) => {
                    let now = Instant::now();
                    if pc
                        .write_rtp(
                            now,
                            packet.transceiver,
                            &packet.payload,
                            packet.timestamp,
                            packet.marker,
                        )
                        .is_ok()
                    {
                        rtp_echoed += 1;
                    }
                }
                Event::KeyframeRequest { transceiver, .. } => {
                    // Chromium asks Tern for a keyframe of the video Tern echoes: ask Chromium.
                    let _ =
                        pc.request_keyframe(Instant::now(), transceiver, KeyframeRequestKind::Pli);
                }
                Event::TargetBitrate { .. } => {}
                other => log.push(format!("{other:?}")),
            }
        }
        if case == "tern-opens" && tern_sent && tern_echoes.len() == tern_messages.len() {
            assert_eq!(
                tern_echoes, tern_messages,
                "echoes of tern's messages differ"
            );
            pc.send(Instant::now(), tern_channel, b"done", false)
                .unwrap();
            tern_echoes.push(Vec::new()); // send "done" once
        }
        while let Some(t) = pc.poll_transmit() {
            assert_eq!(t.source, local);
            if std::env::var_os("TERN_DEBUG").is_some() {
                eprintln!(
                    "send {} bytes to {} (first byte {})",
                    t.data.len(),
                    t.destination,
                    t.data[0]
                );
            }
            let _ = socket.send_to(&t.data, t.destination);
        }
    }
    let (ok, detail) = result.unwrap();
    eprintln!(
        "pc-chromium: {case} ({direction:?}): {detail}; Tern echoed {rtp_echoed} RTP packets"
    );
    assert!(ok, "page reported failure: {detail}\npage log: {log:?}");
}

macro_rules! cases {
    ($($name:ident => $case:literal),* $(,)?) => {
        mod browser_offers {
            $(
                #[test]
                #[ignore = "interop: run by cargo xtask test-all (suite pc-chromium)"]
                fn $name() { super::run_case(super::Direction::BrowserOffers, $case) }
            )*
        }
        mod tern_offers {
            $(
                #[test]
                #[ignore = "interop: run by cargo xtask test-all (suite pc-chromium)"]
                fn $name() { super::run_case(super::Direction::TernOffers, $case) }
            )*
        }
    };
}

cases! {
    reliable_ordered => "reliable-ordered",
    unordered => "unordered",
    max_retransmits_0 => "max-retransmits-0",
    message_256k => "message-256k",
    many_small => "many-small",
    tern_opens => "tern-opens",
    media => "media",
}
