//! The socket loop's UDP I/O, shared by both stacks so they are driven alike.
//!
//! Two modes, chosen per run:
//! - `Plain`: one `sendto` per datagram, one `recvfrom` per datagram (what a naive loop does).
//! - `Batched`: consecutive datagrams to the same destination with equal sizes (the last may be
//!   shorter) leave in one `sendmsg` with UDP GSO, and arrive through `recvmmsg` with UDP GRO,
//!   through `quinn-udp` (safe API; falls back to one datagram per call where the kernel lacks
//!   GSO/GRO). The stacks see exactly the same datagrams either way.

use std::io::IoSliceMut;
use std::net::{SocketAddr, UdpSocket};

/// How datagrams reach the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Batched,
}

/// Largest UDP payload of one GSO send (the IPv4 datagram limit, less headers).
const MAX_GSO_BYTES: usize = 65_000;
/// Receive buffers handed to one `recvmmsg`, each large enough for one GRO super-datagram.
/// Socket buffer size asked for in batched mode.
const SOCKET_BUFFER: usize = 4 << 20;
const RX_SLOTS: usize = 8;
const RX_SLOT_BYTES: usize = 65_536;

/// The sending half (and the socket): what a stack's output needs while input is delivered.
pub struct Tx {
    pub socket: UdpSocket,
    mode: Mode,
    state: quinn_udp::UdpSocketState,
    /// Pending GSO batch: concatenated datagrams, all `segment` bytes but possibly the last.
    batch: Vec<u8>,
    destination: Option<SocketAddr>,
    segment: usize,
    count: usize,
    max_segments: usize,
    /// Syscalls made (sends + receives, including the one that found the socket empty).
    pub syscalls: u64,
}

pub struct Io {
    pub tx: Tx,
    rx: Vec<u8>,
    meta: Vec<quinn_udp::RecvMeta>,
}

impl Io {
    pub fn new(socket: UdpSocket, mode: Mode) -> Io {
        socket.set_nonblocking(true).expect("nonblocking");
        let state = quinn_udp::UdpSocketState::new((&socket).into()).expect("udp socket state");
        let max_segments = if mode == Mode::Batched {
            state.max_gso_segments().max(1)
        } else {
            1
        };
        if mode == Mode::Batched {
            // A GSO burst is up to 64 KB at once: give both stacks room for several (the kernel
            // caps this at net.core.{r,w}mem_max), as QUIC stacks using GSO do.
            let _ = state.set_recv_buffer_size((&socket).into(), SOCKET_BUFFER);
            let _ = state.set_send_buffer_size((&socket).into(), SOCKET_BUFFER);
        }
        Io {
            tx: Tx {
                socket,
                mode,
                state,
                batch: Vec::with_capacity(MAX_GSO_BYTES),
                destination: None,
                segment: 0,
                count: 0,
                max_segments,
                syscalls: 0,
            },
            rx: vec![0; RX_SLOTS * RX_SLOT_BYTES],
            meta: vec![quinn_udp::RecvMeta::default(); RX_SLOTS],
        }
    }

    /// Receives everything waiting, handing each datagram to `deliver` (with the sending half,
    /// so a stack may answer at once); true if any arrived.
    pub fn recv(&mut self, mut deliver: impl FnMut(&mut Tx, SocketAddr, &[u8])) -> bool {
        let mut any = false;
        if self.tx.mode == Mode::Plain {
            loop {
                self.tx.syscalls += 1;
                match self.tx.socket.recv_from(&mut self.rx) {
                    Ok((n, from)) => {
                        deliver(&mut self.tx, from, &self.rx[..n]);
                        any = true;
                    }
                    Err(_) => return any,
                }
            }
        }
        loop {
            let mut slices: Vec<IoSliceMut<'_>> = self
                .rx
                .chunks_mut(RX_SLOT_BYTES)
                .map(IoSliceMut::new)
                .collect();
            self.tx.syscalls += 1;
            let n = match self
                .tx
                .state
                .recv((&self.tx.socket).into(), &mut slices, &mut self.meta)
            {
                Ok(n) => n,
                Err(_) => return any,
            };
            drop(slices);
            for (meta, slot) in self.meta.iter().take(n).zip(self.rx.chunks(RX_SLOT_BYTES)) {
                let stride = meta.stride.max(1);
                for datagram in slot[..meta.len].chunks(stride) {
                    deliver(&mut self.tx, meta.addr, datagram);
                    any = true;
                }
            }
            // Answers (SACKs) to this batch leave now, not after the socket is drained.
            self.tx.flush();
        }
    }
}

impl Tx {
    /// Queues (batched) or sends (plain) one datagram. Send errors are loss, as on a real path.
    pub fn send(&mut self, destination: SocketAddr, data: &[u8]) {
        if self.mode == Mode::Plain || self.max_segments == 1 {
            self.syscalls += 1;
            let _ = self.socket.send_to(data, destination);
            return;
        }
        if self.count > 0
            && (self.destination != Some(destination)
                || data.len() > self.segment
                || self.count >= self.max_segments
                || self.batch.len() + data.len() > MAX_GSO_BYTES)
        {
            self.flush();
        }
        if self.count == 0 {
            self.destination = Some(destination);
            self.segment = data.len();
        }
        self.batch.extend_from_slice(data);
        self.count += 1;
        // Only the last segment of a GSO send may be shorter than the others.
        if data.len() < self.segment {
            self.flush();
        }
    }

    /// Sends the pending batch, if any.
    pub fn flush(&mut self) {
        let Some(destination) = self.destination.take() else {
            return;
        };
        let transmit = quinn_udp::Transmit {
            destination,
            ecn: None,
            contents: &self.batch,
            segment_size: (self.count > 1).then_some(self.segment),
            src_ip: None,
        };
        self.syscalls += 1;
        let _ = self.state.send((&self.socket).into(), &transmit);
        self.batch.clear();
        self.count = 0;
    }
}
