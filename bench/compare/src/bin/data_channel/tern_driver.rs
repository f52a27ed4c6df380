//! Tern through its product tokio driver (`tern_peerconnection::driver`, feature `tokio`): two
//! `RtcPeer`s on 127.0.0.1 in this process, on a current-thread runtime (one thread, as the
//! sans-IO loops in `tern.rs` and `str0m_side.rs`), so the driver's own socket I/O — its GSO
//! sends, its GRO/`recvmmsg` receives, its per-thread buffer — is what moves the bytes.

use crate::{MESSAGE, live_bytes};
use std::time::{Duration, Instant};
use tern_peerconnection::{DataChannelId, DataChannelInit, Event, RtcConfig, RtcEvents, RtcPeer};

/// Queued in `bufferedAmount` before the sender waits, as in the other throughput loops.
const QUEUED: usize = 1 << 20;

/// `TERN_BENCH_DRIVER_WORKERS=N`: a multi-thread runtime with N workers instead (the peers'
/// tasks then run on any worker; the CPU column is then the whole process's).
fn workers() -> Option<usize> {
    std::env::var("TERN_BENCH_DRIVER_WORKERS")
        .ok()
        .and_then(|n| n.parse().ok())
}

/// CPU time so far: this thread's on the current-thread runtime, else the whole process's.
fn cpu_ms() -> f64 {
    match workers() {
        None => crate::thread_cpu_ms(),
        Some(_) => crate::webrtc_rs::process_cpu_ms(),
    }
}

pub fn throughput(total: usize) -> crate::Sample {
    let runtime = match workers() {
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
    }
    .expect("runtime");
    runtime.block_on(run(total))
}

/// The next event matching `want`, within 20 s.
async fn wait_for(events: &mut RtcEvents, want: impl Fn(&Event) -> bool) -> Event {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let event = events.recv().await.expect("connection task ended");
            if want(&event) {
                return event;
            }
        }
    })
    .await
    .expect("no such event within 20 s")
}

/// Two driver peers on 127.0.0.1 with an open channel from `a` to `b`.
async fn connected_pair() -> (RtcPeer, RtcEvents, RtcPeer, RtcEvents, DataChannelId) {
    let bind = ["127.0.0.1:0".parse().expect("address")];
    let config = || RtcConfig {
        sctp_zero_checksum: std::env::var_os("TERN_BENCH_ZERO_CHECKSUM").is_some(),
        ..RtcConfig::default()
    };
    let (a, mut a_events) = RtcPeer::spawn(config(), &bind).await.expect("spawn a");
    let (b, mut b_events) = RtcPeer::spawn(config(), &bind).await.expect("spawn b");
    let channel = a
        .create_data_channel("bench", DataChannelInit::default())
        .await
        .expect("channel");
    let offer = a.create_offer().await.expect("offer");
    a.set_local_description(offer.clone())
        .await
        .expect("local offer");
    b.set_remote_description(offer).await.expect("remote offer");
    let answer = b.create_answer().await.expect("answer");
    b.set_local_description(answer.clone())
        .await
        .expect("local answer");
    a.set_remote_description(answer)
        .await
        .expect("remote answer");
    wait_for(
        &mut a_events,
        |e| matches!(e, Event::DataChannelOpen { id } if *id == channel),
    )
    .await;
    wait_for(&mut b_events, |e| matches!(e, Event::DataChannel { .. })).await;
    (a, a_events, b, b_events, channel)
}

/// Live heap per idle connected driver peer (its task, channels, socket state and core, one
/// open channel) in KiB: `pairs` pairs on one current-thread runtime, after one warm-up pair
/// (so the runtime's and the thread's receive buffer are not counted). Socket buffers are the
/// kernel's, not counted.
pub fn memory(pairs: usize) -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let warm = connected_pair().await;
        // Let the warm-up pair settle (its first timers and acknowledgements).
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = live_bytes();
        let mut all = Vec::with_capacity(pairs);
        for _ in 0..pairs {
            all.push(connected_pair().await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        // An application handles its events as they come: what an idle peer holds is its
        // state, not a backlog of unread events (candidates, state changes) in its channel.
        for (_, a_events, _, b_events, _) in all.iter_mut() {
            drain(a_events).await;
            drain(b_events).await;
        }
        let after = live_bytes();
        for (a, _, b, _, _) in all.iter().chain([&warm]) {
            a.close().await;
            b.close().await;
        }
        (after - before) as f64 / (2 * pairs) as f64 / 1024.0
    })
}

/// Takes every event already queued, without waiting for more.
async fn drain(events: &mut RtcEvents) {
    while let Ok(Some(_)) = tokio::time::timeout(Duration::ZERO, events.recv()).await {}
}

async fn run(total: usize) -> crate::Sample {
    let (a, mut a_events, b, mut b_events, channel) = connected_pair().await;
    a.set_buffered_amount_low_threshold(channel, QUEUED - MESSAGE)
        .await;

    let messages = total.div_ceil(MESSAGE);
    let expected = messages * MESSAGE;
    // The receiving application: counts bytes until all have arrived.
    let receiver = tokio::spawn(async move {
        let mut received = 0;
        while received < expected {
            match tokio::time::timeout(Duration::from_secs(60), b_events.recv()).await {
                Ok(Some(Event::DataChannelMessage { data, .. })) => received += data.len(),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    panic!("throughput run stalled at {received} of {expected} bytes")
                }
            }
        }
        (Instant::now(), b_events)
    });
    let message = vec![0x5au8; MESSAGE];
    let cpu = cpu_ms();
    let start = Instant::now();
    let mut sent = 0;
    while sent < messages {
        if a.buffered_amount(channel).await < QUEUED {
            a.send(channel, message.clone(), true).await.expect("send");
            sent += 1;
        } else {
            wait_for(
                &mut a_events,
                |e| matches!(e, Event::DataChannelBufferedAmountLow { id } if *id == channel),
            )
            .await;
        }
    }
    let (end, _b_events) = receiver.await.expect("receiver");
    let rate = expected as f64 / (end - start).as_secs_f64() / 1e6;
    let spent = cpu_ms() - cpu;
    a.close().await;
    b.close().await;
    crate::Sample {
        value: rate,
        cpu_ms: spent,
    }
}
