//! One browser in the room: a peer connection of its own (Tern offers), trickle ICE through the
//! signaling server, and the three services the page uses — chat (`chat` channel, opened by
//! Tern: every text is answered `tern echo: <text>`), file checksums (each `file` channel the
//! page opens carries binary chunks then the text `end`; Tern answers
//! `{"bytes":N,"sha256":"…"}` on it) and media echo (every RTP packet the browser sends on an
//! audio or video transceiver goes back on the same transceiver; the browser's keyframe requests
//! are forwarded to it as PLI).
//!
//! With `--mdns` the peer connection hides its host IP behind a random `<uuid>.local` name and
//! resolves the browser's `.local` candidates (Chromium and Firefox hide theirs unless the page
//! has camera or microphone permission). Once connected, the session prints the path ICE chose
//! and the browser's candidates as the peer connection's stats report them.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use tern_peerconnection::{
    DataChannelId, DataChannelInit, Event, IceCandidateStats, KeyframeRequestKind, MediaKind,
    PeerConnectionState, RtcConfig, RtcPeer, SdpType, SessionDescriptionInit, Stats,
};
use tern_signaling::{ClientMessage, PeerId, ServerMessage};
use tokio::sync::mpsc;

/// File channels one browser may have open at once.
const MAX_FILE_CHANNELS: usize = 16;
/// Candidates from the browser waiting to be added (bounded: a page may send any number).
const MAX_QUEUED_CANDIDATES: usize = 64;
/// The longest chat message echoed back whole.
const MAX_CHAT_ECHO: usize = 4096;

/// A file being received on one channel.
struct Incoming {
    hasher: Sha256,
    bytes: u64,
}

/// What the session did, for the log line at its end.
#[derive(Default)]
pub(crate) struct Summary {
    pub chats: u64,
    pub files: u64,
    pub rtp_echoed: u64,
    pub keyframe_requests: u64,
}

/// Runs the session with `peer` until the peer leaves (`inbox` closes), the connection fails or
/// closes, or signaling goes away.
pub(crate) async fn run(
    peer: PeerId,
    ice_ip: IpAddr,
    mdns: bool,
    mut inbox: mpsc::Receiver<ServerMessage>,
    outbox: mpsc::Sender<ClientMessage>,
) -> Result<Summary, String> {
    let name = peer.as_str().to_string();
    let err = |what: &str, e: &dyn std::fmt::Display| format!("{name}: {what}: {e}");
    let config = RtcConfig {
        mdns_host_candidates: mdns,
        mdns_resolve: mdns,
        ..RtcConfig::default()
    };
    let (pc, mut events) = RtcPeer::spawn(config, &[SocketAddr::new(ice_ip, 0)])
        .await
        .map_err(|e| err("cannot start a peer connection", &e))?;
    let result = session(&peer, &pc, &mut events, &mut inbox, &outbox).await;
    pc.close().await;
    result.map_err(|e| err("session", &e))
}

async fn session(
    peer: &PeerId,
    pc: &RtcPeer,
    events: &mut tern_peerconnection::RtcEvents,
    inbox: &mut mpsc::Receiver<ServerMessage>,
    outbox: &mpsc::Sender<ClientMessage>,
) -> Result<Summary, String> {
    let name = peer.as_str();
    let send = |message: ClientMessage| async move {
        outbox
            .send(message)
            .await
            .map_err(|_| "signaling is gone".to_string())
    };
    let chat = pc
        .create_data_channel("chat", DataChannelInit::default())
        .await
        .map_err(|e| e.to_string())?;
    pc.add_track(MediaKind::Audio, "tern-echo", "tern-echo-audio")
        .await
        .map_err(|e| e.to_string())?;
    pc.add_track(MediaKind::Video, "tern-echo", "tern-echo-video")
        .await
        .map_err(|e| e.to_string())?;
    let offer = pc.create_offer().await.map_err(|e| e.to_string())?;
    pc.set_local_description(offer.clone())
        .await
        .map_err(|e| e.to_string())?;
    // Candidates are trickled against the first m-section (everything is bundled on it).
    let mid = first_mid(&offer.sdp);
    send(ClientMessage::Offer {
        to: peer.clone(),
        sdp: offer.sdp,
    })
    .await?;

    // The browser's candidates are added in order by a task of their own: resolving a `.local`
    // name takes a moment, and the session keeps serving meanwhile.
    let (candidates, queued) = mpsc::channel(MAX_QUEUED_CANDIDATES);
    tokio::spawn(add_candidates(pc.clone(), name.to_string(), queued));
    let mut files: HashMap<DataChannelId, Incoming> = HashMap::new();
    let mut summary = Summary::default();
    loop {
        tokio::select! {
            message = inbox.recv() => {
                let Some(message) = message else { return Ok(summary) }; // the peer left
                match message {
                    ServerMessage::Answer { sdp, .. } => {
                        // `.local` candidates in the answer itself are being resolved by the
                        // peer connection; queued again, they are reported like trickled ones.
                        let named: Vec<String> = sdp
                            .lines()
                            .filter_map(|l| l.trim_end().strip_prefix("a="))
                            .filter(|c| c.starts_with("candidate:") && mdns_name(c).is_some())
                            .map(str::to_string)
                            .collect();
                        pc.set_remote_description(SessionDescriptionInit { sdp_type: SdpType::Answer, sdp })
                            .await
                            .map_err(|e| format!("the browser's answer: {e}"))?;
                        for candidate in named {
                            let _ = candidates.try_send(candidate);
                        }
                    }
                    ServerMessage::IceCandidate { candidate, .. } => {
                        let queued = candidates.try_send(candidate);
                        if queued.is_err() {
                            println!("{name}: over {MAX_QUEUED_CANDIDATES} candidates waiting; one dropped");
                        }
                    }
                    ServerMessage::Offer { .. } => {
                        println!("{name}: ignoring an offer (the page answers; Tern offers)");
                    }
                    _ => {}
                }
            }
            event = events.recv() => {
                let Some(event) = event else { return Ok(summary) };
                match event {
                    Event::LocalCandidate(candidate) => {
                        send(ClientMessage::IceCandidate { to: peer.clone(), candidate, sdp_mid: Some(mid.clone()) }).await?;
                    }
                    Event::IceGatheringComplete => {
                        send(ClientMessage::IceCandidate { to: peer.clone(), candidate: String::new(), sdp_mid: Some(mid.clone()) }).await?;
                    }
                    Event::ConnectionStateChange(state) => {
                        println!("{name}: connection {state:?}");
                        if state == PeerConnectionState::Connected
                            && let Ok(report) = pc.stats().await
                        {
                            println!("{name}: {}", describe_path(&report.stats));
                        }
                        if matches!(state, PeerConnectionState::Failed | PeerConnectionState::Closed) {
                            return Ok(summary);
                        }
                    }
                    Event::DataChannelOpen { id } if id == chat => {
                        let hello = "hello from Tern: I echo your chat, checksum your files and send your camera and microphone back";
                        pc.send(chat, hello.as_bytes().to_vec(), false).await.map_err(|e| e.to_string())?;
                    }
                    Event::DataChannel { id, label, .. } => {
                        if label == "file" && files.len() < MAX_FILE_CHANNELS {
                            files.insert(id, Incoming { hasher: Sha256::new(), bytes: 0 });
                        } else {
                            println!("{name}: closing channel {label:?}");
                            let _ = pc.close_data_channel(id).await;
                        }
                    }
                    Event::DataChannelMessage { id, data, binary } => {
                        if id == chat && !binary {
                            summary.chats += 1;
                            let text = String::from_utf8_lossy(&data);
                            let text: String = text.chars().take(MAX_CHAT_ECHO).collect();
                            pc.send(chat, format!("tern echo: {text}").into_bytes(), false).await.map_err(|e| e.to_string())?;
                        } else if let Some(file) = files.get_mut(&id) {
                            if binary {
                                file.hasher.update(&data);
                                file.bytes = file.bytes.saturating_add(data.len() as u64);
                            } else if data == b"end" {
                                let done = std::mem::replace(file, Incoming { hasher: Sha256::new(), bytes: 0 });
                                let digest = hex(&done.hasher.finalize());
                                println!("{name}: received a file of {} bytes, sha-256 {digest}", done.bytes);
                                summary.files += 1;
                                let reply = format!("{{\"bytes\":{},\"sha256\":\"{digest}\"}}", done.bytes);
                                pc.send(id, reply.into_bytes(), false).await.map_err(|e| e.to_string())?;
                            }
                        }
                    }
                    Event::DataChannelClose { id } => {
                        files.remove(&id);
                    }
                    Event::Track { kind, mid, .. } => println!("{name}: receiving {kind:?} on mid {mid}"),
                    Event::Rtp(packet) => {
                        // The browser's media goes back on the same (sendrecv) transceiver.
                        let echoed = pc.write_rtp(packet.transceiver, packet.payload, packet.timestamp, packet.marker).await;
                        summary.rtp_echoed += u64::from(echoed.is_ok());
                    }
                    Event::KeyframeRequest { transceiver, .. } => {
                        // The browser cannot decode what we echo: ask its encoder for a keyframe.
                        summary.keyframe_requests += 1;
                        let _ = pc.request_keyframe(transceiver, KeyframeRequestKind::Pli).await;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// `path: local host 10.0.0.1:5000 <-> remote host 10.0.0.2:6000; remote candidates: …`: the
/// selected pair and every remote candidate, from a stats report.
fn describe_path(stats: &[Stats]) -> String {
    let candidate =
        |c: &IceCandidateStats| format!("{} {}:{}", c.candidate_type, c.address, c.port);
    let find = |id: &str, remote: bool| {
        stats.iter().find_map(|s| match s {
            Stats::LocalCandidate(c) if !remote && c.id == id => Some(candidate(c)),
            Stats::RemoteCandidate(c) if remote && c.id == id => Some(candidate(c)),
            _ => None,
        })
    };
    let selected = stats.iter().find_map(|s| match s {
        Stats::Transport(t) => t.selected_candidate_pair_id.as_deref(),
        _ => None,
    });
    let pair = stats.iter().find_map(|s| match s {
        Stats::CandidatePair(p) if Some(p.id.as_str()) == selected => Some(p),
        _ => None,
    });
    let path = match pair {
        Some(p) => format!(
            "path: local {} <-> remote {}",
            find(&p.local_candidate_id, false).unwrap_or_else(|| "?".into()),
            find(&p.remote_candidate_id, true).unwrap_or_else(|| "?".into())
        ),
        None => "path: none selected".into(),
    };
    let remote: Vec<String> = stats
        .iter()
        .filter_map(|s| match s {
            Stats::RemoteCandidate(c) => Some(candidate(c)),
            _ => None,
        })
        .collect();
    format!("{path}; remote candidates: {}", remote.join(", "))
}

/// Adds the browser's candidates in the order they came until the session ends. One we cannot
/// use (an unresolved mDNS name, TCP) is not fatal: ICE also learns the browser's address from
/// its checks. A resolved `.local` one is reported with the path as it then stands.
async fn add_candidates(pc: RtcPeer, name: String, mut queued: mpsc::Receiver<String>) {
    while let Some(candidate) = queued.recv().await {
        let started = tokio::time::Instant::now();
        match pc.add_ice_candidate(&candidate).await {
            Err(e) => println!("{name}: ignoring candidate {candidate:?}: {e}"),
            Ok(()) => {
                if let Some(host) = mdns_name(&candidate)
                    && let Ok(report) = pc.stats().await
                {
                    println!(
                        "{name}: resolved {host} in {} ms; {}",
                        started.elapsed().as_millis(),
                        describe_path(&report.stats)
                    );
                }
            }
        }
    }
}

/// The `.local` hostname of a candidate, if it has one.
fn mdns_name(candidate: &str) -> Option<&str> {
    candidate
        .split_ascii_whitespace()
        .nth(4)
        .filter(|address| address.to_ascii_lowercase().ends_with(".local"))
}

/// The first `a=mid:` of a description ("0" if none).
fn first_mid(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=mid:"))
        .unwrap_or("0")
        .to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_mid_of_an_offer() {
        assert_eq!(
            first_mid("v=0\r\nm=audio 9\r\na=mid:a0\r\na=mid:1\r\n"),
            "a0"
        );
        assert_eq!(first_mid("v=0\r\n"), "0");
    }

    #[test]
    fn the_path_is_read_from_the_stats() {
        use tern_peerconnection::{CandidatePairStats, TransportStats};
        let candidate = |id: &str, kind: &str, address: &str, port: u16| IceCandidateStats {
            id: id.into(),
            timestamp: 0.0,
            transport_id: "T".into(),
            address: address.into(),
            port,
            protocol: "udp".into(),
            candidate_type: kind.into(),
            priority: 1,
            foundation: "1".into(),
            relay_protocol: None,
        };
        let mut stats = vec![
            Stats::LocalCandidate(candidate("L", "host", "10.77.0.1", 5000)),
            Stats::RemoteCandidate(candidate("R1", "prflx", "10.77.0.1", 6001)),
            Stats::RemoteCandidate(candidate("R2", "host", "10.77.0.1", 6000)),
        ];
        assert_eq!(
            describe_path(&stats),
            "path: none selected; remote candidates: prflx 10.77.0.1:6001, host 10.77.0.1:6000"
        );
        stats.push(Stats::Transport(TransportStats {
            id: "T".into(),
            timestamp: 0.0,
            packets_sent: 0,
            packets_received: 0,
            bytes_sent: 0,
            bytes_received: 0,
            ice_role: None,
            ice_local_username_fragment: "u".into(),
            ice_state: "connected".into(),
            dtls_state: "connected".into(),
            dtls_role: None,
            tls_version: None,
            dtls_cipher: None,
            srtp_cipher: None,
            selected_candidate_pair_id: Some("P".into()),
            local_certificate_id: "C".into(),
            remote_certificate_id: None,
        }));
        stats.push(Stats::CandidatePair(CandidatePairStats {
            id: "P".into(),
            timestamp: 0.0,
            transport_id: "T".into(),
            local_candidate_id: "L".into(),
            remote_candidate_id: "R2".into(),
            state: "succeeded".into(),
            nominated: true,
            priority: 1,
            bytes_sent: 0,
            bytes_received: 0,
        }));
        assert!(
            describe_path(&stats)
                .starts_with("path: local host 10.77.0.1:5000 <-> remote host 10.77.0.1:6000;")
        );
    }

    #[test]
    fn mdns_names_of_candidates() {
        let c =
            "candidate:1 1 udp 2113937151 1f3b2c4d-0000-4abc-8def-0123456789ab.LOCAL 5000 typ host";
        assert_eq!(
            mdns_name(c),
            Some("1f3b2c4d-0000-4abc-8def-0123456789ab.LOCAL")
        );
        assert_eq!(
            mdns_name("candidate:1 1 udp 1 10.0.0.1 5000 typ host"),
            None
        );
        assert_eq!(mdns_name("garbage"), None);
    }

    #[test]
    fn hex_digest() {
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
