//! VP8 for WebRTC: the RFC 7741 RTP payload format, the receive pipeline that turns packets
//! into decodable frames and decides when to ask for a key frame, and a safe libvpx
//! encoder/decoder (feature `libvpx`, on by default).
//!
//! # Implemented
//!
//! * RFC 7741 §4.1 (marker bit, timestamp), §4.2 (payload descriptor: X, N, S, PID, I/L/T/K,
//!   7/15-bit PictureID with wrap, TL0PICIDX, TID, Y, KEYIDX), §4.3 (payload header, key-frame
//!   detection from the P bit, key-frame dimensions per RFC 6386 §9.1), §4.4-style
//!   partition-aware fragmentation and aggregation, §4.5.1 frame reconstruction.
//! * Not implemented: RFC 7741 §5 (RPSI/SLI feedback — libwebrtc does not use it either) and the
//!   §6 media type registration (that is SDP's business).
//! * Reference finding follows libwebrtc's VP8 approach (PictureID, TL0PICIDX, TID, Y); see
//!   [`frame_buffer`].
//!
//! # Run loop (receive side, [`Vp8Receiver`])
//!
//! 1. Create a [`Vp8Receiver`] with a [`ReceiverConfig`].
//! 2. For each RTP packet of the stream (after SRTP and `tern-rtp-rtcp`), call
//!    [`handle_packet`](Vp8Receiver::handle_packet) with `now`, the sequence number,
//!    timestamp, marker bit and payload.
//! 3. Drain [`poll_event`](Vp8Receiver::poll_event): decode each
//!    [`ReceiverEvent::Frame`] in order; send each [`ReceiverEvent::KeyframeRequest`] as RTCP
//!    PLI or FIR. NACK the sequence numbers of [`missing`](Vp8Receiver::missing) (or let the
//!    RTP layer do it).
//! 4. Report decoder failures with [`handle_decoder_error`](Vp8Receiver::handle_decoder_error)
//!    and RTP-layer NACK overflows with
//!    [`handle_nack_overflow`](Vp8Receiver::handle_nack_overflow); drain again.
//! 5. Call [`handle_timeout`](Vp8Receiver::handle_timeout) at
//!    [`poll_timeout`](Vp8Receiver::poll_timeout); drain again.
//!
//! The send side is a plain function call: encode, then [`Vp8Packetizer::packetize`] and give
//! each payload the frame's RTP timestamp, the marker bit on the last.
//!
//! # Example
//!
//! ```
//! use std::time::Instant;
//! use tern_vp8_engine::wire::header::emit_header;
//! use tern_vp8_engine::{FrameToSend, PacketizerConfig, ReceiverConfig, ReceiverEvent,
//!     Vp8Packetizer, Vp8Receiver};
//!
//! // A (synthetic) 3000-byte key frame, 640x480.
//! let mut frame = emit_header(100, Some((640, 480)));
//! frame.resize(3000, 0);
//! let mut packetizer = Vp8Packetizer::new(PacketizerConfig { mtu: 1200, ..Default::default() });
//! let payloads = packetizer.packetize(&FrameToSend { data: &frame, ..Default::default() })?;
//!
//! # #[allow(clippy::disallowed_methods)]
//! let now = Instant::now(); // a real driver passes its clock in; tests use virtual time
//! let mut rx = Vp8Receiver::new(ReceiverConfig::default());
//! for (i, p) in payloads.iter().enumerate() {
//!     rx.handle_packet(now, 1000 + i as u16, 90_000, i + 1 == payloads.len(), p)?;
//! }
//! let Some(ReceiverEvent::Frame(f)) = rx.poll_event() else { unreachable!() };
//! assert!(f.frame.is_key_frame());
//! assert_eq!(f.frame.data.len(), 3000);
//! # Ok::<(), tern_vp8_engine::Error>(())
//! ```

pub mod assembler;
#[cfg(feature = "libvpx")]
pub mod codec;
pub mod config;
pub mod error;
pub mod frame_buffer;
pub mod image;
pub mod packetizer;
pub mod receiver;
pub mod wire;

pub use assembler::{AssembledFrame, FrameAssembler};
#[cfg(feature = "libvpx")]
pub use codec::{EncodedFrame, EncoderConfig, Vp8Decoder, Vp8Encoder};
pub use config::{KeyframeRequestKind, ReceiverConfig};
pub use error::Error;
pub use frame_buffer::{DecodableFrame, FrameBuffer};
pub use image::I420Image;
pub use packetizer::{FrameToSend, PacketizerConfig, PictureIdMode, Vp8Packetizer};
pub use receiver::{KeyframeReason, KeyframeRequest, ReceiverEvent, Vp8Receiver};
pub use wire::{PictureId, TemporalInfo, Vp8Descriptor, Vp8Packet, Vp8PayloadHeader};
