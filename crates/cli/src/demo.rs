//! `tern demo`: a signaling server on 127.0.0.1 and two peers in this process. The second peer to
//! join ("bob") offers; both trickle candidates through the server; bob opens `chat` and `file`
//! channels, chats with alice and sends her a file in 64 KiB messages under bufferedAmount
//! backpressure; alice checks its SHA-256. A stats line per second, a summary at the end; the
//! exit status says whether everything arrived intact. With `--loss`, `--delay` or `--jitter`
//! the peers talk through an impairing relay (`relay.rs`).

use crate::flag;
use crate::relay::{Impairment, Relay};
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tern_peerconnection::{
    DataChannelId, DataChannelInit, Event, PeerConnectionState, RtcConfig, RtcPeer, SdpType,
    SessionDescriptionInit,
};
use tern_signaling::{Client, ClientMessage, PeerId, ServerMessage};

const ROOM: &str = "tern-demo";
const CHUNK: usize = 64 * 1024;
const HIGH_WATER: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(120);

/// Counters a peer task updates and the stats printer reads.
#[derive(Default)]
struct Progress {
    sent: AtomicU64,
    received: AtomicU64,
    connected_at_ms: AtomicU64,
}

pub async fn run(args: &[String]) -> Result<(), String> {
    let file = match flag(args, "--file") {
        Some(path) => std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?,
        None => {
            let size: usize = flag(args, "--size")
                .unwrap_or("8388608")
                .parse()
                .map_err(|_| "--size takes a number")?;
            let mut bytes = vec![0u8; size];
            rand::rngs::StdRng::seed_from_u64(7).fill_bytes(&mut bytes);
            bytes
        }
    };
    let digest = hex(&Sha256::digest(&file));
    let relay = match Impairment::from_args(args)? {
        Some(impairment) => {
            println!(
                "tern demo: impairing relay on 127.0.0.1: {:.1} % loss, {} ms delay, {} ms jitter",
                impairment.loss * 100.0,
                impairment.delay.as_millis(),
                impairment.jitter.as_millis()
            );
            Some(Arc::new(Relay::start(impairment, 7).await?))
        }
        None => None,
    };
    let server = tern_signaling::Server::bind(tern_signaling::ServerConfig::default())
        .await
        .map_err(|e| e.to_string())?;
    let url = server.url();
    println!("tern demo: signaling server on {url}");
    println!(
        "tern demo: bob will send alice {} bytes (sha-256 {digest})",
        file.len()
    );

    let started = Instant::now();
    let alice_progress = Arc::new(Progress::default());
    let bob_progress = Arc::new(Progress::default());
    let via = |index: usize| relay.clone().map(|r| (r, index));
    let alice = tokio::spawn(peer(
        "alice",
        url.clone(),
        None,
        alice_progress.clone(),
        started,
        via(0),
    ));
    // Alice joins first so that bob, the newcomer, makes the offer.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bob = tokio::spawn(peer(
        "bob",
        url,
        Some(file.clone()),
        bob_progress.clone(),
        started,
        via(1),
    ));

    let total = file.len() as u64;
    let relay_stats = relay.as_ref().map(|r| r.stats.clone());
    let printer = tokio::spawn(async move {
        println!(
            "{:>5}  {:>12}  {:>12}  {:>10}  {:<22}  relay fwd/dropped",
            "time", "bob sent", "alice got", "MiB/s", "progress"
        );
        let mut last = 0u64;
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let got = alice_progress.received.load(Ordering::Relaxed);
            let sent = bob_progress.sent.load(Ordering::Relaxed);
            let rate = (got.saturating_sub(last)) as f64 / (1024.0 * 1024.0);
            last = got;
            let done = (got * 20).checked_div(total).map_or(20, |d| d as usize);
            let relayed = relay_stats.as_ref().map_or(String::from("-"), |s| {
                format!(
                    "{}/{}",
                    s.forwarded.load(Ordering::Relaxed),
                    s.dropped.load(Ordering::Relaxed)
                )
            });
            println!(
                "{:>4}s  {:>12}  {:>12}  {:>10.1}  [{}{}]  {relayed}",
                started.elapsed().as_secs(),
                sent,
                got,
                rate,
                "#".repeat(done.min(20)),
                ".".repeat(20 - done.min(20))
            );
        }
    });

    let outcome = tokio::time::timeout(TIMEOUT, async {
        let alice = alice.await.map_err(|e| e.to_string())?;
        let bob = bob.await.map_err(|e| e.to_string())?;
        Ok::<_, String>((alice, bob))
    })
    .await;
    printer.abort();
    let _ = server.shutdown().await;
    let (alice, bob) = outcome
        .map_err(|_| format!("the demo did not finish within {} s", TIMEOUT.as_secs()))??;
    let alice = alice?;
    bob?;
    let seconds = alice.transfer_seconds.max(1e-6);
    println!("\nsummary:");
    println!(
        "  connected (alice)        {:.1} ms after start",
        alice.connected_ms
    );
    println!("  chat                     {}", alice.chat.join(" | "));
    println!(
        "  file                     {} bytes, sha-256 {}",
        alice.file_len, alice.file_digest
    );
    println!("  matches the sender's     {}", alice.file_digest == digest);
    println!(
        "  throughput               {:.1} MiB/s over {:.2} s",
        alice.file_len as f64 / 1048576.0 / seconds,
        seconds
    );
    if let Some(relay) = relay.as_ref() {
        println!(
            "  relay                    {} datagrams forwarded, {} dropped on purpose",
            relay.stats.forwarded.load(Ordering::Relaxed),
            relay.stats.dropped.load(Ordering::Relaxed)
        );
    }
    if alice.file_digest != digest || alice.file_len != file.len() {
        return Err("the received file differs from the one sent".into());
    }
    println!("tern demo: OK");
    Ok(())
}

/// What alice saw.
struct Received {
    chat: Vec<String>,
    file_len: usize,
    file_digest: String,
    connected_ms: f64,
    transfer_seconds: f64,
}

async fn peer(
    name: &'static str,
    url: String,
    file: Option<Vec<u8>>,
    progress: Arc<Progress>,
    started: Instant,
    relay: Option<(Arc<Relay>, usize)>,
) -> Result<Received, String> {
    let err = |what: &str, e: &dyn std::fmt::Display| format!("{name}: {what}: {e}");
    let mut signaling = Client::connect(&url)
        .await
        .map_err(|e| err("signaling connect", &e))?;
    let joined = signaling.join(ROOM).await.map_err(|e| err("join", &e))?;
    let bind = [std::net::SocketAddr::from(([127, 0, 0, 1], 0))];
    let (pc, mut events) = RtcPeer::spawn(RtcConfig::default(), &bind)
        .await
        .map_err(|e| err("spawn", &e))?;
    println!(
        "{name}: joined {ROOM} as {}; UDP on {:?}",
        joined.you.as_str(),
        pc.local_addresses()
    );
    // Through the relay the peer announces the relay's face for it instead of its own socket.
    if let (Some((relay, index)), Some(address)) = (relay.as_ref(), pc.local_addresses().first()) {
        relay.register(*index, *address);
    }
    let announce = |text: String| match relay.as_ref() {
        Some((relay, index)) => relay.rewrite(*index, &text),
        None => text,
    };

    let mut remote: Option<PeerId> = joined.peers.first().cloned();
    let mut pending_candidates: Vec<String> = Vec::new();
    let mut chat_channel = None;
    let mut file_channel = None;
    if let Some(to) = remote.clone() {
        chat_channel = Some(
            pc.create_data_channel("chat", DataChannelInit::default())
                .await
                .map_err(|e| err("channel", &e))?,
        );
        file_channel = Some(
            pc.create_data_channel("file", DataChannelInit::default())
                .await
                .map_err(|e| err("channel", &e))?,
        );
        let offer = pc.create_offer().await.map_err(|e| err("offer", &e))?;
        pc.set_local_description(offer.clone())
            .await
            .map_err(|e| err("set local", &e))?;
        signaling
            .send(&ClientMessage::Offer {
                to,
                sdp: announce(offer.sdp),
            })
            .await
            .map_err(|e| err("send offer", &e))?;
    }

    let mut received = Received {
        chat: Vec::new(),
        file_len: 0,
        file_digest: String::new(),
        connected_ms: 0.0,
        transfer_seconds: 0.0,
    };
    let mut hasher = Sha256::new();
    let mut transfer_started: Option<Instant> = None;
    let mut chat_replied = false;
    loop {
        tokio::select! {
            message = signaling.next() => {
                let message = match message {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => return Err(err("signaling", &e)),
                    None => return Err(format!("{name}: signaling closed")),
                };
                on_signal(name, &pc, &mut signaling, &mut remote, &mut pending_candidates, message, &announce).await?;
            }
            event = events.recv() => {
                let Some(event) = event else { return Err(format!("{name}: the connection task ended")) };
                match event {
                    Event::LocalCandidate(candidate) => match remote.clone().map(|to| (to, announce(candidate.clone()))) {
                        Some((to, candidate)) => signaling
                            .send(&ClientMessage::IceCandidate { to, candidate, sdp_mid: Some("0".into()) })
                            .await
                            .map_err(|e| err("send candidate", &e))?,
                        None => pending_candidates.push(candidate),
                    },
                    Event::ConnectionStateChange(state) => {
                        println!("{name}: connection {state:?} after {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
                        if state == PeerConnectionState::Connected {
                            received.connected_ms = started.elapsed().as_secs_f64() * 1000.0;
                            progress.connected_at_ms.store(received.connected_ms as u64, Ordering::Relaxed);
                        }
                        if state == PeerConnectionState::Failed {
                            return Err(format!("{name}: connection failed"));
                        }
                    }
                    Event::DataChannel { id, label, .. } => {
                        println!("{name}: the peer opened channel {label:?}");
                        match label.as_str() {
                            "chat" => chat_channel = Some(id),
                            "file" => file_channel = Some(id),
                            _ => {}
                        }
                    }
                    Event::DataChannelOpen { id } => {
                        if Some(id) == chat_channel {
                            pc.send(id, format!("hello alice, this is {name}").into_bytes(), false).await.map_err(|e| err("chat", &e))?;
                        }
                        if let (Some(channel), Some(bytes)) = (file_channel.filter(|c| *c == id), file.clone()) {
                            tokio::spawn(send_file(pc.clone(), channel, bytes, progress.clone()));
                        }
                    }
                    Event::DataChannelMessage { id, data, binary } => {
                        if Some(id) == chat_channel {
                            let text = String::from_utf8_lossy(&data).into_owned();
                            println!("{name}: chat: {text}");
                            received.chat.push(text);
                            if !chat_replied && file.is_none() {
                                chat_replied = true;
                                pc.send(id, b"hi bob, alice here".to_vec(), false).await.map_err(|e| err("chat", &e))?;
                            }
                            if file.is_some() && received.chat.len() == 2 {
                                // Bob is done once alice confirmed the file.
                                return Ok(received);
                            }
                        } else if Some(id) == file_channel && binary {
                            transfer_started.get_or_insert_with(Instant::now);
                            hasher.update(&data);
                            received.file_len += data.len();
                            progress.received.fetch_add(data.len() as u64, Ordering::Relaxed);
                        } else if Some(id) == file_channel {
                            let announced = String::from_utf8_lossy(&data).trim_start_matches("EOF ").to_string();
                            received.file_digest = hex(&hasher.clone().finalize());
                            received.transfer_seconds = transfer_started.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
                            let verdict = if announced == received.file_digest { "file received intact" } else { "file CORRUPTED" };
                            println!("{name}: {verdict} ({} bytes)", received.file_len);
                            if let Some(chat) = chat_channel {
                                pc.send(chat, verdict.as_bytes().to_vec(), false).await.map_err(|e| err("chat", &e))?;
                            }
                            // Let the confirmation leave before the task ends.
                            tokio::time::sleep(Duration::from_millis(300)).await;
                            pc.close().await;
                            return Ok(received);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

async fn on_signal(
    name: &str,
    pc: &RtcPeer,
    signaling: &mut Client,
    remote: &mut Option<PeerId>,
    pending: &mut Vec<String>,
    message: ServerMessage,
    announce: &(dyn Fn(String) -> String + Sync),
) -> Result<(), String> {
    let err = |what: &str, e: &dyn std::fmt::Display| format!("{name}: {what}: {e}");
    match message {
        ServerMessage::Offer { from, sdp } => {
            *remote = Some(from.clone());
            pc.set_remote_description(SessionDescriptionInit {
                sdp_type: SdpType::Offer,
                sdp,
            })
            .await
            .map_err(|e| err("set remote offer", &e))?;
            let answer = pc.create_answer().await.map_err(|e| err("answer", &e))?;
            pc.set_local_description(answer.clone())
                .await
                .map_err(|e| err("set local", &e))?;
            signaling
                .send(&ClientMessage::Answer {
                    to: from.clone(),
                    sdp: announce(answer.sdp),
                })
                .await
                .map_err(|e| err("send answer", &e))?;
            for candidate in pending.drain(..) {
                signaling
                    .send(&ClientMessage::IceCandidate {
                        to: from.clone(),
                        candidate: announce(candidate),
                        sdp_mid: Some("0".into()),
                    })
                    .await
                    .map_err(|e| err("send candidate", &e))?;
            }
        }
        ServerMessage::Answer { sdp, .. } => {
            pc.set_remote_description(SessionDescriptionInit {
                sdp_type: SdpType::Answer,
                sdp,
            })
            .await
            .map_err(|e| err("set remote answer", &e))?;
        }
        ServerMessage::IceCandidate { candidate, .. } => {
            // A candidate we cannot use (say an mDNS name) is not fatal: ICE learns the peer
            // from its checks.
            if let Err(e) = pc.add_ice_candidate(&candidate).await {
                println!("{name}: ignoring candidate {candidate:?}: {e}");
            }
        }
        ServerMessage::Error { message, .. } => {
            return Err(format!("{name}: signaling error: {message}"));
        }
        _ => {}
    }
    Ok(())
}

/// Sends `bytes` in 64 KiB messages, waiting while more than 1 MiB is buffered, then `EOF <sha>`.
async fn send_file(pc: RtcPeer, channel: DataChannelId, bytes: Vec<u8>, progress: Arc<Progress>) {
    for chunk in bytes.chunks(CHUNK) {
        while pc.buffered_amount(channel).await > HIGH_WATER {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if pc.send(channel, chunk.to_vec(), true).await.is_err() {
            return;
        }
        progress
            .sent
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    let digest = hex(&Sha256::digest(&bytes));
    let _ = pc
        .send(channel, format!("EOF {digest}").into_bytes(), false)
        .await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
