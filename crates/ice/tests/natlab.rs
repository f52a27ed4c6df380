//! The NAT lab on real sockets: network namespaces joined by veth pairs, Linux NAT routers
//! (nftables masquerade), coturn as the public STUN server, and two `ice_peer` processes
//! (examples/ice_peer.rs) behind different NATs, signalling through this test.
//!
//! Needs root, `ip`, `nft` and `turnserver`. Run by `cargo xtask test-all` (suite
//! `ice-natlab`) or by hand: `cargo test -p tern-ice --test natlab -- --ignored --test-threads=1`.
//!
//! The "internet" namespace routes every other destination to a router that does not exist,
//! where it vanishes as private addresses do on the real internet: without that route coturn's
//! relay socket gets ENETUNREACH for a peer's private host candidate and closes the allocation.
//!
//! NAT kinds: a DNAT of the mapped port on top of a port-keeping masquerade is a full cone.
//! Linux masquerade keeps the source port and reuses the mapping for every
//! destination (endpoint-independent mapping) and only lets replies in (address-and-port
//! dependent filtering): a port-restricted cone. With `fully-random` every new destination gets
//! a new random port: symmetric. Each NAT drops unsolicited inbound packets before conntrack
//! confirms them, as home routers do: otherwise a peer's early check would leave a conntrack
//! entry that makes the NAT pick another port for our own outbound check (port clash).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods
)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Nat {
    FullCone,
    PortRestrictedCone,
    Symmetric,
}

struct Lab {
    prefix: String,
    children: Vec<Child>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in ["inet", "na", "a", "nb", "b"] {
            let _ = Command::new("ip")
                .args(["netns", "del", &format!("{}{ns}", self.prefix)])
                .status();
        }
    }
}

fn sh(script: &str) {
    let out = Command::new("sh")
        .args(["-ec", script])
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Lab {
    fn new(tag: &str, nat_a: Nat, nat_b: Nat) -> Lab {
        let prefix = format!("t{}{tag}", std::process::id() % 100_000);
        let lab = Lab {
            prefix: prefix.clone(),
            children: Vec::new(),
        };
        let p = &prefix;
        let mut script = String::new();
        for ns in ["inet", "na", "a", "nb", "b"] {
            script += &format!("ip netns add {p}{ns}; ip -n {p}{ns} link set lo up\n");
        }
        script += &format!(
            "ip -n {p}inet link add br0 type bridge\n\
             ip -n {p}inet addr add 198.51.100.1/24 dev br0\n\
             ip -n {p}inet link set br0 up\n\
             ip -n {p}inet route add default via 198.51.100.254\n"
        );
        for (side, nat, public, private, port) in [
            ("a", nat_a, "198.51.100.10", "10.0.1", 5000),
            ("b", nat_b, "198.51.100.20", "10.0.2", 6000),
        ] {
            let flags = match nat {
                Nat::FullCone | Nat::PortRestrictedCone => "",
                Nat::Symmetric => "fully-random",
            };
            if nat == Nat::FullCone {
                // Endpoint-independent filtering too: whatever reaches the mapped port (the
                // masquerade keeps the source port) goes to the peer.
                script += &format!(
                    "ip netns exec {p}n{side} nft add table ip nat\n\
                     ip netns exec {p}n{side} nft add chain ip nat pre '{{ type nat hook prerouting priority -100 ; }}'\n\
                     ip netns exec {p}n{side} nft add rule ip nat pre iifname {p}{side}o udp dport {port} dnat to {private}.2:{port}\n"
                );
            }
            script += &format!(
                "ip link add {p}{side}o type veth peer name {p}{side}O\n\
                 ip link set {p}{side}o netns {p}n{side}\n\
                 ip link set {p}{side}O netns {p}inet\n\
                 ip -n {p}n{side} addr add {public}/24 dev {p}{side}o\n\
                 ip -n {p}n{side} link set {p}{side}o up\n\
                 ip -n {p}inet link set {p}{side}O master br0\n\
                 ip -n {p}inet link set {p}{side}O up\n\
                 ip link add {p}{side}i type veth peer name {p}{side}I\n\
                 ip link set {p}{side}i netns {p}n{side}\n\
                 ip link set {p}{side}I netns {p}{side}\n\
                 ip -n {p}n{side} addr add {private}.1/24 dev {p}{side}i\n\
                 ip -n {p}n{side} link set {p}{side}i up\n\
                 ip -n {p}{side} addr add {private}.2/24 dev {p}{side}I\n\
                 ip -n {p}{side} link set {p}{side}I up\n\
                 ip -n {p}{side} route add default via {private}.1\n\
                 ip netns exec {p}n{side} sysctl -qw net.ipv4.ip_forward=1\n\
                 ip netns exec {p}n{side} nft add table ip nat\n\
                 ip netns exec {p}n{side} nft add chain ip nat post '{{ type nat hook postrouting priority 100 ; }}'\n\
                 ip netns exec {p}n{side} nft add rule ip nat post oifname {p}{side}o masquerade {flags}\n\
                 ip netns exec {p}n{side} nft add table ip filter\n\
                 ip netns exec {p}n{side} nft add chain ip filter input '{{ type filter hook input priority 0 ; }}'\n\
                 ip netns exec {p}n{side} nft add rule ip filter input iifname {p}{side}o ct state new drop\n"
            );
        }
        sh(&script);
        lab
    }

    fn spawn(&mut self, ns: &str, args: &[&str]) -> (ChildStdin, Receiver<String>) {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &format!("{}{ns}", self.prefix)])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("ICE_PEER_TRACE").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("ip netns exec");
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take().unwrap();
        self.children.push(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        (stdin, rx)
    }
}

/// The `ice_peer` example, (re)built on demand: `cargo test --test natlab` builds no examples,
/// and a binary left from an earlier build may be stale. Cargo releases its build lock before
/// it runs test binaries, so this nested build does not wait on the outer one.
fn peer_binary() -> String {
    static BUILT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let dir = exe.parent().unwrap().parent().unwrap();
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = Command::new(cargo);
            build.args(["build", "-q", "-p", "tern-ice", "--example", "ice_peer"]);
            if dir.ends_with("release") {
                build.arg("--release");
            }
            let status = build
                .env("CARGO_TARGET_DIR", dir.parent().unwrap())
                .status()
                .expect("cargo");
            assert!(status.success(), "building examples/ice_peer");
            dir.join("examples/ice_peer").display().to_string()
        })
        .clone()
}

/// What one peer reported: last state, selected pair `(local, remote)`, datagrams received.
#[derive(Debug, Default, Clone)]
struct Outcome {
    state: String,
    selected: Option<(String, String)>,
    data: usize,
}

const TURN_USER: &str = "alice:turn-secret";

/// Runs both peers and relays signalling; returns what each side reported. With `turn`,
/// coturn also serves TURN (long-term credentials) and both peers allocate relays on it.
fn run(tag: &str, nat_a: Nat, nat_b: Nat, turn: bool, limit: Duration) -> [Outcome; 2] {
    run_with(tag, nat_a, nat_b, turn.then_some("udp"), limit)
}

/// `turn`: `Some("udp")` or `Some("tcp")`: how the peers reach coturn for their relays.
fn run_with(
    tag: &str,
    nat_a: Nat,
    nat_b: Nat,
    turn: Option<&str>,
    limit: Duration,
) -> [Outcome; 2] {
    let mut lab = Lab::new(tag, nat_a, nat_b);
    let p = lab.prefix.clone();
    let coturn = Command::new("ip")
        .args([
            "netns",
            "exec",
            &format!("{p}inet"),
            "turnserver",
            "-n",
            "--no-cli",
        ])
        .args(if turn.is_some() {
            vec![
                "--lt-cred-mech".to_owned(),
                format!("--user={TURN_USER}"),
                "--realm=tern.test".to_owned(),
                "--relay-ip=198.51.100.1".to_owned(),
                "--min-port=49152".to_owned(),
                "--max-port=49400".to_owned(),
            ]
        } else {
            vec!["--stun-only".to_owned()]
        })
        .args(
            std::env::var_os("TERN_NATLAB_VERBOSE")
                .map(|_| ["--verbose", "--log-file=/tmp/tern-natlab-coturn.log"])
                .into_iter()
                .flatten(),
        )
        .args([
            "--no-tls",
            "--no-dtls",
            "--listening-ip=198.51.100.1",
            "--listening-port=3478",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("turnserver");
    lab.children.push(coturn);
    std::thread::sleep(Duration::from_millis(500));
    let bin = peer_binary();
    let turn_arg = match turn {
        Some("tcp") => format!("{TURN_USER}@tcp:198.51.100.1:3478"),
        _ => format!("{TURN_USER}@198.51.100.1:3478"),
    };
    let peer_args = |bind: &'static str, role: &'static str| {
        let mut v = vec![bin.clone(), bind.to_owned(), role.to_owned()];
        v.push("198.51.100.1:3478".to_owned());
        if turn.is_some() {
            v.push(turn_arg.clone());
        }
        v
    };
    let args_a = peer_args("10.0.1.2:5000", "controlling");
    let args_b = peer_args("10.0.2.2:6000", "controlled");
    let (mut in_a, out_a) = lab.spawn("a", &args_a.iter().map(String::as_str).collect::<Vec<_>>());
    let (mut in_b, out_b) = lab.spawn("b", &args_b.iter().map(String::as_str).collect::<Vec<_>>());
    let mut result: [Outcome; 2] = Default::default();
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        for (i, (out, input)) in [(&out_a, &mut in_b), (&out_b, &mut in_a)]
            .into_iter()
            .enumerate()
        {
            while let Ok(line) = out.try_recv() {
                if std::env::var_os("TERN_NATLAB_VERBOSE").is_some() {
                    eprintln!("[{}] {line}", ["a", "b"][i]);
                }
                if line.starts_with("CRED ") || line.starts_with("CAND ") || line == "EOC" {
                    let _ = writeln!(input, "{line}");
                    let _ = input.flush();
                } else if let Some(state) = line.strip_prefix("STATE ") {
                    result[i].state = state.to_owned();
                } else if let Some(pair) = line.strip_prefix("SELECTED ") {
                    result[i].selected = pair
                        .split_once(' ')
                        .map(|(l, r)| (l.to_owned(), r.to_owned()));
                } else if line.starts_with("DATA ") {
                    result[i].data += 1;
                }
            }
        }
        // Done when both completed and data went both ways, or when one side failed.
        let done = result.iter().all(|o| o.state == "Completed" && o.data > 0)
            || result.iter().any(|o| o.state == "Failed");
        if done {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    result
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (needs root, ip, nft, coturn)"]
fn natlab_port_restricted_cone_to_port_restricted_cone_uses_server_reflexive() {
    let r = run(
        "pp",
        Nat::PortRestrictedCone,
        Nat::PortRestrictedCone,
        false,
        Duration::from_secs(30),
    );
    for (i, public) in ["198.51.100.20", "198.51.100.10"].iter().enumerate() {
        assert_eq!(r[i].state, "Completed", "{r:?}");
        let (_, remote) = r[i].selected.as_ref().expect("a selected pair");
        assert!(
            remote.starts_with(public),
            "side {i} selected {remote}, expected {public}"
        );
        assert!(r[i].data > 0, "no data on the selected pair: {r:?}");
    }
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (needs root, ip, nft, coturn)"]
fn natlab_symmetric_to_port_restricted_cone_fails_without_turn() {
    let r = run(
        "sp",
        Nat::Symmetric,
        Nat::PortRestrictedCone,
        false,
        Duration::from_secs(60),
    );
    assert!(r.iter().any(|o| o.state == "Failed"), "{r:?}");
    assert!(r.iter().all(|o| o.selected.is_none()), "{r:?}");
}

/// Asserts both sides completed over a pair with a relayed candidate on coturn (the relayed
/// address is local on one side, remote on the other) and exchanged data through it.
fn assert_relayed(r: &[Outcome; 2]) {
    for (i, o) in r.iter().enumerate() {
        assert_eq!(o.state, "Completed", "{r:?}");
        let (local, remote) = o.selected.as_ref().expect("a selected pair");
        assert!(
            local.starts_with("198.51.100.1:") || remote.starts_with("198.51.100.1:"),
            "side {i} selected {local} -> {remote}, not through the relay"
        );
        assert!(o.data > 0, "side {i} received no data: {r:?}");
    }
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (needs root, ip, nft, coturn)"]
fn natlab_symmetric_to_port_restricted_cone_connects_through_coturn_relay() {
    let r = run(
        "st",
        Nat::Symmetric,
        Nat::PortRestrictedCone,
        true,
        Duration::from_secs(40),
    );
    assert_relayed(&r);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (needs root, ip, nft, coturn)"]
fn natlab_symmetric_to_symmetric_connects_through_coturn_relay() {
    let r = run(
        "ss",
        Nat::Symmetric,
        Nat::Symmetric,
        true,
        Duration::from_secs(40),
    );
    assert_relayed(&r);
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (needs root, ip, nft, coturn)"]
fn natlab_port_restricted_cones_with_turn_still_prefer_server_reflexive() {
    let r = run(
        "pt",
        Nat::PortRestrictedCone,
        Nat::PortRestrictedCone,
        true,
        Duration::from_secs(30),
    );
    for (i, o) in r.iter().enumerate() {
        assert_eq!(o.state, "Completed", "{r:?}");
        let (local, remote) = o.selected.as_ref().expect("a selected pair");
        assert!(
            !local.starts_with("198.51.100.1:") && !remote.starts_with("198.51.100.1:"),
            "side {i} selected {local} -> {remote}: a relay where srflx works"
        );
    }
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (needs root, ip, nft, coturn)"]
fn natlab_full_cone_to_symmetric_connects_without_turn() {
    let r = run(
        "fs",
        Nat::FullCone,
        Nat::Symmetric,
        false,
        Duration::from_secs(30),
    );
    for o in &r {
        assert_eq!(o.state, "Completed", "{r:?}");
        assert!(o.data > 0, "{r:?}");
    }
    // The symmetric side reaches the full cone's server-reflexive address (which keeps the
    // port); the full cone side answers the symmetric NAT's new mapping (peer-reflexive).
    let (_, remote_b) = r[1].selected.as_ref().unwrap();
    assert_eq!(remote_b, "198.51.100.10:5000", "{r:?}");
    let (_, remote_a) = r[0].selected.as_ref().unwrap();
    assert!(remote_a.starts_with("198.51.100.20:"), "{r:?}");
}

#[test]
#[ignore = "interop: run by cargo xtask test-all (needs root, ip, nft, coturn)"]
fn natlab_symmetric_to_symmetric_connects_through_coturn_relay_over_tcp() {
    let r = run_with(
        "tt",
        Nat::Symmetric,
        Nat::Symmetric,
        Some("tcp"),
        Duration::from_secs(40),
    );
    assert_relayed(&r);
}
