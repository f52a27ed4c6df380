//! webrtc-rs (crate `webrtc` 0.21.1, its default tokio runtime and ring crypto): two
//! `PeerConnection`s in this process on 127.0.0.1 (UDP4 host candidates only, loopback included,
//! mDNS off, no STUN), the SDP handed across in memory once ICE gathering completes, as Pion's
//! side does. One multi-threaded tokio runtime (a worker per core, as Pion's goroutines spread
//! over every core) lives for the whole run, so rounds interleave with the other stacks' in a
//! warm runtime. CPU time is the process's, all threads, over the measured interval: the Rust
//! stacks' thread is idle while webrtc-rs runs.
//!
//! Flow control as Pion's side and webrtc-rs's own `data-channels-flow-control` example do it:
//! send until `OnBufferedAmountHigh` (1 MiB), then wait for `OnBufferedAmountLow` (512 KiB), so
//! about 1 MiB stays buffered as in the other stacks' loops. `BENCH_WEBRTC_RS_SEND_LIMIT=1`
//! instead paces with its blocking `send` under `with_data_channel_send_buffer_limit(1 MiB)`
//! (diagnostics; it measured about the same, as did a 4 MiB high-water mark).
//! webrtc-rs's socket driver batches datagrams with UDP GSO/GRO (`quinn-udp`) by itself, in both
//! throughput figures alike: that is how it ships.
//!
//! Seen on this machine: both figures are wait-bound, not CPU-bound. In `setup`, ICE connects
//! within 1 ms of the answer, DTLS completes ~200 ms later and the channel opens at ~600 ms, with
//! ~3 ms CPU in all; in `throughput` the process is busy ~0.2 of the wall time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use webrtc::data_channel::{DataChannel, DataChannelEvent, RTCDataChannelInit};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceGatheringState, SettingEngineBuilder,
};

use crate::{MESSAGE, Sample};

/// The pinned version in Cargo.toml, for the row name.
pub const NAME: &str = "webrtc-rs-0.21.1";

/// The send-side high-water mark, as in the other stacks' loops.
const HIGH_WATER: usize = 1 << 20;

/// What a peer connection's callbacks and channel tasks report to the round.
enum Note {
    Gathered,
    Open,
    Message(usize),
    High,
    Low,
}

/// Forwards a peer connection's events to the round.
struct Handler {
    notes: UnboundedSender<Note>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.notes.send(Note::Gathered);
        }
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        // Returning from the callback unblocks the driver: the channel is read in a task.
        pump(channel, self.notes.clone());
    }
}

/// Reads every event of `channel` (its queue is bounded: an unread channel would stall the
/// driver) and reports the open and each message's size.
fn pump(channel: Arc<dyn DataChannel>, notes: UnboundedSender<Note>) {
    tokio::spawn(async move {
        while let Some(event) = channel.poll().await {
            let note = match event {
                DataChannelEvent::OnOpen => Note::Open,
                DataChannelEvent::OnMessage(m) => Note::Message(m.data.len()),
                DataChannelEvent::OnBufferedAmountHigh => Note::High,
                DataChannelEvent::OnBufferedAmountLow => Note::Low,
                _ => continue,
            };
            let _ = notes.send(note);
        }
    });
}

/// Waits for the next note of the wanted kind, skipping others; panics after 20 s.
async fn wait_for(notes: &mut UnboundedReceiver<Note>, what: &str, want: fn(&Note) -> bool) {
    let wait = async {
        while let Some(note) = notes.recv().await {
            if want(&note) {
                return;
            }
        }
        panic!("webrtc-rs: peer connection gone while waiting for {what}");
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("webrtc-rs: no {what} within 20 s"));
}

/// Two connected peer connections, the sending channel on `a`, the notes of both.
struct Pair<P> {
    a: P,
    b: P,
    sender: Arc<dyn DataChannel>,
    a_notes: UnboundedReceiver<Note>,
    b_notes: UnboundedReceiver<Note>,
}

/// `BENCH_WEBRTC_RS_SEND_LIMIT=1`: pace with the blocking send-buffer limit instead of events.
fn send_limit() -> bool {
    std::env::var_os("BENCH_WEBRTC_RS_SEND_LIMIT").is_some()
}

async fn peer(notes: UnboundedSender<Note>) -> impl PeerConnection {
    let settings = SettingEngineBuilder::new()
        .with_network_types(vec![rtc::ice::network_type::NetworkType::Udp4])
        .with_include_loopback_candidate(true)
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .build();
    let builder = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build()) // no ICE servers: no STUN
        .with_setting_engine(settings)
        .with_handler(Arc::new(Handler { notes }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()]);
    let builder = if send_limit() {
        builder.with_data_channel_send_buffer_limit(HIGH_WATER)
    } else {
        builder
    };
    builder.build().await.expect("webrtc-rs peer connection")
}

/// Creates both peer connections and returns once the channel is open on both sides.
async fn connect() -> Pair<impl PeerConnection> {
    let (a_tx, mut a_notes) = unbounded_channel();
    let (b_tx, mut b_notes) = unbounded_channel();
    let a = peer(a_tx.clone()).await;
    let b = peer(b_tx).await;
    let init = RTCDataChannelInit {
        ordered: true,
        ..Default::default()
    };
    let sender = a
        .create_data_channel("bench", Some(init))
        .await
        .expect("channel");
    pump(sender.clone(), a_tx);

    let offer = a.create_offer(None).await.expect("offer");
    a.set_local_description(offer).await.expect("local offer");
    wait_for(&mut a_notes, "ICE gathering", |n| {
        matches!(n, Note::Gathered)
    })
    .await;
    let offer = a.local_description().await.expect("offer with candidates");
    b.set_remote_description(offer).await.expect("remote offer");
    let answer = b.create_answer(None).await.expect("answer");
    b.set_local_description(answer).await.expect("local answer");
    wait_for(&mut b_notes, "ICE gathering", |n| {
        matches!(n, Note::Gathered)
    })
    .await;
    let answer = b.local_description().await.expect("answer with candidates");
    a.set_remote_description(answer)
        .await
        .expect("remote answer");

    wait_for(&mut a_notes, "channel open", |n| matches!(n, Note::Open)).await;
    wait_for(&mut b_notes, "channel open", |n| matches!(n, Note::Open)).await;
    Pair {
        a,
        b,
        sender,
        a_notes,
        b_notes,
    }
}

impl<P: PeerConnection> Pair<P> {
    async fn close(self) {
        let _ = self.sender.close().await;
        let _ = self.a.close().await;
        let _ = self.b.close().await;
    }
}

/// CPU time of the whole process (all threads), in ms.
pub(crate) fn process_cpu_ms() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the duration of the call.
    if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) } != 0 {
        return 0.0;
    }
    t.tv_sec as f64 * 1e3 + t.tv_nsec as f64 / 1e6
}

/// The warm runtime all rounds run on.
pub struct WebrtcRs {
    runtime: tokio::runtime::Runtime,
}

impl WebrtcRs {
    pub fn start() -> WebrtcRs {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        WebrtcRs { runtime }
    }

    /// Milliseconds from creating both peer connections to the channel open on both.
    pub fn setup(&mut self) -> Sample {
        self.runtime.block_on(async {
            let cpu = process_cpu_ms();
            let start = Instant::now();
            let pair = connect().await;
            let sample = Sample {
                value: start.elapsed().as_secs_f64() * 1e3,
                cpu_ms: process_cpu_ms() - cpu,
            };
            pair.close().await;
            sample
        })
    }

    /// MB/s at the receiver moving `total` bytes (rounded up to whole messages).
    pub fn throughput(&mut self, total: usize) -> Sample {
        self.runtime.block_on(async {
            let mut pair = connect().await;
            let messages = total.div_ceil(MESSAGE);
            let expected = messages * MESSAGE;
            let payload = vec![0x5au8; MESSAGE];
            let sender = pair.sender.clone();
            sender
                .set_buffered_amount_high_threshold(HIGH_WATER as u32)
                .await
                .expect("high threshold");
            sender
                .set_buffered_amount_low_threshold(HIGH_WATER as u32 / 2)
                .await
                .expect("low threshold");
            let (a_notes, notes) = (&mut pair.a_notes, &mut pair.b_notes);
            let limit = send_limit();
            let cpu = process_cpu_ms();
            let start = Instant::now();
            let send = async {
                for _ in 0..messages {
                    // With the send-buffer limit, `send` itself waits while 1 MiB is outstanding.
                    sender
                        .send(BytesMut::from(&payload[..]))
                        .await
                        .expect("send");
                    if limit {
                        continue;
                    }
                    // Above the high-water mark: wait until the buffer drains to the low one.
                    let mut high = false;
                    while let Ok(note) = a_notes.try_recv() {
                        match note {
                            Note::High => high = true,
                            Note::Low => high = false,
                            _ => {}
                        }
                    }
                    while high {
                        match a_notes.recv().await {
                            Some(Note::Low) => high = false,
                            Some(_) => {}
                            None => panic!("webrtc-rs: sender gone"),
                        }
                    }
                }
            };
            let receive = async {
                let mut received = 0;
                while received < expected {
                    match notes.recv().await {
                        Some(Note::Message(n)) => received += n,
                        Some(_) => {}
                        None => panic!("webrtc-rs: receiver gone at {received} bytes"),
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(120), async {
                tokio::join!(send, receive);
            })
            .await
            .expect("webrtc-rs throughput run stalled");
            let sample = Sample {
                value: expected as f64 / start.elapsed().as_secs_f64() / 1e6,
                cpu_ms: process_cpu_ms() - cpu,
            };
            pair.close().await;
            sample
        })
    }
}
