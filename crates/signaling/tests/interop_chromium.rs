//! Interop with a real browser: headless Chromium's `WebSocket` speaks the
//! protocol with two clients inside one page (join, peers/new_peer, relayed
//! offer and candidate, malformed input, remove_peer on close), then reports
//! the outcome through the server itself to a Rust client in room `report`.
//!
//! Run by `cargo xtask test-all` (loopback-only namespace); by hand:
//! `cargo test -p tern-signaling --test interop_chromium -- --ignored`.
//! The browser binary is `$TERN_CHROMIUM`, else `chromium` on PATH.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use tern_signaling::{Limits, ServerMessage};

/// Kills the browser by PID when the test ends, also on failure.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Removes the page and profile directory when the test ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PAGE: &str = r#"<!doctype html><html><body><script>
const URL_ = "__URL__";
function client() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(URL_);
    const queue = [], waiters = [];
    ws.onmessage = (e) => { const m = JSON.parse(e.data); const w = waiters.shift(); if (w) w(m); else queue.push(m); };
    ws.next = () => new Promise((res) => { const m = queue.shift(); if (m) res(m); else waiters.push(res); });
    ws.put = (m) => ws.send(JSON.stringify(m));
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("websocket error"));
  });
}
function check(cond, what) { if (!cond) throw new Error(what); }
async function run() {
  const a = await client(), b = await client();
  a.put({type: "join", room: "browser"});
  const pa = await a.next();
  check(pa.type === "peers" && pa.ids.length === 0, "a peers " + JSON.stringify(pa));
  b.put({type: "join", room: "browser"});
  const pb = await b.next();
  check(pb.type === "peers" && pb.ids[0] === pa.you, "b peers " + JSON.stringify(pb));
  const np = await a.next();
  check(np.type === "new_peer" && np.id === pb.you, "new_peer " + JSON.stringify(np));
  b.put({type: "offer", to: pa.you, sdp: "v=0\r\n"});
  const off = await a.next();
  check(off.type === "offer" && off.from === pb.you && off.sdp === "v=0\r\n", "offer " + JSON.stringify(off));
  a.put({type: "ice_candidate", to: pb.you, candidate: "", sdp_mid: "0"});
  const cand = await b.next();
  check(cand.type === "ice_candidate" && cand.from === pa.you && cand.candidate === "", "cand " + JSON.stringify(cand));
  a.send("{not json");
  const err = await a.next();
  check(err.type === "error" && err.code === "malformed", "error " + JSON.stringify(err));
  a.close();
  const gone = await b.next();
  check(gone.type === "remove_peer" && gone.id === pa.you, "remove_peer " + JSON.stringify(gone));
  return "OK " + navigator.userAgent;
}
async function report(result) {
  const r = await client();
  r.put({type: "join", room: "report"});
  const p = await r.next();
  r.put({type: "offer", to: p.ids[0], sdp: result});
}
run().catch((e) => "FAIL " + e.message).then(report);
</script></body></html>"#;

#[tokio::test]
#[ignore = "interop: run by cargo xtask test-all"]
async fn chromium_websocket_speaks_the_protocol() {
    let server = server(Limits::default()).await;
    let (mut observer, _, _) = joined(&server, "report").await;

    let dir = TempDir(
        std::env::temp_dir().join(format!("tern-signaling-chromium-{}", std::process::id())),
    );
    std::fs::create_dir_all(&dir.0).unwrap();
    let page = dir.0.join("page.html");
    std::fs::write(&page, PAGE.replace("__URL__", &server.url())).unwrap();

    let browser = std::env::var("TERN_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.0.join("profile").display()
        ))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {browser}: {e}"));
    let _browser = KillOnDrop(child);

    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match observer.next().await {
                Some(Ok(ServerMessage::Offer { sdp, .. })) => return sdp,
                Some(Ok(_)) => {}
                other => panic!("observer connection ended: {other:?}"),
            }
        }
    })
    .await
    .expect("the page reported within 60 s");
    assert!(outcome.starts_with("OK "), "{outcome}");
    assert!(outcome.contains("Chrome/"), "{outcome}");
    server.shutdown().await.unwrap();
}
