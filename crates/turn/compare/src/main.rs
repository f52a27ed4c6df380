//! TURN relay throughput on loopback sockets, `tern-turn`'s server runner vs coturn, one run.
//!
//! Both servers run as separate processes on 127.0.0.1 (ours is this binary re-run with
//! `--serve-tern`). The same load generator allocates on each with `tern-turn`'s sans-IO client
//! (long-term credentials, ChannelBind to a sink), then blasts pre-built ChannelData frames
//! client → server → sink with a bounded number in flight, round-robin over the allocations,
//! and counts what reaches the sink. Rounds of the two servers are interleaved; the median
//! round is reported. Figures: packets/s through 1 allocation and spread over N allocations.
//!
//! ```text
//! cargo run --release [-- --seconds 3 --rounds 3 --allocations 1000 --size 200]
//! ```
//! Prints a table, then machine-readable lines `tern=<ns> peer=<ns> name=<peer>` (ns per packet,
//! lower is better) as `cargo xtask bench` reads them.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tern_turn::{Client, ClientConfig, Event, IpNet, PeerPolicy, ServerConfig, ServerRunner};

const USER: &str = "bench";
const PASSWORD: &str = "bench-pw";
/// Frames in flight (sent, not yet counted at the sink) at most.
const WINDOW: u64 = 128;

struct Options {
    seconds: f64,
    rounds: usize,
    allocations: usize,
    size: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve-tern") {
        serve_tern();
        return;
    }
    let value = |name: &str, default: f64| -> f64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let options = Options {
        seconds: value("--seconds", 3.0),
        rounds: value("--rounds", 3.0) as usize,
        allocations: value("--allocations", 1000.0) as usize,
        size: value("--size", 200.0) as usize,
    };
    if let Err(e) = run(&options) {
        eprintln!("tern-turn-compare: {e}");
        std::process::exit(1);
    }
}

/// The child process: our runner on 127.0.0.1 until stdin closes (so it dies with the parent).
fn serve_tern() {
    let mut config = ServerConfig::new(
        "bench",
        "127.0.0.1"
            .parse()
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
    )
    .with_user(USER, PASSWORD);
    config.user_quota = usize::MAX;
    config.total_quota = 100_000;
    config.relay_ports = 20000..=29999;
    config.peer_policy = PeerPolicy::allowing(IpNet::new(
        "127.0.0.0"
            .parse()
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into()),
        8,
    ));
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    else {
        std::process::exit(2);
    };
    runtime.block_on(async move {
        let Ok(runner) =
            ServerRunner::bind(config, SocketAddr::from(([127, 0, 0, 1], 0)), false).await
        else {
            std::process::exit(2);
        };
        println!("listening on {}", runner.local_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            let _ = tx.send(());
        });
        let _ = runner
            .run(async move {
                let _ = rx.await;
            })
            .await;
    });
}

/// Kills the child by PID when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_tern() -> Result<(SocketAddr, ChildGuard), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg("--serve-tern")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start our server: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let guard = ChildGuard(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("our server said `{line}`"))?;
    Ok((addr, guard))
}

fn start_coturn() -> Result<(SocketAddr, ChildGuard, String), String> {
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let pidfile =
        std::env::temp_dir().join(format!("tern-turn-compare-{}.pid", std::process::id()));
    let child = Command::new("turnserver")
        .args([
            "-n",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
        ])
        .arg(format!("--listening-port={port}"))
        .args([
            "--lt-cred-mech",
            &format!("--user={USER}:{PASSWORD}"),
            "--realm=bench",
        ])
        .args([
            "--allow-loopback-peers",
            "--min-port=30000",
            "--max-port=39999",
            "--log-file=/dev/null",
        ])
        .arg(format!("--pidfile={}", pidfile.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start turnserver (apt-get install coturn): {e}"))?;
    let version = Command::new("turnserver")
        .arg("--version")
        .output()
        .map(|o| format!("coturn {}", String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|_| "coturn".into());
    Ok((
        SocketAddr::from(([127, 0, 0, 1], port)),
        ChildGuard(child),
        version,
    ))
}

/// One allocation with a channel to the sink: its socket and the ready-made ChannelData frame.
struct Allocation {
    socket: UdpSocket,
    frame: Vec<u8>,
    /// XOR-RELAYED-ADDRESS: where the peer sends to reach this client.
    relayed: SocketAddr,
}

/// Drives `client` over `socket` until `done` matches an event (or 10 s pass).
fn drive(
    client: &mut Client,
    socket: &UdpSocket,
    done: impl Fn(&Event) -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 2048];
    loop {
        while let Some(t) = client.poll_transmit() {
            socket
                .send_to(&t.data, t.destination)
                .map_err(|e| e.to_string())?;
        }
        while let Some(e) = client.poll_event() {
            if let Event::Failed(err) = &e {
                return Err(format!("allocation failed: {err}"));
            }
            if done(&e) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err("the server did not answer in 10 s".into());
        }
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let _ = client.handle_receive(Instant::now(), from, buf.get(..n).unwrap_or_default());
        }
        if client.poll_timeout().is_some_and(|t| t <= Instant::now()) {
            client.handle_timeout(Instant::now());
        }
    }
}

fn allocate(
    server: SocketAddr,
    sink: SocketAddr,
    size: usize,
    seed: u8,
) -> Result<Allocation, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(Duration::from_millis(2)))
        .map_err(|e| e.to_string())?;
    let mut config = ClientConfig::new(server, USER, PASSWORD);
    config.seed = Some([seed; 32]);
    let mut client = Client::new(config);
    client.allocate(Instant::now()).map_err(|e| e.to_string())?;
    drive(&mut client, &socket, |e| {
        matches!(e, Event::Allocated { .. })
    })?;
    let channel = client
        .bind_channel(Instant::now(), sink)
        .map_err(|e| e.to_string())?;
    drive(&mut client, &socket, |e| {
        matches!(e, Event::ChannelBound { .. })
    })?;
    let len = u16::try_from(size).map_err(|_| "--size too large")?;
    let mut frame = Vec::with_capacity(4 + size);
    frame.extend_from_slice(&channel.to_be_bytes());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend((0..size).map(|i| i as u8));
    socket.set_nonblocking(true).map_err(|e| e.to_string())?;
    let relayed = client.relayed_address().ok_or("no relayed address")?;
    Ok(Allocation {
        socket,
        frame,
        relayed,
    })
}

/// Counts datagrams arriving at the sink.
struct Sink {
    addr: SocketAddr,
    /// The same socket, for sending as the peer.
    sender: UdpSocket,
    received: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sink {
    fn start() -> Result<Sink, String> {
        let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .map_err(|e| e.to_string())?;
        let addr = socket.local_addr().map_err(|e| e.to_string())?;
        let sender = socket.try_clone().map_err(|e| e.to_string())?;
        let received = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, flag) = (received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while !flag.load(Ordering::Relaxed) {
                if socket.recv_from(&mut buf).is_ok() {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        Ok(Sink {
            addr,
            sender,
            received,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Calls `send` for `seconds`, at most WINDOW frames in flight by `received`; returns packets per
/// second delivered and the loss fraction.
fn blast_with(mut send: impl FnMut() -> bool, received: &AtomicU64, seconds: f64) -> (f64, f64) {
    let base = received.load(Ordering::Relaxed);
    let start = Instant::now();
    let duration = Duration::from_secs_f64(seconds);
    let (mut sent, mut credit_lost) = (0u64, 0u64);
    let mut last_progress = (start, 0u64);
    while start.elapsed() < duration {
        let got = received.load(Ordering::Relaxed) - base;
        if sent - got - credit_lost < WINDOW {
            // A full socket buffer (WouldBlock) just retries.
            if send() {
                sent += 1;
            }
        } else {
            let now = Instant::now();
            if got != last_progress.1 {
                last_progress = (now, got);
            } else if now - last_progress.0 > Duration::from_millis(20) {
                // Frames lost in flight: give their window slots back.
                credit_lost = sent - got;
                last_progress = (now, got);
            }
            std::thread::yield_now();
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(50));
    let got = received.load(Ordering::Relaxed) - base;
    (got as f64 / elapsed, 1.0 - got as f64 / sent.max(1) as f64)
}

/// Client → server → peer, round-robin over `allocations`.
fn blast(allocations: &[Allocation], sink: &Sink, seconds: f64) -> (f64, f64) {
    let mut next = 0usize;
    blast_with(
        || {
            let a = &allocations[next % allocations.len()];
            next = next.wrapping_add(1);
            a.socket.send(&a.frame).is_ok()
        },
        &sink.received,
        seconds,
    )
}

/// Peer → relay → server → client, through one allocation (ChannelData towards the client).
fn blast_reverse(a: &Allocation, sink: &Sink, seconds: f64) -> (f64, f64) {
    let Ok(reader) = a.socket.try_clone() else {
        return (0.0, 1.0);
    };
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let _ = reader.set_nonblocking(false);
    let _ = reader.set_read_timeout(Some(Duration::from_millis(20)));
    let (count, flag) = (received.clone(), stop.clone());
    let thread = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while !flag.load(Ordering::Relaxed) {
            if reader.recv(&mut buf).is_ok() {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let payload = a.frame.get(4..).unwrap_or_default();
    let result = blast_with(
        || sink.sender.send_to(payload, a.relayed).is_ok(),
        &received,
        seconds,
    );
    stop.store(true, Ordering::Relaxed);
    let _ = thread.join();
    let _ = a.socket.set_nonblocking(true);
    result
}

fn setup(
    server: SocketAddr,
    sink: SocketAddr,
    n: usize,
    size: usize,
) -> Result<Vec<Allocation>, String> {
    (0..n)
        .map(|i| {
            let a = allocate(server, sink, size, (i % 251) as u8 + 1)?;
            a.socket.connect(server).map_err(|e| e.to_string())?;
            Ok(a)
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn run(o: &Options) -> Result<(), String> {
    let sink = Sink::start()?;
    let (tern_addr, _tern) = start_tern()?;
    let (coturn_addr, _coturn, coturn_name) = start_coturn()?;
    std::thread::sleep(Duration::from_millis(500)); // coturn binds after it forks its threads
    eprintln!("allocating 1 + {} on each server …", o.allocations);
    let tern_one = setup(tern_addr, sink.addr, 1, o.size)?;
    let tern_many = setup(tern_addr, sink.addr, o.allocations, o.size)?;
    let coturn_one = setup(coturn_addr, sink.addr, 1, o.size)?;
    let coturn_many = setup(coturn_addr, sink.addr, o.allocations, o.size)?;
    let figures = [
        ("1 allocation", &tern_one, &coturn_one),
        ("many", &tern_many, &coturn_many),
        ("reverse", &tern_one, &coturn_one),
    ];
    let mut results = Vec::new();
    for (name, ours, theirs) in figures {
        let (mut t, mut c, mut t_loss, mut c_loss) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..o.rounds {
            let run = |side: &Vec<Allocation>| match name {
                "reverse" => side
                    .first()
                    .map_or((0.0, 1.0), |a| blast_reverse(a, &sink, o.seconds)),
                _ => blast(side, &sink, o.seconds),
            };
            let (pps, loss) = run(ours);
            t.push(pps);
            t_loss.push(loss);
            let (pps, loss) = run(theirs);
            c.push(pps);
            c_loss.push(loss);
        }
        let label = match name {
            "many" => format!("{} allocations", o.allocations),
            "reverse" => "peer → client, 1 allocation".to_owned(),
            _ => name.to_owned(),
        };
        results.push((label, median(t), median(c), median(t_loss), median(c_loss)));
    }
    println!(
        "| TURN relay, {} B, loopback (client → peer unless noted) | tern (pkt/s, loss) | {coturn_name} (pkt/s, loss) | tern/coturn |",
        o.size
    );
    println!("|---|---:|---:|---:|");
    for (label, t, c, tl, cl) in &results {
        println!(
            "| {label} | {t:.0}, {:.2} % | {c:.0}, {:.2} % | {:.2}× |",
            tl * 100.0,
            cl * 100.0,
            t / c.max(1.0)
        );
    }
    let peer = coturn_name.replace(' ', "-");
    for (label, t, c, _, _) in &results {
        println!(
            "tern={:.0} peer={:.0} name={peer}/{} (ns per relayed packet)",
            1e9 / t.max(1.0),
            1e9 / c.max(1.0),
            label.replace(' ', "-").replace('→', "to").replace(',', "")
        );
    }
    Ok(())
}
