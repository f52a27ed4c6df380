//! Interop through TURN, with coturn on 127.0.0.1:
//! - our agent with the W3C "relay" policy (relayed candidates only, allocated on coturn over
//!   UDP) against aioice with host candidates, in both roles: aioice's pings reach us through
//!   the relay (ChannelData or Data indications) and we echo them back with `send_data`;
//! - aioice relay-only (its own TURN client on coturn) against our agent with host
//!   candidates, in both roles: we pair with its relayed candidate and echo on it.
//!
//! The Python side is the script of `interop_aioice.rs`, with optional TURN arguments.
//!
//! Needs `$TERN_PYTHON` (a Python with `aioice`) and coturn's `turnserver` on PATH, which
//! this test starts on 127.0.0.1 with `--allow-loopback-peers`. Run by `cargo xtask test-all`
//! (suite `ice-aioice-turn`), or by hand:
//! `TERN_PYTHON=/path/to/venv/bin/python cargo test -p tern-ice --test interop_aioice_turn -- --ignored --test-threads=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tern_ice::{
    Candidate, CandidateKind, IceAgent, IceConfig, IceConnectionState, IceEvent, TurnServer,
};

const SCRIPT: &str = r#"
import asyncio, json, sys
import aioice
# aioice skips loopback addresses when gathering; on a loopback-only host use 127.0.0.1.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

async def main():
    controlling = sys.argv[1] == "controlling"
    if len(sys.argv) > 2:
        # aioice itself relay-only through coturn at argv[2]:argv[3].
        conn = aioice.Connection(
            ice_controlling=controlling, components=1,
            turn_server=(sys.argv[2], int(sys.argv[3])),
            turn_username="tern", turn_password="turn-secret",
            transport_policy=aioice.TransportPolicy.RELAY)
    else:
        conn = aioice.Connection(ice_controlling=controlling, components=1)
    await conn.gather_candidates()
    print(json.dumps({
        "ufrag": conn.local_username,
        "pwd": conn.local_password,
        "candidates": [c.to_sdp() for c in conn.local_candidates],
    }), flush=True)
    loop = asyncio.get_running_loop()
    remote = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    conn.remote_username = remote["ufrag"]
    conn.remote_password = remote["pwd"]
    for c in remote["candidates"]:
        await conn.add_remote_candidate(aioice.Candidate.from_sdp(c))
    await conn.add_remote_candidate(None)
    await asyncio.wait_for(conn.connect(), 20)
    print("CONNECTED", flush=True)
    for i in range(3):
        await conn.send(b"ping-%d" % i)
        data = await asyncio.wait_for(conn.recv(), 10)
        print("RECV " + data.decode(), flush=True)
    await conn.close()
    print("DONE", flush=True)

asyncio.run(main())
"#;

/// Kills a child by PID when dropped, also on failure.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn json_string_field(json: &str, field: &str) -> String {
    let key = format!("\"{field}\": \"");
    let start = json.find(&key).unwrap() + key.len();
    json[start..].split('"').next().unwrap().to_owned()
}

fn json_candidates(json: &str) -> Vec<String> {
    let start = json.find("\"candidates\": [").unwrap() + "\"candidates\": [".len();
    let end = json[start..].find(']').unwrap() + start;
    json[start..end]
        .split("\", \"")
        .map(|s| s.trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A port that was free a moment ago (UDP and TCP), for coturn to listen on.
fn free_port() -> u16 {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = udp.local_addr().unwrap().port();
    drop(udp);
    port
}

fn coturn(port: u16, relay_base: u16) -> Killed {
    let child = Command::new("turnserver")
        .args(["-n", "--no-cli", "--no-tls", "--no-dtls", "--lt-cred-mech"])
        .args(["--user=tern:turn-secret", "--realm=tern.test"])
        .args(["--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1"])
        .arg(format!("--listening-port={port}"))
        .arg(format!("--min-port={relay_base}"))
        .arg(format!("--max-port={}", relay_base + 50))
        .arg("--allow-loopback-peers")
        .arg("--log-file=stdout")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("coturn's turnserver on PATH");
    Killed(child)
}

fn run(we_control: bool) {
    let port = free_port();
    let relay_base = if we_control { 51000 } else { 52000 };
    let _coturn = coturn(port, relay_base);
    let turn: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    std::thread::sleep(Duration::from_millis(500));

    let python = std::env::var("TERN_PYTHON").unwrap_or_else(|_| "python3".into());
    // One directory per test: parallel tests remove their own when done.
    let dir = std::env::temp_dir().join(format!(
        "tern-aioice-turn-{}-{we_control}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join(format!("peer-{we_control}.py"));
    std::fs::write(&script, SCRIPT).unwrap();
    let role = if we_control {
        "controlled"
    } else {
        "controlling"
    };
    let mut child = Command::new(&python)
        .arg(&script)
        .arg(role)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python with aioice ($TERN_PYTHON)");
    let stdout = child.stdout.take().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _peer = Killed(child);
    let (tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let hello = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("aioice started");

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = socket.local_addr().unwrap();
    let mut config = IceConfig::new(we_control);
    config.turn_servers = vec![TurnServer::new(turn, "tern", "turn-secret")];
    config.relay_only = true;
    let mut agent = IceAgent::new(config, Instant::now());
    agent.add_local_host_candidate(local);
    agent.end_of_local_candidates();

    let deadline = Instant::now() + Duration::from_secs(40);
    let mut buf = [0u8; 1500];
    let mut relay: Option<Candidate> = None;
    let mut signalled = false;
    let mut echoed = 0;
    let mut received = Vec::new();
    let mut done = false;
    let mut selected: Option<(SocketAddr, SocketAddr)> = None;
    while Instant::now() < deadline && !done {
        while let Some(t) = agent.poll_transmit() {
            assert_eq!(t.source, local);
            socket.send_to(&t.data, t.destination).unwrap();
        }
        while let Some(e) = agent.poll_event() {
            match e {
                IceEvent::LocalCandidate(c) => {
                    assert_eq!(c.kind, CandidateKind::Relayed, "relay policy: {c:?}");
                    relay = Some(c);
                }
                IceEvent::SelectedPairChanged { local, remote } => {
                    selected = Some((local, remote));
                }
                IceEvent::RelayedData { data, .. } => {
                    // aioice's ping through the relay: echo it through the relay.
                    let mut reply = b"echo:".to_vec();
                    reply.extend_from_slice(&data);
                    agent.send_data(&reply).unwrap();
                    echoed += 1;
                }
                IceEvent::GatheringComplete if !signalled => {
                    // Signal once gathering is done: our only candidate is the relayed one.
                    let ours = relay.clone().expect("a relayed candidate from coturn");
                    agent.set_remote_credentials(
                        json_string_field(&hello, "ufrag"),
                        json_string_field(&hello, "pwd"),
                    );
                    for c in json_candidates(&hello) {
                        if let Ok(c) = Candidate::from_sdp_value(&c) {
                            let _ = agent.add_remote_candidate(Instant::now(), c);
                        }
                    }
                    agent.end_of_remote_candidates();
                    let creds = agent.local_credentials();
                    let sdp = ours.to_sdp_value();
                    let sdp = sdp.strip_prefix("candidate:").unwrap();
                    writeln!(
                        stdin,
                        r#"{{"ufrag": "{}", "pwd": "{}", "candidates": ["{}"]}}"#,
                        creds.ufrag, creds.pwd, sdp
                    )
                    .unwrap();
                    stdin.flush().unwrap();
                    signalled = true;
                }
                _ => {}
            }
        }
        while let Ok(line) = lines.try_recv() {
            if let Some(data) = line.strip_prefix("RECV ") {
                received.push(data.to_owned());
            }
            done |= line == "DONE";
        }
        let wait = agent
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(20))
            .clamp(Duration::from_millis(1), Duration::from_millis(20));
        socket.set_read_timeout(Some(wait)).unwrap();
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let data = &buf[..n];
                if agent.accepts(data) {
                    let _ = agent.handle_receive(Instant::now(), local, from, data);
                } else {
                    panic!("{n} bytes straight from {from}: the relay policy was bypassed");
                }
            }
            Err(_) => agent.handle_timeout(Instant::now()),
        }
    }
    assert!(done, "aioice did not finish; received {received:?}");
    assert_eq!(received, vec!["echo:ping-0", "echo:ping-1", "echo:ping-2"]);
    assert_eq!(echoed, 3);
    let relay = relay.unwrap();
    let (l, r) = selected.expect("a selected pair");
    assert_eq!(
        l, relay.address,
        "the selected pair must use the relayed candidate"
    );
    assert_eq!(r.ip(), std::net::Ipv4Addr::LOCALHOST);
    assert!(matches!(
        agent.connection_state(),
        IceConnectionState::Connected | IceConnectionState::Completed
    ));
    agent.close();
    while let Some(t) = agent.poll_transmit() {
        let _ = socket.send_to(&t.data, t.destination);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn tern_relayed_controlling_aioice_controlled() {
    run(true);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn tern_relayed_controlled_aioice_controlling() {
    run(false);
}

/// aioice relay-only through coturn; our agent plain (host candidate, no TURN).
fn run_aioice_relayed(we_control: bool) {
    let port = free_port();
    let relay_base = if we_control { 53000 } else { 54000 };
    let _coturn = coturn(port, relay_base);
    std::thread::sleep(Duration::from_millis(500));
    let python = std::env::var("TERN_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = std::env::temp_dir().join(format!(
        "tern-aioice-turn-{}-{we_control}-aioice-relayed",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("peer.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let role = if we_control {
        "controlled"
    } else {
        "controlling"
    };
    let mut child = Command::new(&python)
        .arg(&script)
        .arg(role)
        .arg("127.0.0.1")
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python with aioice ($TERN_PYTHON)");
    let stdout = child.stdout.take().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _peer = Killed(child);
    let (tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let hello = lines
        .recv_timeout(Duration::from_secs(20))
        .expect("aioice started");
    let theirs: Vec<Candidate> = json_candidates(&hello)
        .iter()
        .filter_map(|c| Candidate::from_sdp_value(c).ok())
        .collect();
    assert!(
        !theirs.is_empty() && theirs.iter().all(|c| c.kind == CandidateKind::Relayed),
        "aioice should offer only relayed candidates: {theirs:?}"
    );

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = socket.local_addr().unwrap();
    let mut agent = IceAgent::new(IceConfig::new(we_control), Instant::now());
    let ours = agent.add_local_host_candidate(local);
    agent.end_of_local_candidates();
    agent.set_remote_credentials(
        json_string_field(&hello, "ufrag"),
        json_string_field(&hello, "pwd"),
    );
    for c in theirs.iter().cloned() {
        agent.add_remote_candidate(Instant::now(), c).unwrap();
    }
    agent.end_of_remote_candidates();
    let creds = agent.local_credentials();
    let sdp = ours.to_sdp_value();
    let sdp = sdp.strip_prefix("candidate:").unwrap();
    writeln!(
        stdin,
        r#"{{"ufrag": "{}", "pwd": "{}", "candidates": ["{}"]}}"#,
        creds.ufrag, creds.pwd, sdp
    )
    .unwrap();
    stdin.flush().unwrap();

    let deadline = Instant::now() + Duration::from_secs(40);
    let mut buf = [0u8; 1500];
    let mut echoed = 0;
    let mut received = Vec::new();
    let mut early: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
    let mut done = false;
    while Instant::now() < deadline && !done {
        while let Some(t) = agent.poll_transmit() {
            socket.send_to(&t.data, t.destination).unwrap();
        }
        while agent.poll_event().is_some() {}
        while let Ok(line) = lines.try_recv() {
            if let Some(data) = line.strip_prefix("RECV ") {
                received.push(data.to_owned());
            }
            done |= line == "DONE";
        }
        let wait = agent
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(20))
            .clamp(Duration::from_millis(1), Duration::from_millis(20));
        socket.set_read_timeout(Some(wait)).unwrap();
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let data = &buf[..n];
                if agent.accepts(data) {
                    let _ = agent.handle_receive(Instant::now(), local, from, data);
                } else {
                    early.push((from, data.to_vec()));
                }
            }
            Err(_) => agent.handle_timeout(Instant::now()),
        }
        let (ready, held): (Vec<_>, Vec<_>) = early
            .drain(..)
            .partition(|(from, _)| agent.is_validated_remote(local, *from));
        early = held;
        for (_, data) in ready {
            let mut reply = b"echo:".to_vec();
            reply.extend_from_slice(&data);
            agent.send_data(&reply).unwrap();
            echoed += 1;
        }
    }
    assert!(done, "aioice did not finish; received {received:?}");
    assert!(
        early.is_empty(),
        "data from unvalidated addresses: {early:?}"
    );
    assert_eq!(received, vec!["echo:ping-0", "echo:ping-1", "echo:ping-2"]);
    assert_eq!(echoed, 3);
    let (l, r) = agent.selected_pair().expect("a selected pair");
    assert_eq!(l, local);
    assert!(
        theirs.iter().any(|c| c.address == r),
        "selected remote {r} is not aioice's relayed candidate"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn tern_controlling_aioice_relayed_controlled() {
    run_aioice_relayed(true);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn tern_controlled_aioice_relayed_controlling() {
    run_aioice_relayed(false);
}
