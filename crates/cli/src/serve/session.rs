//! One browser in the room: a peer connection of its own (Tern offers), trickle ICE through the
//! signaling server, and the three services the page uses — chat (`chat` channel, opened by
//! Tern: every text is answered `tern echo: <text>`), file checksums (each `file` channel the
//! page opens carries binary chunks then the text `end`; Tern answers
//! `{"bytes":N,"sha256":"…"}` on it) and media echo (every RTP packet the browser sends on an
//! audio or video transceiver goes back on the same transceiver; the browser's keyframe requests
//! are forwarded to it as PLI).

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use tern_peerconnection::{
    DataChannelId, DataChannelInit, Event, KeyframeRequestKind, MediaKind, PeerConnectionState,
    RtcConfig, RtcPeer, SdpType, SessionDescriptionInit,
};
use tern_signaling::{ClientMessage, PeerId, ServerMessage};
use tokio::sync::mpsc;

/// File channels one browser may have open at once.
const MAX_FILE_CHANNELS: usize = 16;
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
    mut inbox: mpsc::Receiver<ServerMessage>,
    outbox: mpsc::Sender<ClientMessage>,
) -> Result<Summary, String> {
    let name = peer.as_str().to_string();
    let err = |what: &str, e: &dyn std::fmt::Display| format!("{name}: {what}: {e}");
    let (pc, mut events) = RtcPeer::spawn(RtcConfig::default(), &[SocketAddr::new(ice_ip, 0)])
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

    let mut files: HashMap<DataChannelId, Incoming> = HashMap::new();
    let mut summary = Summary::default();
    loop {
        tokio::select! {
            message = inbox.recv() => {
                let Some(message) = message else { return Ok(summary) }; // the peer left
                match message {
                    ServerMessage::Answer { sdp, .. } => pc
                        .set_remote_description(SessionDescriptionInit { sdp_type: SdpType::Answer, sdp })
                        .await
                        .map_err(|e| format!("the browser's answer: {e}"))?,
                    ServerMessage::IceCandidate { candidate, .. } => {
                        // A candidate we cannot use (an mDNS name, TCP) is not fatal: ICE also
                        // learns the browser's address from its checks.
                        if let Err(e) = pc.add_ice_candidate(&candidate).await {
                            println!("{name}: ignoring candidate {candidate:?}: {e}");
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
    fn hex_digest() {
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
