//! Interop with aioice (the ICE agent of aiortc): our agent on a real UDP socket on 127.0.0.1
//! against aioice driven by a small Python script, in both roles; after connection, data sent
//! by aioice on its nominated pair is echoed by us on our selected pair.
//!
//! Needs `$TERN_PYTHON` (a Python with `aioice` installed; xtask's venv has it). Run by
//! `cargo xtask test-all` (suite `ice-aioice`), or by hand:
//! `TERN_PYTHON=/path/to/venv/bin/python cargo test -p tern-ice --test interop_aioice -- --ignored`.
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

use tern_ice::{Candidate, IceAgent, IceConfig, IceConnectionState, IceEvent};

const SCRIPT: &str = r#"
import asyncio, json, sys
import aioice
# aioice skips loopback addresses when gathering; on a loopback-only host use 127.0.0.1.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

async def main():
    controlling = sys.argv[1] == "controlling"
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

/// Kills the Python child by PID when dropped, also on failure.
struct Peer(Child);

impl Drop for Peer {
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

fn run(we_control: bool) {
    run_agent(we_control, false);
}

/// `lite`: our agent is an ICE-lite agent (RFC 8445 §2.5, always controlled): it only answers
/// aioice's checks and accepts its nomination.
fn run_agent(we_control: bool, lite: bool) {
    let python = std::env::var("TERN_PYTHON").unwrap_or_else(|_| "python3".into());
    // One directory per test: parallel tests remove their own when done.
    let dir = std::env::temp_dir().join(format!(
        "tern-aioice-{}-{we_control}-{lite}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join(format!("peer-{we_control}-{lite}.py"));
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
    let _peer = Peer(child);
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
    config.ice_lite = lite;
    let mut agent = IceAgent::new(config, Instant::now());
    let ours = agent.add_local_host_candidate(local);
    agent.end_of_local_candidates();
    agent.set_remote_credentials(
        json_string_field(&hello, "ufrag"),
        json_string_field(&hello, "pwd"),
    );
    for c in json_candidates(&hello) {
        match Candidate::from_sdp_value(&c) {
            Ok(c) => {
                let _ = agent.add_remote_candidate(Instant::now(), c);
            }
            Err(e) => eprintln!("skipping candidate {c}: {e}"),
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

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 1500];
    let mut echoed = 0;
    let mut received = Vec::new();
    let mut done = false;
    let mut selected: Option<(SocketAddr, SocketAddr)> = None;
    let mut early: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
    while Instant::now() < deadline && !done {
        while let Some(t) = agent.poll_transmit() {
            assert_eq!(t.source, local);
            if lite {
                // A lite agent sends no checks: only responses and Binding indications.
                assert_ne!(
                    &t.data[..2],
                    &[0x00, 0x01],
                    "a lite agent sent a Binding request"
                );
            }
            socket.send_to(&t.data, t.destination).unwrap();
        }
        while let Some(e) = agent.poll_event() {
            if let IceEvent::SelectedPairChanged { local, remote } = e {
                selected = Some((local, remote));
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
                    // Application data: held until our own check validated its 5-tuple
                    // (aioice may nominate and send before our triggered check is answered).
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
            // Echo it on the selected pair.
            let (_, remote) = agent.selected_pair().expect("a selected pair");
            let mut reply = b"echo:".to_vec();
            reply.extend_from_slice(&data);
            socket.send_to(&reply, remote).unwrap();
            echoed += 1;
        }
    }
    assert!(
        early.is_empty(),
        "data from unvalidated addresses: {early:?}"
    );
    assert!(done, "aioice did not finish; received {received:?}");
    assert_eq!(received, vec!["echo:ping-0", "echo:ping-1", "echo:ping-2"]);
    assert_eq!(echoed, 3);
    let (l, r) = selected.expect("a selected pair");
    assert_eq!(l, local);
    assert_eq!(r.ip(), std::net::Ipv4Addr::LOCALHOST);
    assert!(matches!(
        agent.connection_state(),
        IceConnectionState::Connected | IceConnectionState::Completed
    ));
    assert!(
        agent.pairs().iter().any(|p| p.nominated),
        "{:?}",
        agent.pairs()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn tern_controlling_aioice_controlled() {
    run(true);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn tern_controlled_aioice_controlling() {
    run(false);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn tern_lite_aioice_full_controlling() {
    run_agent(false, true);
}
