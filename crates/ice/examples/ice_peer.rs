//! A tiny ICE peer on a real UDP socket, signalling over stdin/stdout, for the NAT lab
//! (`tests/natlab.rs`) and for trying the agent by hand.
//!
//! `ice_peer <bind-ip:port> <controlling|controlled> [stun-server-ip:port [user:pass@[tcp:]turn-server-ip:port]]`
//!
//! With `tcp:` the TURN server is reached over a TCP connection (the relayed candidate is
//! still UDP).
//!
//! Prints `CRED <ufrag> <pwd>`, `CAND <candidate>` lines, `EOC`, then `SELECTED <local>
//! <remote>` and `STATE <state>` lines; reads the peer's `CRED`, `CAND` and `EOC` lines.
//! Once a pair is selected it sends a small non-STUN datagram on it every 500 ms
//! ([`IceAgent::send_data`], relayed when the local candidate is) and prints `DATA <len>
//! <remote>` for each one that arrives (on the socket or through the relay).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tern_ice::{Candidate, IceAgent, IceConfig, IceEvent, TransportProtocol, TurnServer};

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
    if let Some(turn) = args.get(4) {
        let (credentials, server) = turn.split_once('@').expect("user:pass@ip:port");
        let (user, pass) = credentials.split_once(':').expect("user:pass");
        config.turn_servers = vec![match server.strip_prefix("tcp:") {
            Some(server) => TurnServer::tcp(server.parse().expect("turn server"), user, pass),
            None => TurnServer::new(server.parse().expect("turn server"), user, pass),
        }];
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
    // The TCP connection to the TURN server, opened on the first TCP transmit.
    let mut tcp: Option<(SocketAddr, TcpStream)> = None;
    let mut next_ping = Instant::now();
    // ICE_PEER_TRACE=1: one stderr line per datagram sent or received.
    let trace = std::env::var_os("ICE_PEER_TRACE").is_some();
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
        if agent.selected_pair().is_some() && Instant::now() >= next_ping {
            // A DTLS-looking first byte (22): never mistaken for STUN or ChannelData.
            let _ = agent.send_data(&[22, b'p', b'i', b'n', b'g']);
            next_ping = Instant::now() + Duration::from_millis(500);
        }
        if agent.poll_timeout().is_some_and(|t| t <= Instant::now()) {
            agent.handle_timeout(Instant::now());
        }
        while let Some(t) = agent.poll_transmit() {
            if trace {
                eprintln!(
                    "{:?} TX {} {} {:02x?}",
                    start.elapsed(),
                    t.destination,
                    t.data.len(),
                    t.data.get(..2)
                );
            }
            if t.transport == TransportProtocol::Tcp {
                if tcp.is_none() {
                    match TcpStream::connect_timeout(&t.destination, Duration::from_secs(3)) {
                        Ok(stream) => {
                            stream
                                .set_read_timeout(Some(Duration::from_millis(1)))
                                .unwrap();
                            tcp = Some((t.destination, stream));
                        }
                        Err(_) => agent.relay_stream_closed(Instant::now(), t.destination),
                    }
                }
                if let Some((_, stream)) = &mut tcp {
                    let _ = stream.write_all(&t.data);
                }
                continue;
            }
            let _ = socket.send_to(&t.data, t.destination);
        }
        while let Some(e) = agent.poll_event() {
            match e {
                IceEvent::LocalCandidate(c) => say(format!("CAND {}", c.to_sdp_value())),
                IceEvent::GatheringComplete => say("EOC".into()),
                IceEvent::SelectedPairChanged { local, remote } => {
                    say(format!("SELECTED {local} {remote}"))
                }
                IceEvent::RelayedData { remote, data, .. } => {
                    say(format!("DATA {} {remote}", data.len()))
                }
                _ => {}
            }
        }
        if let Some((server, stream)) = &mut tcp {
            match stream.read(&mut buf) {
                Ok(0) => {
                    agent.relay_stream_closed(Instant::now(), *server);
                    tcp = None;
                }
                Ok(n) => {
                    let data = buf.get(..n).unwrap_or_default();
                    let _ = agent.handle_relay_stream(Instant::now(), *server, data);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => {
                    agent.relay_stream_closed(Instant::now(), *server);
                    tcp = None;
                }
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
                if trace {
                    eprintln!("{:?} RX {from} {n} {:02x?}", start.elapsed(), data.get(..2));
                }
                if agent.accepts(data) {
                    let _ = agent.handle_receive(Instant::now(), local, from, data);
                } else if agent.is_validated_remote(local, from) {
                    say(format!("DATA {n} {from}"));
                }
            }
            Err(_) => agent.handle_timeout(Instant::now()),
        }
    }
}
