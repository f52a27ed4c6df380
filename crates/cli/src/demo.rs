//! `tern demo`: a signaling server on 127.0.0.1 and two peers in this process. The second peer to
//! join ("bob") offers; both trickle candidates through the server; bob opens `chat` and `file`
//! channels, chats with alice and sends her a file in 64 KiB messages under bufferedAmount
//! backpressure; alice checks its SHA-256. Then (unless `--no-media`) both send audio and video
//! for `--media-seconds`: synthetic colour bars in VP8 and a speech-like tone in Opus each way,
//! received through the VP8 frame assembler and NetEq (`demo/media.rs`). A stats row per
//! direction per second (`demo/table.rs`), a summary at the end; the exit status says whether
//! everything arrived. With `--loss`, `--delay` or `--jitter` the peers talk through an
//! impairing relay (`relay.rs`).

mod media;
mod table;

use crate::flag;
use crate::relay::{Impairment, Relay};
use media::{Counters, ReceiveReport, SendControl, Tracks};
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use table::{CounterSnapshot, Row, Snapshot};
use tern_peerconnection::{
    DataChannelId, DataChannelInit, Event, MediaKind, MediaPacket, PeerConnectionState, RtcConfig,
    RtcPeer, SdpType, SessionDescriptionInit,
};
use tern_signaling::{Client, ClientMessage, PeerId, ServerMessage};

const ROOM: &str = "tern-demo";
const CHUNK: usize = 64 * 1024;
const HIGH_WATER: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(120);
/// Default length of the media phase.
const MEDIA_SECONDS: f64 = 6.0;
/// How long a peer keeps receiving after it stopped sending (the other peer started later).
const MEDIA_GRACE: Duration = Duration::from_millis(1000);

/// What a peer task shares with the stats printer.
#[derive(Default)]
struct Progress {
    sent: AtomicU64,
    received: AtomicU64,
    connected_at_ms: AtomicU64,
    pc: OnceLock<RtcPeer>,
    media: Arc<Counters>,
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
    let media = if args.iter().any(|a| a == "--no-media") {
        None
    } else {
        let seconds = match flag(args, "--media-seconds") {
            None => MEDIA_SECONDS,
            Some(v) => match v.parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => s,
                _ => return Err("--media-seconds takes a number of seconds in (0, 3600]".into()),
            },
        };
        Some(Duration::from_secs_f64(seconds))
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
    if let Some(seconds) = media {
        println!(
            "tern demo: then {:.1} s of audio (Opus, speech-like tone) and video (VP8 {}x{} colour bars at {} fps) both ways",
            seconds.as_secs_f64(),
            media::WIDTH,
            media::HEIGHT,
            media::FPS
        );
    }

    let started = Instant::now();
    let alice_progress = Arc::new(Progress::default());
    let bob_progress = Arc::new(Progress::default());
    let via = |index: usize| relay.clone().map(|r| (r, index));
    let alice = tokio::spawn(peer(
        "alice",
        url.clone(),
        None,
        media,
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
        media,
        bob_progress.clone(),
        started,
        via(1),
    ));

    let total = file.len() as u64;
    let relay_stats = relay.as_ref().map(|r| r.stats.clone());
    let printer = tokio::spawn(print_stats(
        [bob_progress, alice_progress],
        total,
        relay_stats,
        started,
    ));

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
    let bob = bob?;
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
    let mut failures = Vec::new();
    if alice.file_digest != digest || alice.file_len != file.len() {
        failures.push("the received file differs from the one sent".to_string());
    }
    if media.is_some() {
        for (direction, sender, receiver) in
            [("bob→alice", &bob, &alice), ("alice→bob", &alice, &bob)]
        {
            let Some(report) = receiver.media.as_ref() else {
                failures.push(format!("{direction}: no media phase ran"));
                continue;
            };
            summarize_media(direction, sender, report);
            if report.frames_decoded == 0 {
                failures.push(format!("{direction}: no video frame was decoded"));
            }
            if report.audio_decoded_samples == 0 {
                failures.push(format!("{direction}: no audio was played"));
            }
        }
    }
    if let Some(relay) = relay.as_ref() {
        let overflowed = relay.stats.overflowed.load(Ordering::Relaxed);
        println!(
            "  relay                    {} datagrams forwarded, {} dropped on purpose{}",
            relay.stats.forwarded.load(Ordering::Relaxed),
            relay.stats.dropped.load(Ordering::Relaxed),
            if overflowed > 0 {
                format!(", {overflowed} dropped by a full delay queue")
            } else {
                String::new()
            }
        );
    }
    if !failures.is_empty() {
        return Err(failures.join("; "));
    }
    println!("tern demo: OK");
    Ok(())
}

/// The summary lines of one direction's media.
fn summarize_media(direction: &str, sender: &Received, report: &ReceiveReport) {
    let counter = report
        .last_counter
        .map_or_else(|| "none".to_string(), |c| format!("#{c}"));
    println!(
        "  video {direction:<18} {} frames sent ({} key), {} decoded, last picture {counter}, {} gaps in the picture numbers, {} decoder errors",
        sender.frames_sent,
        sender.keyframes_sent,
        report.frames_decoded,
        report.counter_jumps,
        report.decode_errors
    );
    println!(
        "  audio {direction:<18} {:.2} s played, {:.1} % concealed, {} packets recovered by Opus FEC, {:.0} ms mean jitter-buffer delay",
        report.audio_seconds,
        report.concealed * 100.0,
        report.fec_recovered,
        report.mean_audio_delay * 1000.0
    );
    println!(
        "  repair {direction:<17} {} packets retransmitted (RTX), {} keyframe requests (PLI), encoder at {} kbit/s at the end",
        report.repaired_packets, report.keyframes_requested, sender.encoder_kbps
    );
}

/// A row per direction each second, once the peers are connected.
async fn print_stats(
    [bob, alice]: [Arc<Progress>; 2],
    total: u64,
    relay: Option<Arc<crate::relay::RelayStats>>,
    started: Instant,
) {
    println!("{}", table::header(relay.is_some()));
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let mut previous: Option<([Snapshot; 2], [CounterSnapshot; 2], Instant)> = None;
    loop {
        ticker.tick().await;
        let (Some(bob_pc), Some(alice_pc)) = (bob.pc.get(), alice.pc.get()) else {
            continue;
        };
        if alice.connected_at_ms.load(Ordering::Relaxed) == 0 {
            continue;
        }
        let (Ok(bob_report), Ok(alice_report)) = (bob_pc.stats().await, alice_pc.stats().await)
        else {
            continue;
        };
        let now = Instant::now();
        let stats = [Snapshot::of(&bob_report), Snapshot::of(&alice_report)];
        let counters = [
            CounterSnapshot::of(&bob.media),
            CounterSnapshot::of(&alice.media),
        ];
        let (before, before_counters, then) = previous.unwrap_or((
            [Snapshot::default(); 2],
            [CounterSnapshot::default(); 2],
            now - Duration::from_secs(1),
        ));
        previous = Some((stats, counters, now));
        let seconds = now.duration_since(then).as_secs_f64();
        let time = started.elapsed().as_secs();
        let [s_bob, s_alice] = stats;
        let [b_bob, b_alice] = before;
        let [c_bob, c_alice] = counters;
        let [bc_bob, bc_alice] = before_counters;
        let got = alice.received.load(Ordering::Relaxed);
        let mut first = Row {
            direction: "bob→alice",
            sender: (s_bob, b_bob),
            receiver: (s_alice, b_alice),
            sender_counters: (c_bob, bc_bob),
            receiver_counters: (c_alice, bc_alice),
            target_bps: bob.media.target_bps.load(Ordering::Relaxed),
            keyframe_requests: alice.media.keyframes_requested.load(Ordering::Relaxed),
            seconds,
        }
        .format(time);
        if let Some(relay) = relay.as_ref() {
            first += &format!(
                "  {}/{}",
                relay.forwarded.load(Ordering::Relaxed),
                relay.dropped.load(Ordering::Relaxed)
            );
        }
        if got < total {
            first += &format!("  file {}%", (got * 100).checked_div(total).unwrap_or(100));
        }
        println!("{first}");
        println!(
            "{}",
            Row {
                direction: "alice→bob",
                sender: (s_alice, b_alice),
                receiver: (s_bob, b_bob),
                sender_counters: (c_alice, bc_alice),
                receiver_counters: (c_bob, bc_bob),
                target_bps: alice.media.target_bps.load(Ordering::Relaxed),
                keyframe_requests: bob.media.keyframes_requested.load(Ordering::Relaxed),
                seconds,
            }
            .format(time)
        );
    }
}

/// What a peer saw (alice: chat and file; both: the other's media).
struct Received {
    chat: Vec<String>,
    file_len: usize,
    file_digest: String,
    connected_ms: f64,
    transfer_seconds: f64,
    /// What this peer's media receiver played out.
    media: Option<ReceiveReport>,
    /// What this peer's media sender sent.
    frames_sent: u64,
    keyframes_sent: u64,
    encoder_kbps: u64,
}

/// One peer's media phase: sending and receiving threads and their deadlines.
struct MediaPhase {
    sending: Option<media::Sending>,
    receiving: media::Receiving,
    send_until: tokio::time::Instant,
    stop_at: tokio::time::Instant,
}

/// Starts both media threads; packets queued on `rtp` since the tracks appeared go first.
fn start_media(
    pc: &RtcPeer,
    tracks: Tracks,
    progress: &Progress,
    control: &Arc<SendControl>,
    rtp: std::sync::mpsc::Receiver<MediaPacket>,
    duration: Duration,
) -> Result<MediaPhase, String> {
    let receiving = media::start_receiving(pc.clone(), tracks, progress.media.clone(), rtp)?;
    let sending = media::start_sending(
        pc.clone(),
        tracks,
        progress.media.clone(),
        control.clone(),
        duration,
    )?;
    let now = tokio::time::Instant::now();
    Ok(MediaPhase {
        sending: Some(sending),
        receiving,
        send_until: now + duration,
        stop_at: now + duration + MEDIA_GRACE,
    })
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

async fn peer(
    name: &'static str,
    url: String,
    file: Option<Vec<u8>>,
    media_duration: Option<Duration>,
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
    let _ = progress.pc.set(pc.clone());
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
    let mut tracks: Option<Tracks> = None;
    // Received RTP waits here until the media threads start.
    let (rtp_tx, rtp_rx) = std::sync::mpsc::channel::<MediaPacket>();
    let mut rtp_rx = Some(rtp_rx);
    let send_control = Arc::new(SendControl::default());
    let mut phase: Option<MediaPhase> = None;
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
        if media_duration.is_some() {
            tracks = Some(add_tracks(&pc, name).await?);
        }
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
        media: None,
        frames_sent: 0,
        keyframes_sent: 0,
        encoder_kbps: 0,
    };
    let mut hasher = Sha256::new();
    let mut transfer_started: Option<Instant> = None;
    let mut chat_replied = false;
    // Set when the data part is over: start media now (or finish without it).
    let mut data_done = false;
    loop {
        if data_done && phase.is_none() {
            data_done = false;
            match (media_duration, tracks, rtp_rx.take()) {
                (Some(duration), Some(tracks), Some(rtp)) => {
                    println!("{name}: sending audio and video");
                    phase = Some(start_media(
                        &pc,
                        tracks,
                        &progress,
                        &send_control,
                        rtp,
                        duration,
                    )?);
                }
                _ => {
                    if file.is_none() {
                        // Let alice's confirmation leave before the task ends.
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        pc.close().await;
                    }
                    return Ok(received);
                }
            }
        }
        let deadline = phase.as_ref().map(|p| {
            if p.sending.is_some() {
                p.send_until
            } else {
                p.stop_at
            }
        });
        tokio::select! {
            message = signaling.next() => {
                let message = match message {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => return Err(err("signaling", &e)),
                    None => return Err(format!("{name}: signaling closed")),
                };
                on_signal(name, &pc, &mut signaling, &mut remote, &mut pending_candidates, message, &announce, media_duration.is_some(), &mut tracks).await?;
            }
            () = sleep_until(deadline) => {
                let Some(p) = phase.as_mut() else { continue };
                if let Some(sending) = p.sending.take() {
                    tokio::task::spawn_blocking(move || sending.finish())
                        .await
                        .map_err(|e| err("media", &e))?
                        .map_err(|e| err("media", &e))?;
                    let counters = &progress.media;
                    received.frames_sent = counters.frames_sent.load(Ordering::Relaxed);
                    received.keyframes_sent = counters.keyframes_sent.load(Ordering::Relaxed);
                    received.encoder_kbps = counters.encoder_kbps.load(Ordering::Relaxed);
                    println!("{name}: stopped sending media ({} video frames)", received.frames_sent);
                } else if let Some(p) = phase.take() {
                    let report = tokio::task::spawn_blocking(move || p.receiving.finish())
                        .await
                        .map_err(|e| err("media", &e))?
                        .map_err(|e| err("media", &e))?;
                    received.media = Some(report);
                    pc.close().await;
                    return Ok(received);
                }
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
                                // Bob's data part is done once alice confirmed the file.
                                data_done = true;
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
                            data_done = true;
                        }
                    }
                    Event::Track { transceiver, mid, kind, stream_ids, track_id } => {
                        println!("{name}: the peer sends {} on mid {mid} (stream {}, track {})", kind.as_str(), stream_ids.join(","), track_id.unwrap_or_default());
                        if tracks.is_none_or(|t| t.audio != transceiver && t.video != transceiver) {
                            println!("{name}: ignoring a track on a transceiver we do not send on");
                        }
                    }
                    Event::Rtp(packet) => {
                        // Queued until the receiving thread starts; dropped once it has ended.
                        let _ = rtp_tx.send(packet);
                    }
                    Event::KeyframeRequest { transceiver, .. } if tracks.is_some_and(|t| t.video == transceiver) => {
                        progress.media.keyframe_requests_received.fetch_add(1, Ordering::Relaxed);
                        send_control.request_keyframe();
                    }
                    Event::TargetBitrate { bits_per_second } => {
                        progress.media.target_bps.store(bits_per_second, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
        }
    }
}

/// An Opus and a VP8 track (sendrecv).
async fn add_tracks(pc: &RtcPeer, name: &str) -> Result<Tracks, String> {
    let add = |kind: MediaKind| async move {
        pc.add_track(
            kind,
            &format!("{name}-stream"),
            &format!("{name}-{}", kind.as_str()),
        )
        .await
        .map_err(|e| format!("{name}: add {} track: {e}", kind.as_str()))
    };
    Ok(Tracks {
        audio: add(MediaKind::Audio).await?,
        video: add(MediaKind::Video).await?,
    })
}

#[allow(clippy::too_many_arguments)]
async fn on_signal(
    name: &str,
    pc: &RtcPeer,
    signaling: &mut Client,
    remote: &mut Option<PeerId>,
    pending: &mut Vec<String>,
    message: ServerMessage,
    announce: &(dyn Fn(String) -> String + Sync),
    want_media: bool,
    tracks: &mut Option<Tracks>,
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
            // W3C addTrack after the remote offer reuses the transceivers it created.
            if want_media && tracks.is_none() {
                *tracks = Some(add_tracks(pc, name).await?);
            }
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
