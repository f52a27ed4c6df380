//! Running child processes: in their own process group, with a deadline, optionally inside a
//! loopback-only network namespace, always killed (by their own PID/PGID) when we are done.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished (or timed-out) command left behind.
pub struct Finished {
    pub success: bool,
    pub timed_out: bool,
    pub output: String,
    pub seconds: f64,
}

/// Kills the child's whole process group when dropped, so nothing we started outlives us —
/// on success, failure, timeout or panic alike.
struct GroupGuard {
    child: Child,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let pgid = self.child.id();
        // The child was started with process_group(0), so its PGID is its PID: only our processes.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `unshare -n` works here (root, and the sandbox allows new network namespaces).
pub fn netns_available() -> bool {
    Command::new("unshare")
        .args([
            "-n",
            "sh",
            "-c",
            "ip link set lo up && ip link add tern0 type veth peer name tern1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Sets up the namespace: loopback, plus a veth pair whose both ends stay inside it, with an
/// address from the RFC 2544 benchmarking range (and a unique-local IPv6 one) and default routes. Chromium 156 gathers no host
/// candidate at all without a default route, and never one on loopback (even with
/// `--allow-loopback-in-peer-connection`), so it gets 198.18.0.1; our peers bind 127.0.0.1 and
/// both are local addresses of this namespace. Nothing can leave it: it has no other link.
/// The namespace's own non-loopback address (told to suites as `TERN_INTEROP_IP`).
pub const NAMESPACE_IP: &str = "198.18.0.1";
/// Its IPv6 address, from a unique-local prefix (RFC 4193), told as `TERN_INTEROP_IP6`: the
/// browsers gather IPv6 host candidates there too (with a default route, like IPv4).
pub const NAMESPACE_IP6: &str = "fd00:7e72:6e::1";

const NAMESPACE_SETUP: &str = "ip link set lo up \
 && ip link add tern0 type veth peer name tern1 \
 && ip addr add 198.18.0.1/24 dev tern0 \
 && ip -6 addr add fd00:7e72:6e::1/64 dev tern0 nodad \
 && ip link set tern0 up && ip link set tern1 up \
 && ip route add default via 198.18.0.2 dev tern0 \
 && ip -6 route add default via fd00:7e72:6e::2 dev tern0 \
 && exec \"$@\"";

/// Wraps `argv` so it runs in a fresh network namespace of its own (see `NAMESPACE_SETUP`).
pub fn in_loopback_namespace(argv: &[String]) -> Vec<String> {
    let mut wrapped: Vec<String> = ["unshare", "-n", "sh", "-c", NAMESPACE_SETUP, "sh"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    wrapped.extend(argv.iter().cloned());
    wrapped
}

/// Runs `argv`, echoing its output live to our stderr while capturing it, killing it at `timeout`.
pub fn run(
    argv: &[String],
    envs: &[(String, String)],
    timeout: Duration,
) -> Result<Finished, String> {
    let (program, args) = argv.split_first().ok_or("empty command")?;
    let started = Instant::now();
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(crate::workspace_root())
        .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut guard = GroupGuard { child };

    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let readers: Vec<_> = [
        stdout.map(|s| Box::new(s) as Box<dyn Read + Send>),
        stderr.map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut stream| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                eprint!("{text}");
                if tx.send(text).is_err() {
                    break;
                }
            }
        })
    })
    .collect();
    drop(tx);

    let mut output = String::new();
    let mut timed_out = false;
    let status = loop {
        while let Ok(chunk) = rx.try_recv() {
            output.push_str(&chunk);
        }
        match guard.child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for `{program}`: {e}")),
        }
        if started.elapsed() > timeout {
            timed_out = true;
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(guard); // kills the group (a no-op for the finished leader; also reaps stragglers)
    for reader in readers {
        let _ = reader.join();
    }
    while let Ok(chunk) = rx.try_recv() {
        output.push_str(&chunk);
    }
    Ok(Finished {
        success: status.map(|s| s.success()).unwrap_or(false),
        timed_out,
        output,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs a short command (with the suites' environment, so `$TERN_PYTHON` resolves) and returns
/// its first output line (for peer versions).
pub fn first_line(argv: &[&str]) -> Option<String> {
    let (program, args) = argv.split_first()?;
    let out = Command::new(program)
        .args(args)
        .envs(crate::setup::suite_env())
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}
