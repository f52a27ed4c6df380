//! The demo's media engine: per peer one sending thread (synthetic colour bars → libvpx VP8 →
//! RFC 7741 packets; a speech-like tone → Opus) and one receiving thread (VP8 frame assembly →
//! libvpx decode, with PLI on loss; Opus through NetEq pulled every 10 ms). The threads talk to
//! the connection task through the `RtcPeer` handle, so codec work never stalls the driver.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tern_capture::{
    AudioSource, ColourBarsSource, PixelFormat, SampleFormat, Samples, Tone, ToneSource,
    VideoFrame, VideoSource,
};
use tern_neteq::{NetEq, NetEqConfig, OpusDecoder, SampleRate, SpeechType};
use tern_peerconnection::{KeyframeRequestKind, MediaPacket, RtcPeer, TransceiverId};
use tern_vp8_engine::{
    EncoderConfig, I420Image, PacketizerConfig, ReceiverConfig, ReceiverEvent, Vp8Decoder,
    Vp8Encoder, Vp8Packetizer, Vp8Receiver,
};

/// Picture size and rate of the synthetic camera.
pub const WIDTH: u32 = 320;
/// See [`WIDTH`].
pub const HEIGHT: u32 = 240;
/// Frames per second.
pub const FPS: u32 = 30;
/// Opus at 48 kHz, 20 ms per packet (RFC 7587 §4.1: the RTP clock is always 48 kHz).
const AUDIO_RATE: u32 = 48_000;
const OPUS_FRAME: usize = 960;
const OPUS_BITRATE: i32 = 32_000;
/// What the video encoder gets of the bandwidth estimate: the target less the audio, within
/// what makes sense for 320×240.
const MIN_VIDEO_KBPS: u64 = 80;
const MAX_VIDEO_KBPS: u64 = 2_000;
const START_VIDEO_KBPS: u32 = 250;

/// The two transceivers a peer sends and receives on.
#[derive(Clone, Copy, Debug)]
pub struct Tracks {
    /// Opus.
    pub audio: TransceiverId,
    /// VP8.
    pub video: TransceiverId,
}

/// Live counters of one peer's media, read by the stats printer.
#[derive(Default)]
pub struct Counters {
    /// VP8 frames encoded and written.
    pub frames_sent: AtomicU64,
    /// Key frames among them.
    pub keyframes_sent: AtomicU64,
    /// Frames of the remote's video decoded.
    pub frames_decoded: AtomicU64,
    /// Frames libvpx refused.
    pub decode_errors: AtomicU64,
    /// The frame counter drawn into the last decoded picture.
    pub last_counter: AtomicU64,
    /// Key frames we asked the remote for (PLI).
    pub keyframes_requested: AtomicU64,
    /// Key frames the remote asked us for.
    pub keyframe_requests_received: AtomicU64,
    /// Received packets that came back over RTX.
    pub repaired_packets: AtomicU64,
    /// Audio samples played out by NetEq since the first packet.
    pub audio_samples: AtomicU64,
    /// Of those, concealed.
    pub audio_concealed: AtomicU64,
    /// Decoded (not concealed) samples NetEq emitted.
    pub audio_decoded: AtomicU64,
    /// The bandwidth estimator's last target, bits/s.
    pub target_bps: AtomicU64,
    /// The VP8 encoder's current bitrate, kbit/s.
    pub encoder_kbps: AtomicU64,
    /// The sending threads have stopped.
    pub sending_done: AtomicBool,
}

/// Commands from the connection's event loop to the sending thread.
#[derive(Default)]
pub struct SendControl {
    stop: AtomicBool,
    keyframe: AtomicBool,
}

impl SendControl {
    /// The remote asked for a key frame (PLI/FIR).
    pub fn request_keyframe(&self) {
        self.keyframe.store(true, Ordering::Relaxed);
    }
}

/// The running sending threads (one for audio, one for video, so a slow video frame never
/// delays an audio packet).
pub struct Sending {
    control: Arc<SendControl>,
    counters: Arc<Counters>,
    threads: Vec<JoinHandle<Result<(), String>>>,
}

impl Sending {
    /// Stops the threads and waits for them (call from a blocking context).
    pub fn finish(self) -> Result<(), String> {
        self.control.stop.store(true, Ordering::Relaxed);
        self.counters.sending_done.store(true, Ordering::Relaxed);
        let mut result = Ok(());
        for thread in self.threads {
            let outcome = thread
                .join()
                .map_err(|_| "a media sending thread panicked".to_string())
                .and_then(|r| r);
            result = result.and(outcome);
        }
        result
    }
}

/// Starts sending for `duration`: 30 fps colour bars in VP8 and a speech-like tone in Opus.
pub fn start_sending(
    pc: RtcPeer,
    tracks: Tracks,
    counters: Arc<Counters>,
    control: Arc<SendControl>,
    duration: Duration,
) -> Result<Sending, String> {
    let runtime = tokio::runtime::Handle::current();
    let until = Instant::now() + duration;
    let thread_counters = counters.clone();
    let (video_runtime, video_pc, video_control) = (runtime.clone(), pc.clone(), control.clone());
    let video = std::thread::Builder::new()
        .name("demo-video-send".into())
        .spawn(move || {
            let send = |payload: Vec<u8>, timestamp: u32, marker: bool| {
                video_runtime
                    .block_on(video_pc.write_rtp(tracks.video, payload, timestamp, marker))
                    .map_err(|e| format!("write_rtp (video): {e}"))
            };
            send_video(send, &counters, &video_control, until)
        })
        .map_err(|e| format!("cannot start the video thread: {e}"))?;
    let audio_control = control.clone();
    let audio = std::thread::Builder::new()
        .name("demo-audio-send".into())
        .spawn(move || {
            let send = |payload: Vec<u8>, timestamp: u32, marker: bool| {
                runtime
                    .block_on(pc.write_rtp(tracks.audio, payload, timestamp, marker))
                    .map_err(|e| format!("write_rtp (audio): {e}"))
            };
            send_audio(send, &audio_control, until)
        });
    let audio = match audio {
        Ok(audio) => audio,
        Err(e) => {
            control.stop.store(true, Ordering::Relaxed);
            let _ = video.join();
            return Err(format!("cannot start the audio thread: {e}"));
        }
    };
    Ok(Sending {
        control,
        counters: thread_counters,
        threads: vec![video, audio],
    })
}

/// Sleeps until `deadline`; false once it is at or past `until` or the control says stop.
fn wait(deadline: Instant, until: Instant, control: &SendControl) -> bool {
    if deadline >= until || control.stop.load(Ordering::Relaxed) {
        return false;
    }
    let now = Instant::now();
    if deadline > now {
        std::thread::sleep(deadline - now);
    }
    true
}

/// 30 fps colour bars → VP8 → RFC 7741 packets.
fn send_video(
    send: impl Fn(Vec<u8>, u32, bool) -> Result<(), String>,
    counters: &Counters,
    control: &SendControl,
    until: Instant,
) -> Result<(), String> {
    let mut bars =
        ColourBarsSource::new(WIDTH, HEIGHT, f64::from(FPS)).map_err(|e| e.to_string())?;
    let mut encoder = Vp8Encoder::new(EncoderConfig::new(WIDTH, HEIGHT, START_VIDEO_KBPS))
        .map_err(|e| format!("VP8 encoder: {e}"))?;
    counters
        .encoder_kbps
        .store(u64::from(START_VIDEO_KBPS), Ordering::Relaxed);
    let mut packetizer = Vp8Packetizer::new(PacketizerConfig {
        initial_picture_id: rand::random::<u16>() & 0x7fff,
        ..PacketizerConfig::default()
    });
    let started = Instant::now();
    let interval = Duration::from_secs(1) / FPS;
    let mut frames = 0u32;
    while wait(started + interval * frames, until, control) {
        adapt_bitrate(&mut encoder, counters)?;
        if control.keyframe.swap(false, Ordering::Relaxed) {
            encoder.request_keyframe();
        }
        let Some(frame) = bars.read_frame().map_err(|e| e.to_string())? else {
            break;
        };
        let image = I420Image::from_vec(frame.width, frame.height, frame.data)
            .map_err(|e| e.to_string())?;
        let pts = u64::from(frames) * u64::from(90_000 / FPS);
        for encoded in encoder
            .encode(&image, pts)
            .map_err(|e| format!("VP8 encode: {e}"))?
        {
            let payloads = packetizer
                .packetize(&encoded.to_send())
                .map_err(|e| format!("VP8 packetize: {e}"))?;
            let last = payloads.len().saturating_sub(1);
            for (i, payload) in payloads.into_iter().enumerate() {
                // RFC 7741 §4.1: the marker bit is set on the last packet of a frame.
                send(payload.to_vec(), pts as u32, i == last)?;
            }
            counters.frames_sent.fetch_add(1, Ordering::Relaxed);
            if encoded.key_frame {
                counters.keyframes_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
        frames += 1;
    }
    Ok(())
}

/// A speech-like tone → Opus, one packet per 20 ms.
fn send_audio(
    send: impl Fn(Vec<u8>, u32, bool) -> Result<(), String>,
    control: &SendControl,
    until: Instant,
) -> Result<(), String> {
    let mut tone = ToneSource::new(Tone::SpeechLike, AUDIO_RATE, 1, SampleFormat::I16)
        .map_err(|e| e.to_string())?;
    let mut opus = audiopus::coder::Encoder::new(
        audiopus::SampleRate::Hz48000,
        audiopus::Channels::Mono,
        audiopus::Application::Voip,
    )
    .map_err(|e| format!("Opus encoder: {e}"))?;
    let setup = |opus: &mut audiopus::coder::Encoder| -> Result<(), audiopus::Error> {
        opus.set_bitrate(audiopus::Bitrate::BitsPerSecond(OPUS_BITRATE))?;
        // In-band FEC lets NetEq recover a lost packet from the next one.
        opus.set_inband_fec(true)?;
        opus.set_packet_loss_perc(10)
    };
    setup(&mut opus).map_err(|e| format!("Opus encoder: {e}"))?;
    let started = Instant::now();
    let interval = Duration::from_millis(20);
    let mut packets = 0u32;
    let mut pcm: Vec<i16> = Vec::with_capacity(OPUS_FRAME);
    let mut encoded = vec![0u8; 1500];
    while wait(started + interval * packets, until, control) {
        while pcm.len() < OPUS_FRAME {
            let Some(block) = tone.read_frame().map_err(|e| e.to_string())? else {
                return Ok(());
            };
            match block.samples {
                Samples::I16(s) => pcm.extend(s),
                other => pcm.extend(other.to_i16()),
            }
        }
        let n = opus
            .encode(pcm.get(..OPUS_FRAME).unwrap_or_default(), &mut encoded)
            .map_err(|e| format!("Opus encode: {e}"))?;
        pcm.drain(..OPUS_FRAME);
        let timestamp = packets.wrapping_mul(OPUS_FRAME as u32);
        // RFC 3551 §4.1: the marker bit on the first packet of a talkspurt.
        send(
            encoded.get(..n).unwrap_or_default().to_vec(),
            timestamp,
            packets == 0,
        )?;
        packets += 1;
    }
    Ok(())
}

/// Follows the bandwidth estimator: the video gets the target less the audio.
fn adapt_bitrate(encoder: &mut Vp8Encoder, counters: &Counters) -> Result<(), String> {
    let target = counters.target_bps.load(Ordering::Relaxed);
    if target == 0 {
        return Ok(());
    }
    let wanted = (target.saturating_sub(OPUS_BITRATE as u64 + 16_000) / 1000)
        .clamp(MIN_VIDEO_KBPS, MAX_VIDEO_KBPS);
    let current = u64::from(encoder.config().bitrate_kbps);
    // Reconfigure only on a change of more than 10 %.
    if wanted.abs_diff(current) * 10 > current {
        let kbps = u32::try_from(wanted).unwrap_or(u32::MAX);
        encoder
            .set_rates(kbps, FPS)
            .map_err(|e| format!("VP8 set_rates: {e}"))?;
        counters.encoder_kbps.store(wanted, Ordering::Relaxed);
    }
    Ok(())
}

/// What a receiving thread saw of the remote's media.
#[derive(Clone, Debug, Default)]
pub struct ReceiveReport {
    /// Frames decoded.
    pub frames_decoded: u64,
    /// Decoder failures.
    pub decode_errors: u64,
    /// The counter in the last decoded picture (the sender's frame number).
    pub last_counter: Option<u16>,
    /// Frames whose counter did not follow the previous one (a skipped or repeated picture).
    pub counter_jumps: u64,
    /// PLIs sent.
    pub keyframes_requested: u64,
    /// Seconds of audio played since the first packet.
    pub audio_seconds: f64,
    /// Of those, the share concealed (0–1).
    pub concealed: f64,
    /// Decoded samples NetEq emitted.
    pub audio_decoded_samples: u64,
    /// Lost audio packets recovered from Opus in-band FEC.
    pub fec_recovered: u64,
    /// NetEq's mean playout delay, seconds.
    pub mean_audio_delay: f64,
    /// Packets recovered by RTX.
    pub repaired_packets: u64,
}

/// A running receiving thread.
pub struct Receiving {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<ReceiveReport, String>>,
}

impl Receiving {
    /// Stops the thread and returns its report (call from a blocking context).
    pub fn finish(self) -> Result<ReceiveReport, String> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| "the media receiving thread panicked".to_string())?
    }
}

/// Starts playing out what arrives on `packets` (the connection's `Event::Rtp`s).
pub fn start_receiving(
    pc: RtcPeer,
    tracks: Tracks,
    counters: Arc<Counters>,
    packets: mpsc::Receiver<MediaPacket>,
) -> Result<Receiving, String> {
    let runtime = tokio::runtime::Handle::current();
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = stop.clone();
    let thread = std::thread::Builder::new()
        .name("demo-media-recv".into())
        .spawn(move || receive_loop(&runtime, &pc, tracks, &counters, &packets, &thread_stop))
        .map_err(|e| format!("cannot start the media thread: {e}"))?;
    Ok(Receiving { stop, thread })
}

fn receive_loop(
    runtime: &tokio::runtime::Handle,
    pc: &RtcPeer,
    tracks: Tracks,
    counters: &Counters,
    packets: &mpsc::Receiver<MediaPacket>,
    stop: &AtomicBool,
) -> Result<ReceiveReport, String> {
    let mut video = Vp8Receiver::new(ReceiverConfig::default());
    let mut decoder = Vp8Decoder::new(1).map_err(|e| format!("VP8 decoder: {e}"))?;
    let mut neteq = NetEq::new(NetEqConfig::new(SampleRate::Hz48000));
    let mut opus_payload_type = None;
    let mut out = vec![0i16; AUDIO_RATE as usize / 100];
    let mut report = ReceiveReport::default();
    let started = Instant::now();
    let tick = Duration::from_millis(10);
    let mut ticks = 0u32;
    // NetEq's stats at the last frame decoded from a packet: after the sender stops, the
    // receiver keeps playing (concealing) until it is stopped, and that tail is not a loss.
    let mut live = neteq.stats().clone();
    while !stop.load(Ordering::Relaxed) {
        let next_tick = started + tick * ticks;
        let wake = video.poll_timeout().map_or(next_tick, |t| t.min(next_tick));
        match packets.recv_timeout(wake.saturating_duration_since(Instant::now())) {
            Ok(packet) => {
                if packet.repaired {
                    report.repaired_packets += 1;
                    counters.repaired_packets.fetch_add(1, Ordering::Relaxed);
                }
                if packet.transceiver == tracks.video {
                    // A payload that does not parse is dropped; the receiver keeps its state.
                    let _ = video.handle_packet(
                        Instant::now(),
                        packet.sequence_number,
                        packet.timestamp,
                        packet.marker,
                        &packet.payload,
                    );
                } else if packet.transceiver == tracks.audio {
                    if opus_payload_type.is_none() {
                        let opus = OpusDecoder::new(AUDIO_RATE)
                            .map_err(|e| format!("Opus decoder: {e}"))?;
                        neteq
                            .register_decoder(packet.payload_type, Box::new(opus))
                            .map_err(|e| format!("NetEq: {e}"))?;
                        opus_payload_type = Some(packet.payload_type);
                    }
                    // Late, duplicate or malformed packets are NetEq's to count and drop.
                    let _ = neteq.insert_packet(
                        packet.timestamp,
                        packet.sequence_number,
                        packet.payload_type,
                        &packet.payload,
                        neteq.playout_clock(),
                    );
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let now = Instant::now();
        if video.poll_timeout().is_some_and(|t| t <= now) {
            video.handle_timeout(now);
        }
        while let Some(event) = video.poll_event() {
            match event {
                ReceiverEvent::Frame(frame) => match decoder.decode(&frame.frame.data) {
                    Ok(Some(image)) => {
                        report.frames_decoded += 1;
                        counters.frames_decoded.fetch_add(1, Ordering::Relaxed);
                        let counter = VideoFrame::new(
                            PixelFormat::I420,
                            image.width(),
                            image.height(),
                            Duration::ZERO,
                            image.as_bytes().to_vec(),
                        )
                        .ok()
                        .and_then(|f| ColourBarsSource::read_counter(&f));
                        if let Some(c) = counter {
                            if report.last_counter.is_some_and(|l| l.wrapping_add(1) != c) {
                                report.counter_jumps += 1;
                            }
                            report.last_counter = Some(c);
                            counters.last_counter.store(u64::from(c), Ordering::Relaxed);
                        }
                    }
                    Ok(None) => {}
                    Err(_) => {
                        report.decode_errors += 1;
                        counters.decode_errors.fetch_add(1, Ordering::Relaxed);
                        video.handle_decoder_error(Instant::now());
                    }
                },
                ReceiverEvent::KeyframeRequest(_) => {
                    report.keyframes_requested += 1;
                    counters.keyframes_requested.fetch_add(1, Ordering::Relaxed);
                    // RFC 4585 §6.3.1: PLI for a picture the receiver cannot recover.
                    let _ = runtime
                        .block_on(pc.request_keyframe(tracks.video, KeyframeRequestKind::Pli));
                }
                _ => {}
            }
        }
        // The playout clock: 10 ms of audio per tick, caught up if the thread fell behind.
        while started + tick * ticks <= Instant::now() {
            let frame = neteq
                .get_audio(&mut out)
                .map_err(|e| format!("NetEq: {e}"))?;
            ticks += 1;
            let stats = neteq.stats();
            if frame.speech_type == SpeechType::Normal {
                live = stats.clone();
            }
            counters
                .audio_samples
                .store(stats.total_samples_received, Ordering::Relaxed);
            counters
                .audio_concealed
                .store(stats.concealed_samples, Ordering::Relaxed);
            counters
                .audio_decoded
                .store(stats.jitter_buffer_emitted_count, Ordering::Relaxed);
        }
    }
    let stats = &live;
    report.audio_seconds = stats.total_samples_received as f64 / f64::from(AUDIO_RATE);
    report.concealed = if stats.total_samples_received == 0 {
        0.0
    } else {
        stats.concealed_samples as f64 / stats.total_samples_received as f64
    };
    report.audio_decoded_samples = stats.jitter_buffer_emitted_count;
    report.fec_recovered = stats.fec_recovered_packets;
    report.mean_audio_delay = stats.mean_delay();
    Ok(report)
}
