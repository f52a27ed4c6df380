//! A tiny ICE peer on a real UDP socket, signalling over stdin/stdout, for the NAT lab
//! (`tests/natlab.rs`) and for trying the agent by hand.
//!
//! `ice_peer <bind-ip:port> <controlling|controlled> [stun-server-ip:port]`
//!
//! Prints `CRED <ufrag> <pwd>`, `CAND <candidate>` lines, `EOC`, then `SELECTED <local>
//! <remote>` and `STATE <state>` lines; reads the peer's `CRED`, `CAND` and `EOC` lines.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

use std::io::{BufRead, Write};
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tern_ice::{Candidate, IceAgent, IceConfig, IceEvent};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bind: SocketAddr = args
        .get(1)
        .expect("bind address")
        .parse()
        .expect("bind address");
    let controlling = args.get(2).map(String::as_str) == Some("controlling");
    let mut config = IceConfig::new(controlling);
    if let Some(stun) = args.get(3) {
        config.stun_servers = vec![stun.parse().expect("stun server address")];
    }
    let socket = UdpSocket::bind(bind).expect("bind");
    let local = socket.local_addr().unwrap();
    let mut agent = IceAgent::new(config, Instant::now());
    let creds = agent.local_credentials();
    let out = std::io::stdout();
    let say = |line: String| {
        let mut o = out.lock();
        writeln!(o, "{line}").unwrap();
        o.flush().unwrap();
    };
    say(format!("CRED {} {}", creds.ufrag, creds.pwd));
    agent.add_local_host_candidate(local);
    agent.end_of_local_candidates();

    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut buf = [0u8; 1500];
    let start = Instant::now();
    let mut last_state = None;
    while start.elapsed() < Duration::from_secs(120) {
        while let Ok(line) = rx.try_recv() {
            let mut parts = line.splitn(2, ' ');
            match (parts.next(), parts.next()) {
                (Some("CRED"), Some(rest)) => {
                    let (u, p) = rest.split_once(' ').unwrap();
                    agent.set_remote_credentials(u.to_owned(), p.to_owned());
                }
                (Some("CAND"), Some(sdp)) => {
                    if let Ok(c) = Candidate::from_sdp_value(sdp) {
                        let _ = agent.add_remote_candidate(Instant::now(), c);
                    }
                }
                (Some("EOC"), _) => agent.end_of_remote_candidates(),
                (Some("QUIT"), _) => return,
                _ => {}
            }
        }
        while let Some(t) = agent.poll_transmit() {
            let _ = socket.send_to(&t.data, t.destination);
        }
        while let Some(e) = agent.poll_event() {
            match e {
                IceEvent::LocalCandidate(c) => say(format!("CAND {}", c.to_sdp_value())),
                IceEvent::GatheringComplete => say("EOC".into()),
                IceEvent::SelectedPairChanged { local, remote } => {
                    say(format!("SELECTED {local} {remote}"))
                }
                _ => {}
            }
        }
        let state = agent.connection_state();
        if last_state != Some(state) {
            say(format!("STATE {state:?}"));
            last_state = Some(state);
        }
        let wait = agent
            .poll_timeout()
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_millis(20))
            .clamp(Duration::from_millis(1), Duration::from_millis(20));
        socket.set_read_timeout(Some(wait)).unwrap();
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let data = buf.get(..n).unwrap_or_default();
                if agent.accepts(data) {
                    let _ = agent.handle_receive(Instant::now(), local, from, data);
                }
            }
            Err(_) => agent.handle_timeout(Instant::now()),
        }
    }
}
