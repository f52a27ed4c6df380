//! TURN relay throughput on loopback sockets, `tern-turn`'s server runner vs coturn, one run.
//!
//! Both servers run as separate processes on 127.0.0.1 (ours is this binary re-run with
//! `--serve-tern`, on a multi-thread tokio runtime like `tern turn-server`), pinned with
//! `taskset` to the same CPU, while this load generator is pinned to the other one. The same
//! generator allocates on each with `tern-turn`'s sans-IO client (long-term credentials,
//! ChannelBind to one peer socket) and then relays pre-built datagrams through them:
//!
//! - client → peer: ChannelData frames from the client sockets, counted at the peer;
//! - peer → client: raw datagrams from the peer to the relayed addresses, counted at the client
//!   sockets (which receive them as ChannelData);
//!
//! each through 1 allocation and round-robin over N allocations (1,000 by default). Every
//! repetition sends a fixed number of packets with a bounded window in flight and is timed from
//! the first send to the last arrival. Per figure: one warm-up repetition per server (not
//! counted), then repetitions alternating which server goes first; the median repetition is
//! reported, with the range of the per-repetition ratios.
//!
//! ```text
//! cargo run --release [-- --packets 100000 --reps 5 --allocations 1000 --size 200 --no-pin --only 1..4 --writers N]
//! ```
//! Prints a table, then machine-readable lines `tern=<ns> peer=<ns> name=<peer>/<figure>` (ns
//! per relayed packet, lower is better) as `cargo xtask bench` reads them.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tern_turn::{Client, ClientConfig, Event, IpNet, PeerPolicy, ServerConfig, ServerRunner};

const USER: &str = "bench";
const PASSWORD: &str = "bench-pw";
/// Frames in flight (sent, not yet counted at the receiver) at most.
const WINDOW: u64 = 128;
/// The CPU the servers are pinned to, and the one the load generator is pinned to.
const SERVER_CPU: &str = "1";
const LOAD_CPU: &str = "0";

struct Options {
    packets: u64,
    reps: usize,
    allocations: usize,
    size: usize,
    pin: bool,
    /// Our runner's writer threads (`--writers N`; default: the runner's own default).
    writers: Option<usize>,
    /// Run only this figure (1–4), for profiling.
    only: Option<usize>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve-tern") {
        let writers = args
            .iter()
            .position(|a| a == "--writers")
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok());
        serve_tern(writers);
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
        packets: value("--packets", 100_000.0) as u64,
        reps: (value("--reps", 5.0) as usize).max(1),
        allocations: (value("--allocations", 1000.0) as usize).max(1),
        size: value("--size", 200.0) as usize,
        pin: !args.iter().any(|a| a == "--no-pin"),
        writers: args
            .iter()
            .position(|a| a == "--writers")
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok()),
        only: Some(value("--only", 0.0) as usize).filter(|n| *n > 0),
    };
    if let Err(e) = run(&options) {
        eprintln!("tern-turn-compare: {e}");
        std::process::exit(1);
    }
}

/// The child process: our runner on 127.0.0.1 until stdin closes (so it dies with the parent).
fn serve_tern(writers: Option<usize>) {
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
        let runner = match writers {
            Some(n) => runner.with_writer_threads(n),
            None => runner,
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

/// CPU time (user + system, all threads) the process `pid` has used, in clock ticks
/// (`/proc/<pid>/stat` fields 14 and 15); `None` off Linux.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Kills the child by PID when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `program args…`, under `taskset -c SERVER_CPU` when pinning.
fn server_command(pin: bool, program: &std::path::Path) -> Command {
    if pin {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(SERVER_CPU).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn start_tern(pin: bool, writers: Option<usize>) -> Result<(SocketAddr, ChildGuard), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = server_command(pin, &exe)
        .arg("--serve-tern")
        .args(
            writers
                .map(|n| ["--writers".to_owned(), n.to_string()])
                .into_iter()
                .flatten(),
        )
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

fn start_coturn(pin: bool) -> Result<(SocketAddr, ChildGuard, String), String> {
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let pidfile =
        std::env::temp_dir().join(format!("tern-turn-compare-{}.pid", std::process::id()));
    let child = server_command(pin, std::path::Path::new("turnserver"))
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

/// One allocation with a channel to the peer: its socket and the ready-made ChannelData frame.
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
    peer: SocketAddr,
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
        .bind_channel(Instant::now(), peer)
        .map_err(|e| e.to_string())?;
    drive(&mut client, &socket, |e| {
        matches!(e, Event::ChannelBound { .. })
    })?;
    let len = u16::try_from(size).map_err(|_| "--size too large")?;
    let mut frame = Vec::with_capacity(4 + size);
    frame.extend_from_slice(&channel.to_be_bytes());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend((0..size).map(|i| i as u8));
    socket.connect(server).map_err(|e| e.to_string())?;
    socket.set_nonblocking(true).map_err(|e| e.to_string())?;
    let relayed = client.relayed_address().ok_or("no relayed address")?;
    Ok(Allocation {
        socket,
        frame,
        relayed,
    })
}

/// Counts datagrams arriving on a set of sockets, in a thread running a current-thread tokio
/// runtime with one reading task per socket (so 1,000 client sockets cost nothing while idle).
struct Counter {
    received: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Counter {
    fn start(sockets: Vec<UdpSocket>) -> Result<Counter, String> {
        let received = Arc::new(AtomicU64::new(0));
        let count = received.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| e.to_string())?;
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let mut tasks = Vec::new();
                for socket in sockets {
                    let _ = socket.set_nonblocking(true);
                    let Ok(socket) = tokio::net::UdpSocket::from_std(socket) else {
                        continue;
                    };
                    let count = count.clone();
                    tasks.push(tokio::spawn(async move {
                        let mut buf = vec![0u8; 65536];
                        loop {
                            if socket.recv(&mut buf).await.is_ok() {
                                count.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }));
                }
                let _ = stopped.await;
                for t in tasks {
                    t.abort();
                }
            });
        });
        Ok(Counter {
            received,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One repetition: `packets` calls of `send(i)` that succeed, at most WINDOW in flight by
/// `received`; timed from the first send to the last arrival. Returns (packets/s, loss).
fn measure(mut send: impl FnMut(u64) -> bool, received: &AtomicU64, packets: u64) -> (f64, f64) {
    let base = received.load(Ordering::Relaxed);
    let start = Instant::now();
    let (mut sent, mut credit_lost) = (0u64, 0u64);
    let mut last = (start, 0u64);
    loop {
        let got = received.load(Ordering::Relaxed) - base;
        let now = Instant::now();
        if got != last.1 {
            last = (now, got);
        }
        let in_flight = sent.saturating_sub(got).saturating_sub(credit_lost);
        if sent < packets && in_flight < WINDOW {
            // A full socket buffer (WouldBlock) just retries.
            if send(sent) {
                sent += 1;
            }
            continue;
        }
        if got >= packets {
            break;
        }
        if now - last.0 > Duration::from_millis(50) {
            if sent >= packets {
                break; // the rest were lost
            }
            // Frames lost in flight: give their window slots back.
            credit_lost = sent - got;
            last = (now, got);
        }
        std::thread::yield_now();
    }
    let got = received.load(Ordering::Relaxed) - base;
    let elapsed = (last.0 - start).as_secs_f64().max(1e-9);
    (got as f64 / elapsed, 1.0 - got as f64 / sent.max(1) as f64)
}

/// The two directions.
#[derive(Clone, Copy, PartialEq)]
enum Direction {
    ClientToPeer,
    PeerToClient,
}

/// Everything one server needs for the figures.
struct Side {
    /// The server process, for its CPU time.
    pid: u32,
    one: Vec<Allocation>,
    many: Vec<Allocation>,
    /// Counts what reaches the client sockets (peer → client).
    clients: Counter,
}

fn setup(server: SocketAddr, pid: u32, peer: SocketAddr, o: &Options) -> Result<Side, String> {
    let make = |n: usize| -> Result<Vec<Allocation>, String> {
        (0..n)
            .map(|i| allocate(server, peer, o.size, (i % 251) as u8 + 1))
            .collect()
    };
    let one = make(1)?;
    let many = make(o.allocations)?;
    let sockets = one
        .iter()
        .chain(&many)
        .map(|a| a.socket.try_clone().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Side {
        pid,
        one,
        many,
        clients: Counter::start(sockets)?,
    })
}

fn rep(
    side: &Side,
    many: bool,
    direction: Direction,
    peer: &UdpSocket,
    at_peer: &AtomicU64,
    packets: u64,
) -> (f64, f64, f64) {
    let set = if many { &side.many } else { &side.one };
    let n = set.len() as u64;
    let pick = |i: u64| set.get((i % n) as usize);
    let cpu_before = cpu_ticks(side.pid);
    let (pps, loss) = match direction {
        Direction::ClientToPeer => measure(
            |i| pick(i).is_some_and(|a| a.socket.send(&a.frame).is_ok()),
            at_peer,
            packets,
        ),
        Direction::PeerToClient => measure(
            |i| {
                pick(i).is_some_and(|a| {
                    peer.send_to(a.frame.get(4..).unwrap_or_default(), a.relayed)
                        .is_ok()
                })
            },
            &side.clients.received,
            packets,
        ),
    };
    // Server CPU seconds per relayed packet: what the relay costs, whatever else the shared
    // cores were doing meanwhile.
    let cpu = match (cpu_before, cpu_ticks(side.pid)) {
        (Some(a), Some(b)) => {
            (b - a) as f64 / ticks_per_second() / (packets as f64 * (1.0 - loss)).max(1.0)
        }
        _ => f64::NAN,
    };
    (pps, loss, cpu)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Pins every thread of this process to LOAD_CPU (before any thread is spawned).
fn pin_self() -> bool {
    Command::new("taskset")
        .args(["-a", "-p", "-c", LOAD_CPU])
        .arg(std::process::id().to_string())
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(o: &Options) -> Result<(), String> {
    let pin = o.pin && pin_self();
    if o.pin && !pin {
        eprintln!("taskset failed: running unpinned");
    }
    // The peer: one socket, read by the counter thread, sending with a clone.
    let peer = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let peer_addr = peer.local_addr().map_err(|e| e.to_string())?;
    let peer_sender = peer.try_clone().map_err(|e| e.to_string())?;
    let at_peer = Counter::start(vec![peer])?;
    let (tern_addr, tern_child) = start_tern(pin, o.writers)?;
    let (coturn_addr, coturn_child, coturn_name) = start_coturn(pin)?;
    std::thread::sleep(Duration::from_millis(500)); // coturn binds after it forks its threads
    eprintln!(
        "allocating 1 + {} on each server{} …",
        o.allocations,
        if pin {
            format!(" (servers on CPU {SERVER_CPU}, load on CPU {LOAD_CPU})")
        } else {
            String::new()
        }
    );
    let tern = setup(tern_addr, tern_child.0.id(), peer_addr, o)?;
    let coturn = setup(coturn_addr, coturn_child.0.id(), peer_addr, o)?;
    let figures = [
        (Direction::ClientToPeer, false),
        (Direction::ClientToPeer, true),
        (Direction::PeerToClient, false),
        (Direction::PeerToClient, true),
    ];
    let mut results = Vec::new();
    for (index, (direction, many)) in figures.into_iter().enumerate() {
        if o.only.is_some_and(|n| n != index + 1) {
            continue;
        }
        let run = |side: &Side, packets: u64| {
            rep(
                side,
                many,
                direction,
                &peer_sender,
                &at_peer.received,
                packets,
            )
        };
        // Warm-up: caches, socket buffers, coturn's and tokio's threads.
        let _ = run(&tern, o.packets / 10);
        let _ = run(&coturn, o.packets / 10);
        let (mut t, mut c, mut t_loss, mut c_loss, mut ratios, mut t_cpu, mut c_cpu) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for r in 0..o.reps {
            let ((tp, tl, tc), (cp, cl, cc)) = if r % 2 == 0 {
                let ours = run(&tern, o.packets);
                (ours, run(&coturn, o.packets))
            } else {
                let theirs = run(&coturn, o.packets);
                (run(&tern, o.packets), theirs)
            };
            t.push(tp);
            c.push(cp);
            t_loss.push(tl);
            c_loss.push(cl);
            t_cpu.push(tc);
            c_cpu.push(cc);
            ratios.push(tp / cp.max(1.0));
        }
        let label = format!(
            "{}, {}",
            match direction {
                Direction::ClientToPeer => "client → peer",
                Direction::PeerToClient => "peer → client",
            },
            if many {
                format!("{} allocations", o.allocations)
            } else {
                "1 allocation".to_owned()
            }
        );
        let (lo, hi) = ratios.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), r| {
            (lo.min(*r), hi.max(*r))
        });
        let paired = median(ratios.clone());
        results.push(Figure {
            label,
            tern: median(t),
            coturn: median(c),
            tern_loss: median(t_loss),
            coturn_loss: median(c_loss),
            range: (lo, hi),
            paired,
            tern_cpu: median(t_cpu),
            coturn_cpu: median(c_cpu),
        });
    }
    println!(
        "| TURN relay, {} B, loopback, {} packets × {} reps (median) | tern (pkt/s, loss) | {coturn_name} (pkt/s, loss) | tern/coturn (range over reps; median of per-rep ratios) | server CPU µs/packet tern vs coturn |",
        o.size, o.packets, o.reps
    );
    println!("|---|---:|---:|---:|---:|");
    for f in &results {
        println!(
            "| {} | {:.0}, {:.2} % | {:.0}, {:.2} % | {:.2}× ({:.2}–{:.2}; {:.2}×) | {:.1} vs {:.1} ({:.2}×) |",
            f.label,
            f.tern,
            f.tern_loss * 100.0,
            f.coturn,
            f.coturn_loss * 100.0,
            f.tern / f.coturn.max(1.0),
            f.range.0,
            f.range.1,
            f.paired,
            f.tern_cpu * 1e6,
            f.coturn_cpu * 1e6,
            f.coturn_cpu / f.tern_cpu
        );
    }
    let peer = coturn_name.replace(' ', "-");
    for f in &results {
        println!(
            "tern={:.0} peer={:.0} name={peer}/{} (ns per relayed packet)",
            1e9 / f.tern.max(1.0),
            1e9 / f.coturn.max(1.0),
            f.label
                .replace(' ', "-")
                .replace('→', "to")
                .replace(',', "")
        );
    }
    Ok(())
}

/// One figure's medians.
struct Figure {
    label: String,
    tern: f64,
    coturn: f64,
    tern_loss: f64,
    coturn_loss: f64,
    /// Range of the per-repetition tern/coturn throughput ratios.
    range: (f64, f64),
    /// Median of the per-repetition ratios (each pair run back to back).
    paired: f64,
    /// Server CPU seconds per relayed packet.
    tern_cpu: f64,
    coturn_cpu: f64,
}
