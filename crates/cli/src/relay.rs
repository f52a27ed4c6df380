//! The demo's impairing UDP relay: it stands between the two peers on 127.0.0.1 and drops,
//! delays and jitters their datagrams, so users can watch SCTP retransmission (and, with media,
//! NACK/RTX and concealment) at work.
//!
//! Each peer is given the relay's "face" for the other peer instead of the other peer's real
//! address (its candidates are rewritten on the way through signaling). A datagram alice sends
//! to bob's face leaves from alice's face towards bob's real socket, so each peer sees the other
//! at one stable address and ICE validates that path.

use rand::{Rng, SeedableRng};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::UdpSocket;

/// What the relay does to every datagram, in each direction alike.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Impairment {
    /// Probability in 0..=1 that a datagram is dropped.
    pub loss: f64,
    /// One-way delay added to every forwarded datagram.
    pub delay: Duration,
    /// A uniform extra delay in 0..=jitter. Datagrams keep their order (a datagram never
    /// leaves before the one ahead of it), as on a real path's queue.
    pub jitter: Duration,
}

impl Impairment {
    /// `--loss PERCENT`, `--delay MS`, `--jitter MS`; `None` when none is given.
    pub fn from_args(args: &[String]) -> Result<Option<Impairment>, String> {
        let number = |name: &str| -> Result<Option<f64>, String> {
            match crate::flag(args, name) {
                None => Ok(None),
                Some(v) => match v.parse::<f64>() {
                    Ok(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
                    _ => Err(format!("{name} takes a non-negative number")),
                },
            }
        };
        let (loss, delay, jitter) = (number("--loss")?, number("--delay")?, number("--jitter")?);
        if loss.is_none() && delay.is_none() && jitter.is_none() {
            return Ok(None);
        }
        let loss = loss.unwrap_or(0.0);
        if loss >= 100.0 {
            return Err("--loss must be below 100 (percent)".into());
        }
        Ok(Some(Impairment {
            loss: loss / 100.0,
            delay: Duration::from_secs_f64(delay.unwrap_or(0.0) / 1000.0),
            jitter: Duration::from_secs_f64(jitter.unwrap_or(0.0) / 1000.0),
        }))
    }
}

/// Counters the stats line shows.
#[derive(Default)]
pub struct RelayStats {
    /// Datagrams passed on.
    pub forwarded: AtomicU64,
    /// Datagrams dropped on purpose.
    pub dropped: AtomicU64,
    /// Datagrams dropped because too many were waiting (a full delay queue).
    pub overflowed: AtomicU64,
}

/// How early a delayed datagram may leave (the timer's resolution).
const TIMER_RESOLUTION: Duration = Duration::from_millis(1);

/// Datagrams a direction holds while delaying them (≈ 12 MB of 1200-byte packets).
const QUEUE_LIMIT: usize = 10_000;

/// Receive and send buffer of each face: a peer's congestion window in flight (several MB on
/// loopback) arrives as one burst, and the kernel's default (≈ 200 KB) would drop its tail —
/// loss nobody asked for, which halves SCTP's window again and again.
const SOCKET_BUFFER: usize = 4 << 20;

fn bind_face() -> Result<Arc<UdpSocket>, String> {
    let err = |e: std::io::Error| format!("relay: bind: {e}");
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).map_err(err)?;
    // The kernel caps these at net.core.rmem_max / wmem_max; a smaller buffer still works.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.set_nonblocking(true).map_err(err)?;
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .map_err(err)?;
    UdpSocket::from_std(socket.into())
        .map(Arc::new)
        .map_err(err)
}

/// A running relay for two peers, numbered 0 and 1.
pub struct Relay {
    faces: [SocketAddr; 2],
    real: Arc<[OnceLock<SocketAddr>; 2]>,
    /// What it did so far.
    pub stats: Arc<RelayStats>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Relay {
    /// Binds the two faces on 127.0.0.1 and starts forwarding.
    pub async fn start(impairment: Impairment, seed: u64) -> Result<Relay, String> {
        let (face0, face1) = (bind_face()?, bind_face()?);
        let faces = [
            face0.local_addr().map_err(|e| e.to_string())?,
            face1.local_addr().map_err(|e| e.to_string())?,
        ];
        let real: Arc<[OnceLock<SocketAddr>; 2]> = Arc::new([OnceLock::new(), OnceLock::new()]);
        let stats = Arc::new(RelayStats::default());
        let mut tasks = Vec::new();
        // A datagram arriving on peer i's face was sent by the other peer to i: it leaves from
        // the other peer's face towards i's real address. Delayed datagrams wait in one FIFO
        // per direction served by one task, so they leave in the order they came (a task per
        // datagram, woken by the timer in no particular order, reordered back-to-back packets
        // and made SCTP fast-retransmit and halve its window for nothing).
        for (to, inbound, outbound) in [(0usize, face0.clone(), face1.clone()), (1, face1, face0)] {
            let (real, stats) = (real.clone(), stats.clone());
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ to as u64);
            let (queue, mut waiting) =
                tokio::sync::mpsc::channel::<(tokio::time::Instant, Vec<u8>, SocketAddr)>(
                    QUEUE_LIMIT,
                );
            let sender_outbound = outbound.clone();
            tasks.push(tokio::spawn(async move {
                while let Some((departure, datagram, destination)) = waiting.recv().await {
                    // tokio's timer has millisecond resolution: a wait for a datagram due in
                    // 50 µs lasts a whole tick, so datagrams a few µs apart would trickle out one
                    // per millisecond (≈ 1.2 MB/s). Release anything due within the tick.
                    if departure > tokio::time::Instant::now() + TIMER_RESOLUTION {
                        tokio::time::sleep_until(departure - TIMER_RESOLUTION).await;
                    }
                    let _ = sender_outbound.send_to(&datagram, destination).await;
                }
            }));
            tasks.push(tokio::spawn(async move {
                let mut buf = vec![0u8; 65_536];
                let mut last_departure = tokio::time::Instant::now();
                while let Ok((n, _)) = inbound.recv_from(&mut buf).await {
                    let Some(destination) = real.get(to).and_then(OnceLock::get).copied() else {
                        continue;
                    };
                    if rng.r#gen::<f64>() < impairment.loss {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let datagram = buf.get(..n).unwrap_or_default().to_vec();
                    let now = tokio::time::Instant::now();
                    let sample =
                        now + impairment.delay + impairment.jitter.mul_f64(rng.r#gen::<f64>());
                    let departure = sample.max(last_departure);
                    last_departure = departure;
                    if impairment.delay.is_zero() && impairment.jitter.is_zero() {
                        // Nothing ever waits: straight through.
                        stats.forwarded.fetch_add(1, Ordering::Relaxed);
                        let _ = outbound.send_to(&datagram, destination).await;
                    } else if queue.try_send((departure, datagram, destination)).is_ok() {
                        stats.forwarded.fetch_add(1, Ordering::Relaxed);
                    } else {
                        // A full queue is a full router buffer: tail drop.
                        stats.overflowed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        Ok(Relay {
            faces,
            real,
            stats,
            tasks,
        })
    }

    /// Peer `index` (0 or 1) listens on `address`.
    pub fn register(&self, index: usize, address: SocketAddr) {
        if let Some(slot) = self.real.get(index) {
            let _ = slot.set(address);
        }
    }

    /// Replaces peer `index`'s real address by its face in candidate lines (SDP or trickle).
    pub fn rewrite(&self, index: usize, text: &str) -> String {
        match (
            self.real.get(index).and_then(OnceLock::get),
            self.faces.get(index),
        ) {
            (Some(real), Some(face)) => text.replace(
                &format!(" {} {} typ ", real.ip(), real.port()),
                &format!(" {} {} typ ", face.ip(), face.port()),
            ),
            _ => text.to_string(),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_parse_and_reject_nonsense() {
        assert_eq!(Impairment::from_args(&args(&["demo"])), Ok(None));
        let i = Impairment::from_args(&args(&["--loss", "5", "--delay", "40"]))
            .unwrap()
            .unwrap();
        assert!((i.loss - 0.05).abs() < 1e-9);
        assert_eq!(i.delay, Duration::from_millis(40));
        assert!(Impairment::from_args(&args(&["--loss", "100"])).is_err());
        assert!(Impairment::from_args(&args(&["--jitter", "-3"])).is_err());
        assert!(Impairment::from_args(&args(&["--delay", "NaN"])).is_err());
    }

    #[tokio::test]
    async fn forwards_between_faces_and_rewrites_candidates() {
        let relay = Relay::start(Impairment::default(), 1).await.unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        relay.register(0, a.local_addr().unwrap());
        relay.register(1, b.local_addr().unwrap());
        let line = format!(
            "candidate:1 1 udp 2130706431 127.0.0.1 {} typ host",
            a.local_addr().unwrap().port()
        );
        assert!(
            relay
                .rewrite(0, &line)
                .contains(&format!(" {} typ", relay.faces[0].port()))
        );
        // a sends to b's face; b sees it from a's face.
        a.send_to(b"ping", relay.faces[1]).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = tokio::time::timeout(Duration::from_secs(5), b.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], b"ping");
        assert_eq!(from, relay.faces[0]);
    }

    #[tokio::test]
    async fn drops_at_the_configured_rate() {
        let relay = Relay::start(
            Impairment {
                loss: 0.5,
                ..Impairment::default()
            },
            9,
        )
        .await
        .unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        relay.register(1, b.local_addr().unwrap());
        for _ in 0..400 {
            a.send_to(b"x", relay.faces[1]).await.unwrap();
            // Let the relay drain its socket: this counts its drops, not the kernel's.
            tokio::task::yield_now().await;
        }
        let seen = || {
            relay.stats.dropped.load(Ordering::Relaxed)
                + relay.stats.forwarded.load(Ordering::Relaxed)
        };
        for _ in 0..500 {
            if seen() == 400 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(seen(), 400);
        let dropped = relay.stats.dropped.load(Ordering::Relaxed);
        assert!(
            (140..=260).contains(&dropped),
            "dropped {dropped} of 400 at 50 %"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn delayed_datagrams_keep_their_order() {
        let relay = Relay::start(
            Impairment {
                delay: Duration::from_millis(5),
                jitter: Duration::from_millis(5),
                ..Impairment::default()
            },
            3,
        )
        .await
        .unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        relay.register(1, b.local_addr().unwrap());
        let receiver = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut buf = [0u8; 16];
            while got.len() < 500 {
                match tokio::time::timeout(Duration::from_secs(5), b.recv_from(&mut buf)).await {
                    Ok(Ok((4, _))) => got.push(u32::from_be_bytes(buf[..4].try_into().unwrap())),
                    _ => break,
                }
            }
            got
        });
        for i in 0..500u32 {
            a.send_to(&i.to_be_bytes(), relay.faces[1]).await.unwrap();
            if i % 50 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let got = receiver.await.unwrap();
        assert_eq!(got, (0..500).collect::<Vec<u32>>());
    }
}
