//! Our server runner on a thread of its own with its own runtime, for the socket tests; stopped
//! and joined on drop, where a runner that ended in an error fails the test.

use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;
use tern_turn::{ServerConfig, ServerRunner};

pub struct RunningServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// Listens on 127.0.0.1 (UDP, and TCP with `tcp`); `writer_threads` as
    /// [`ServerRunner::with_writer_threads`], `None` for the runner's default.
    pub fn start(config: ServerConfig, tcp: bool, writer_threads: Option<usize>) -> RunningServer {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut runner = ServerRunner::bind(config, "127.0.0.1:0".parse().unwrap(), tcp)
                    .await
                    .unwrap();
                if let Some(threads) = writer_threads {
                    runner = runner.with_writer_threads(threads);
                }
                addr_tx.send(runner.local_addr()).unwrap();
                runner
                    .run(async move {
                        let _ = stop_rx.await;
                    })
                    .await
            })
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        RunningServer {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let result = thread.join();
            if !std::thread::panicking() {
                result.unwrap().unwrap();
            }
        }
    }
}
