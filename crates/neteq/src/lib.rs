//! # tern-neteq: an adaptive jitter buffer for RTP audio
//!
//! A NetEq-class receiver (after libwebrtc's NetEq, written from its published design, not its
//! code): RTP audio packets go in as they arrive, 10 ms of continuous audio comes out on every
//! playout tick. In between it reorders, drops duplicates and late packets, conceals losses,
//! and stretches time to keep the buffer at a target delay that follows the network's jitter.
//!
//! Sample-clocked: the crate never reads a clock. Arrival times are given in samples on the
//! playout clock ([`NetEq::playout_clock`], the number of samples played so far), and every
//! decision happens inside [`NetEq::get_audio`].
//!
//! ## What it implements
//! - RFC 3550 §5.1 RTP timestamps (32-bit wrap; jumps beyond
//!   [`NetEqConfig::max_timestamp_jump_ms`], e.g. ±2^31, restart the stream).
//! - RFC 3551 §4.5.11 L16 ([`L16Decoder`]), RFC 3389 comfort noise level only
//!   ([`ComfortNoiseDecoder`]; spectral coefficients are ignored), RFC 7587 / RFC 6716 Opus with
//!   its PLC and in-band FEC (`OpusDecoder`, feature `opus`, needs libopus via pkg-config).
//! - W3C webrtc-stats jitter buffer and concealment counters ([`NetEqStats`]).
//!
//! Not implemented: DTMF events (RFC 4733), RED (RFC 2198), multi-channel audio, resampling
//! between a decoder's rate and the output rate (they must match).
//!
//! ## Run loop
//! 1. Register a decoder per payload type: [`NetEq::register_decoder`].
//! 2. For every RTP packet received: [`NetEq::insert_packet`] with its timestamp, sequence
//!    number, payload type, payload and arrival time (samples on the playout clock).
//! 3. Every 10 ms of the audio device: [`NetEq::get_audio`] with a 10 ms buffer. It runs the
//!    decision logic (normal, expand, merge, accelerate, fast accelerate, preemptive expand,
//!    comfort noise) until it holds 10 ms, and returns what it did ([`AudioFrameInfo`]).
//! 4. Read [`NetEq::stats`] whenever statistics are wanted.
//!
//! ## Scoring
//! `compare/` replays the committed traces (`tests/vectors/trace-*.csv`) through this crate,
//! libwebrtc's NetEq (Debian libtgowt-dev) and a fixed-delay buffer, and scores them with
//! PESQ-WB; the README holds the measured table. `tests/interop_libwebrtc.rs` is the CI subset.
//!
//! ## Example
//! ```
//! use tern_neteq::{L16Decoder, NetEq, NetEqConfig, SampleRate};
//!
//! let mut neteq = NetEq::new(NetEqConfig::new(SampleRate::Hz16000));
//! neteq.register_decoder(96, Box::new(L16Decoder::new(16_000))).unwrap();
//! let tone: Vec<i16> = (0..320).map(|n| ((n as f32 * 0.1).sin() * 8000.0) as i16).collect();
//! let payload = L16Decoder::encode(&tone);
//! let mut out = [0i16; 160];
//! for i in 0..50u32 {
//!     let now = neteq.playout_clock();
//!     if i % 2 == 0 {
//!         // one 20 ms packet every other 10 ms tick
//!         neteq.insert_packet(i * 160, (i / 2) as u16, 96, &payload, now).unwrap();
//!     }
//!     neteq.get_audio(&mut out).unwrap();
//! }
//! assert!(neteq.stats().jitter_buffer_emitted_count > 0);
//! ```
#![forbid(unsafe_code)]

mod config;
mod decision;
mod decoder;
mod delay_manager;
mod dsp;
mod error;
mod neteq;
#[cfg(feature = "opus")]
mod opus;
mod packet_buffer;
mod stats;

pub use config::{NetEqConfig, SampleRate};
pub use decision::Operation;
pub use decoder::{ComfortNoiseDecoder, Decoder, L16Decoder, PayloadKind};
pub use error::{DecodeError, NetEqError};
pub use neteq::{AudioFrameInfo, InsertOutcome, NetEq, SpeechType};
#[cfg(feature = "opus")]
pub use opus::OpusDecoder;
pub use stats::{NetEqStats, OperationCounts};
