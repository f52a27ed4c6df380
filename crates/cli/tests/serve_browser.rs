//! Suite `serve-browser`: `tern serve` (this crate's binary) driven by headless Chromium with a
//! fake camera and microphone, through chromedriver (W3C WebDriver over loopback HTTP). The test
//! types a chat message into the page and clicks send, picks a generated 1 MiB file in the page's
//! file input and clicks send, then reads `window.ternStatus` until the page has the Rust peer's
//! echo of the chat message, a SHA-256 from the Rust peer equal to its own (and to the test's),
//! decoded frames of its own video echoed back by the Rust peer, and echoed audio packets.
//!
//! Also (not ignored, no browser): `tern serve` survives junk on its HTTP port, and a Rust
//! stand-in for the browser gets the same services through the served `/ws`.
//!
//! In xtask's namespace Chromium's only host candidate is the namespace's veth address
//! (`TERN_INTEROP_IP`), so the Rust peer binds its UDP socket there (`--ice-ip`); elsewhere
//! 127.0.0.1. Every process is killed by PID when its guard drops, also on failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::disallowed_methods)] // a test driver owns the clock

use rand::{RngCore, SeedableRng};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tern_peerconnection::{
    DataChannelInit, Event, MediaKind, PeerConnectionState, RtcConfig, RtcPeer, SdpType,
    SessionDescriptionInit,
};
use tern_signaling::{Client, ClientMessage, ServerMessage};

const TIMEOUT: Duration = Duration::from_secs(90);
const FILE_SIZE: usize = 1024 * 1024;

mod webdriver;
use webdriver::{Serve, TempDir, WebDriver, chromedriver, chromium, firefox, http, version};

/// `tern serve` on a free loopback port in room `serve-browser`, ICE on `$TERN_INTEROP_IP` (the
/// namespace's address under xtask) or 127.0.0.1.
fn serve() -> Serve {
    let ice_ip = std::env::var("TERN_INTEROP_IP").unwrap_or_else(|_| "127.0.0.1".into());
    Serve::start(&["--room", "serve-browser", "--ice-ip", &ice_ip])
}

/// Chromium with real host addresses on loopback (not mDNS names) and a generated camera (a
/// moving pattern) and microphone (a beep), allowed without asking.
fn browser() -> WebDriver {
    WebDriver::start(&[
        "--allow-loopback-in-peer-connection",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
    ])
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn serve_browser_chat_file_and_echoed_media() {
    eprintln!(
        "serve-browser: {} with {}",
        version(&chromium()),
        version(&chromedriver())
    );
    chat_file_and_echoed_media(browser(), "Chromium");
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn serve_firefox_chat_file_and_echoed_media() {
    eprintln!("serve-browser: {}", version(&firefox()));
    chat_file_and_echoed_media(WebDriver::firefox(), "Firefox");
}

/// The page in `browser` (named `name`): connects to the Rust peer, chat both ways, a 1 MiB file
/// checksummed by both ends, its own camera and microphone decoded after the round trip, then a
/// reload starts a fresh session.
fn chat_file_and_echoed_media(browser: WebDriver, name: &str) {
    let mut serve = serve();
    let deadline = Instant::now() + TIMEOUT;

    // The file the page will send: 1 MiB of seeded random bytes.
    let dir = TempDir::new("file");
    let mut bytes = vec![0u8; FILE_SIZE];
    rand::rngs::StdRng::seed_from_u64(0x7e57).fill_bytes(&mut bytes);
    let path = dir.0.join("random.bin");
    std::fs::write(&path, &bytes).unwrap();
    let digest: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    browser.open(&format!("http://127.0.0.1:{}/", serve.port));
    let status = browser.wait_for("the chat channel to open", deadline, |s| {
        s["chatOpen"] == true && s["connection"] == "connected"
    });
    eprintln!("serve-browser: connected: {status}");
    assert_eq!(
        status["media"], "camera+mic",
        "getUserMedia failed: {status}"
    );

    // Chat: type a message, send it, wait for the Rust peer's echo.
    let message = format!("hello Tern, this is {name}");
    browser.send_chat(&message);
    let status = browser.wait_for("the chat reply", deadline, |s| {
        s["chatReplies"].as_u64() >= Some(1)
    });
    assert_eq!(status["lastReply"], format!("tern echo: {message}"));

    // File: pick it in the file input, send it, wait for the Rust peer's checksum.
    browser.type_into("#file-input", path.to_str().unwrap());
    browser.click("#file-send");
    let status = browser.wait_for("the file checksum", deadline, |s| {
        s["file"]["result"].as_str().is_some_and(|r| r != "sending")
    });
    let file = &status["file"];
    assert_eq!(file["result"], "OK", "file transfer: {file}");
    assert_eq!(
        file["localSha256"],
        digest.as_str(),
        "the page's own digest"
    );
    assert_eq!(
        file["remoteSha256"],
        digest.as_str(),
        "the Rust peer's digest"
    );
    assert_eq!(file["remoteBytes"].as_u64(), Some(FILE_SIZE as u64));

    // Media: the browser decodes its own camera after a round trip through the Rust peer.
    let status = browser.wait_for("echoed media", deadline, |s| {
        s["framesDecoded"].as_u64() >= Some(30) && s["audioPacketsReceived"].as_u64() >= Some(50)
    });
    eprintln!(
        "serve-browser: OK: chat echoed, {} bytes checksummed ({digest}), {} echoed video frames \
         decoded, {} echoed audio packets received; errors {}",
        FILE_SIZE, status["framesDecoded"], status["audioPacketsReceived"], status["errors"]
    );
    assert_eq!(status["errors"], json!([]), "the page logged errors");
    let first = status["you"].as_str().unwrap().to_string();

    // Reload: the first browser peer leaves the room, its session ends (peer connection closed),
    // and the Rust peer offers afresh to the page's new peer id.
    browser.open(&format!("http://127.0.0.1:{}/", serve.port));
    let line = serve.wait_for_line(&format!("{first} done:"), deadline);
    assert!(
        line.contains("1 chat messages, 1 files"),
        "the first session's summary: {line}"
    );
    let status = browser.wait_for("the reloaded page to connect", deadline, |s| {
        s["chatOpen"] == true && s["connection"] == "connected" && s["you"] != first.as_str()
    });
    browser.send_chat("again");
    browser.wait_for("the chat reply after the reload", deadline, |s| {
        s["lastReply"] == "tern echo: again"
    });
    eprintln!("serve-browser: reloaded page served as {}", status["you"]);
}

/// Junk on the HTTP port gets an error response or a closed connection, never a dead server.
#[test]
fn serve_survives_bad_http() {
    let serve = serve();
    let exchange = |request: &[u8]| -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let _ = stream.write_all(request);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut response = Vec::new();
        if let Err(e) = stream.read_to_end(&mut response)
            && response.is_empty()
        {
            return format!("<read error: {e}>");
        }
        String::from_utf8_lossy(&response)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };
    let mut huge = b"GET / HTTP/1.1\r\n".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 100_000));
    for (request, status) in [
        (&huge[..], " 431 "),
        (b"\x16\x03\x01\x00\x05hello\r\n\r\n", " 400 "),
        (b"GET /../../etc/passwd HTTP/1.1\r\n\r\n", " 404 "),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", " 405 "),
    ] {
        let reply = exchange(request);
        assert!(
            reply.contains(status),
            "wanted{status}for {:?}…, got {reply:?}",
            String::from_utf8_lossy(request.get(..40).unwrap_or(request))
        );
    }
    assert_eq!(exchange(b"GET / HTTP/1.1\r\nHost: x"), ""); // closed at EOF, nothing sent
    // A WebSocket upgrade that then sends junk frames: the signaling server drops it.
    let upgrade = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let mut junk = upgrade.to_vec();
    junk.extend_from_slice(&[0xff; 4096]);
    let reply = exchange(&junk);
    assert!(reply.is_empty() || reply.contains(" 101 "), "{reply}");
    // Well-formed WebSocket frames carrying junk messages: answered with `malformed` errors.
    let mut ws = TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    ws.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // (Frames only after the 101: tungstenite refuses data pipelined behind the handshake.)
    ws.write_all(upgrade).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            ws.read(&mut byte).unwrap(),
            1,
            "closed during the handshake"
        );
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "));
    let mut frames = Vec::new();
    for junk in [
        &b"not json"[..],
        b"{\"type\":\"nope\"}",
        b"{\"type\":\"offer\"}",
    ] {
        // FIN + text, masked with a zero key (so the payload goes as is).
        frames.extend_from_slice(&[0x81, 0x80 | junk.len() as u8, 0, 0, 0, 0]);
        frames.extend_from_slice(junk);
    }
    ws.write_all(&frames).unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while String::from_utf8_lossy(&seen).matches("malformed").count() < 3 {
        let n = ws.read(&mut buf).unwrap();
        assert!(n > 0, "closed; got {:?}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    drop(ws);
    // Still serving the page.
    let (status, page) = http(serve.port, "GET", "/", None);
    assert_eq!(status, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("window.ternStatus") && page.contains("'serve-browser'"));
}

/// A Rust stand-in for the browser (Tern's own peer connection, talking through the served
/// `/ws`): the Rust peer's offer is answered, chat is echoed, a file is checksummed and every RTP
/// payload sent on audio and video comes back byte-exact. Then a rogue member of the room
/// answers with garbage: its session fails alone and the next peer is still offered to.
#[test]
fn serve_rust_stand_in_chat_file_media_and_a_rogue_peer() {
    let mut serve = serve();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let port = serve.port;
    runtime.block_on(async move {
        tokio::time::timeout(TIMEOUT, stand_in(port))
            .await
            .expect("the stand-in timed out");
    });
    let deadline = Instant::now() + TIMEOUT;
    let rogue = runtime.block_on(async move {
        let url = format!("ws://127.0.0.1:{port}/ws");
        let mut rogue = Client::connect(&url).await.unwrap();
        let you = rogue.join("serve-browser").await.unwrap().you;
        let from = loop {
            if let Some(Ok(ServerMessage::Offer { from, .. })) = rogue.next().await {
                break from;
            }
        };
        for candidate in [
            "candidate:garbage",
            "",
            "candidate:1 1 udp 1 999.1.1.1 1 typ host",
        ] {
            rogue
                .send(&ClientMessage::IceCandidate {
                    to: from.clone(),
                    candidate: candidate.into(),
                    sdp_mid: None,
                })
                .await
                .unwrap();
        }
        rogue
            .send(&ClientMessage::Answer {
                to: from,
                sdp: "v=0\r\nthis is not an answer\r\n".into(),
            })
            .await
            .unwrap();
        (rogue, you)
    });
    let (rogue, rogue_id) = rogue;
    let line = serve.wait_for_line(&format!("{}: session", rogue_id.as_str()), deadline);
    eprintln!("serve-browser: the rogue's session ended: {line}");
    drop(rogue);
    // The room peer still offers to newcomers.
    runtime.block_on(async move {
        let mut next = Client::connect(&format!("ws://127.0.0.1:{port}/ws"))
            .await
            .unwrap();
        next.join("serve-browser").await.unwrap();
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Some(Ok(ServerMessage::Offer { .. })) = next.next().await {
                    return;
                }
            }
        })
        .await
        .expect("no offer after the rogue left");
    });
}

async fn stand_in(port: u16) {
    let mut client = Client::connect(&format!("ws://127.0.0.1:{port}/ws"))
        .await
        .unwrap();
    let joined = client.join("serve-browser").await.unwrap();
    assert_eq!(joined.peers.len(), 1, "the Rust peer is in the room");
    let (pc, mut events) = RtcPeer::spawn(
        RtcConfig::default(),
        &[std::net::SocketAddr::from(([127, 0, 0, 1], 0))],
    )
    .await
    .unwrap();
    let (rust_peer, offer) = loop {
        match client.next().await {
            Some(Ok(ServerMessage::Offer { from, sdp })) => break (from, sdp),
            Some(Ok(_)) => {}
            other => panic!("signaling ended before the offer: {other:?}"),
        }
    };
    assert!(
        offer.contains("m=audio") && offer.contains("m=video") && offer.contains("m=application")
    );
    pc.set_remote_description(SessionDescriptionInit {
        sdp_type: SdpType::Offer,
        sdp: offer,
    })
    .await
    .unwrap();
    let audio = pc
        .add_track(MediaKind::Audio, "stand-in", "a")
        .await
        .unwrap();
    let video = pc
        .add_track(MediaKind::Video, "stand-in", "v")
        .await
        .unwrap();
    let answer = pc.create_answer().await.unwrap();
    pc.set_local_description(answer.clone()).await.unwrap();
    client
        .send(&ClientMessage::Answer {
            to: rust_peer.clone(),
            sdp: answer.sdp,
        })
        .await
        .unwrap();

    let file: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let digest: String = Sha256::digest(&file)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut chat = None;
    let mut file_channel = None;
    let mut chat_ok = false;
    let mut file_ok = false;
    let mut sent: std::collections::HashMap<Vec<u8>, bool> = Default::default();
    let mut echoed = [0usize; 2];
    let mut media = None;
    let mut sequence = 0u32;
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    while !(chat_ok && file_ok && echoed[0] >= 20 && echoed[1] >= 20) {
        tokio::select! {
            message = client.next() => match message {
                Some(Ok(ServerMessage::IceCandidate { candidate, .. })) => {
                    let _ = pc.add_ice_candidate(&candidate).await;
                }
                Some(Ok(_)) => {}
                other => panic!("signaling ended: {other:?}"),
            },
            _ = ticker.tick(), if media.is_some() => {
                // A distinct payload per packet, so each echo can be matched byte-exact.
                sequence += 1;
                for (transceiver, kind) in [(audio, 0u8), (video, 1u8)] {
                    let payload = [&[kind][..], &sequence.to_be_bytes(), &[0x5a; 100]].concat();
                    sent.insert(payload.clone(), false);
                    pc.write_rtp(transceiver, payload, sequence * 960, true).await.unwrap();
                }
            }
            event = events.recv() => match event.expect("the stand-in's connection ended") {
                Event::LocalCandidate(candidate) => client
                    .send(&ClientMessage::IceCandidate { to: rust_peer.clone(), candidate, sdp_mid: Some("0".into()) })
                    .await
                    .unwrap(),
                Event::ConnectionStateChange(PeerConnectionState::Connected) => {
                    media = Some(());
                    file_channel = Some(pc.create_data_channel("file", DataChannelInit::default()).await.unwrap());
                }
                Event::DataChannel { id, label, .. } if label == "chat" => {
                    chat = Some(id);
                    pc.send(id, b"ping from Rust".to_vec(), false).await.unwrap();
                }
                Event::DataChannelOpen { id } if Some(id) == file_channel => {
                    for chunk in file.chunks(60_000) {
                        pc.send(id, chunk.to_vec(), true).await.unwrap();
                    }
                    pc.send(id, b"end".to_vec(), false).await.unwrap();
                }
                Event::DataChannelMessage { id, data, .. } if Some(id) == chat => {
                    chat_ok |= data == b"tern echo: ping from Rust";
                }
                Event::DataChannelMessage { id, data, .. } if Some(id) == file_channel => {
                    let reply: Value = serde_json::from_slice(&data).unwrap();
                    assert_eq!(reply["sha256"], digest.as_str(), "{reply}");
                    assert_eq!(reply["bytes"].as_u64(), Some(file.len() as u64));
                    file_ok = true;
                }
                Event::Rtp(packet) => {
                    let seen = sent.get_mut(&packet.payload);
                    assert!(seen.is_some(), "an echoed payload we never sent");
                    if let Some(seen) = seen && !*seen {
                        *seen = true;
                        echoed[usize::from(packet.payload[0])] += 1;
                    }
                }
                _ => {}
            },
        }
    }
    eprintln!(
        "serve-browser: stand-in: chat echoed, file checksummed, {} audio and {} video payloads echoed byte-exact",
        echoed[0], echoed[1]
    );
    pc.close().await;
}
