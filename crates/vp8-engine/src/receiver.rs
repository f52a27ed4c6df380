//! The sans-IO VP8 receive pipeline: packets → assembler → frame buffer → decodable frames,
//! plus the decisions when to ask the sender for a key frame.

use std::collections::VecDeque;
use std::time::Instant;

use crate::assembler::FrameAssembler;
use crate::config::{KeyframeRequestKind, ReceiverConfig};
use crate::error::Error;
use crate::frame_buffer::{DecodableFrame, FrameBuffer};

/// Why a key frame is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyframeReason {
    /// A complete frame (or the stream start) has waited `keyframe_wait` for its references.
    WaitingForKeyframe,
    /// Packets arrive but no frame has been decodable for `max_wait_for_frame`.
    NoDecodableFrame,
    /// The application reported a decoder error.
    DecoderError,
    /// The missing-packet list overflowed (here or in the RTP layer's NACK module).
    NackOverflow,
}

/// A request the application sends as RTCP PLI or FIR for the stream's SSRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyframeRequest {
    /// PLI or FIR, from the configuration.
    pub kind: KeyframeRequestKind,
    /// Why.
    pub reason: KeyframeReason,
}

/// Things the application must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReceiverEvent {
    /// Decode this frame next.
    Frame(DecodableFrame),
    /// Ask the sender for a key frame.
    KeyframeRequest(KeyframeRequest),
}

/// Events kept before the application drains them; frames beyond this are dropped.
const MAX_EVENTS: usize = 256;

/// One received VP8 stream (one SSRC). See the crate documentation for the run loop.
#[derive(Debug, Clone)]
pub struct Vp8Receiver {
    cfg: ReceiverConfig,
    assembler: FrameAssembler,
    buffer: FrameBuffer,
    events: VecDeque<ReceiverEvent>,
    /// Since when a frame (or the first key frame) has been waiting.
    stuck_since: Option<Instant>,
    /// Start of the current window without a decodable frame.
    frame_clock: Option<Instant>,
    last_packet: Option<Instant>,
    last_request: Option<Instant>,
    deferred: Option<KeyframeReason>,
    requests: u64,
}

impl Vp8Receiver {
    /// A receiver waiting for its first key frame.
    #[must_use]
    pub fn new(cfg: ReceiverConfig) -> Self {
        Self {
            assembler: FrameAssembler::new(&cfg),
            buffer: FrameBuffer::new(cfg.max_pending_frames),
            cfg,
            events: VecDeque::new(),
            stuck_since: None,
            frame_clock: None,
            last_packet: None,
            last_request: None,
            deferred: None,
            requests: 0,
        }
    }

    /// Handles the payload of one RTP packet of the stream (after SRTP and rtp-rtcp).
    ///
    /// # Errors
    /// A payload that does not parse is rejected without changing any state. A frame that
    /// completes but is invalid (too large, partition beyond the frame) is discarded and its
    /// error returned; the stream then waits for a key frame as after a loss.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Result<(), Error> {
        let result = self.assembler.insert(seq, timestamp, marker, payload);
        if let Err(
            Error::TruncatedDescriptor { .. }
            | Error::EmptyPayload { .. }
            | Error::TruncatedPayloadHeader { .. }
            | Error::InvalidStartCode { .. },
        ) = result
        {
            return result.map(|_| ());
        }
        self.last_packet = Some(now);
        self.frame_clock.get_or_insert(now);
        let outcome = match result {
            Ok(o) => o,
            Err(e) => {
                self.update_stuck(now, true);
                return Err(e);
            }
        };
        if outcome.nack_overflow {
            self.buffer.require_keyframe();
            self.request(now, KeyframeReason::NackOverflow);
        }
        if let Some(frame) = outcome.frame {
            for f in self.buffer.insert(frame) {
                // Progress: restart both key-frame clocks.
                self.frame_clock = Some(now);
                self.stuck_since = None;
                self.push(ReceiverEvent::Frame(f));
            }
        }
        self.update_stuck(now, false);
        Ok(())
    }

    /// The decoder failed on a frame: forget pending delta frames and request a key frame.
    pub fn handle_decoder_error(&mut self, now: Instant) {
        self.buffer.require_keyframe();
        self.request(now, KeyframeReason::DecoderError);
        self.update_stuck(now, true);
    }

    /// The RTP layer's NACK list overflowed: request a key frame.
    pub fn handle_nack_overflow(&mut self, now: Instant) {
        self.buffer.require_keyframe();
        self.request(now, KeyframeReason::NackOverflow);
        self.update_stuck(now, true);
    }

    /// Runs the key-frame timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(reason) = self.deferred
            && self.may_request(now)
        {
            self.request(now, reason);
        }
        // RFC 4585 §6.3.1: PLI when the receiver lost a picture it cannot recover otherwise.
        if let Some(s) = self.stuck_since
            && now >= s + self.cfg.keyframe_wait
            && self.may_request(now)
        {
            self.request(now, KeyframeReason::WaitingForKeyframe);
        }
        if let (Some(c), Some(p)) = (self.frame_clock, self.last_packet)
            && p > c
            && now >= c + self.cfg.max_wait_for_frame
        {
            self.frame_clock = Some(now);
            self.request(now, KeyframeReason::NoDecodableFrame);
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ReceiverEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let after_last = self.last_request.map(|t| t + self.cfg.keyframe_wait);
        let deferred = self.deferred.and(after_last);
        let stuck = self
            .stuck_since
            .map(|s| (s + self.cfg.keyframe_wait).max(after_last.unwrap_or(s)));
        let no_frame = match (self.frame_clock, self.last_packet) {
            (Some(c), Some(_)) => Some(c + self.cfg.max_wait_for_frame),
            _ => None,
        };
        [deferred, stuck, no_frame].into_iter().flatten().min()
    }

    /// Missing sequence numbers to NACK, oldest first.
    pub fn missing(&self) -> impl Iterator<Item = u16> + '_ {
        self.assembler.missing()
    }

    /// Key-frame requests emitted so far.
    #[must_use]
    pub fn keyframe_requests(&self) -> u64 {
        self.requests
    }

    /// Whether only a key frame can be decoded next.
    #[must_use]
    pub fn waiting_for_keyframe(&self) -> bool {
        self.buffer.needs_keyframe()
    }

    fn may_request(&self, now: Instant) -> bool {
        self.last_request
            .is_none_or(|t| now >= t + self.cfg.keyframe_wait)
    }

    fn request(&mut self, now: Instant, reason: KeyframeReason) {
        if !self.may_request(now) {
            self.deferred = Some(reason);
            return;
        }
        self.deferred = None;
        self.last_request = Some(now);
        self.requests += 1;
        self.push(ReceiverEvent::KeyframeRequest(KeyframeRequest {
            kind: self.cfg.keyframe_request_kind,
            reason,
        }));
    }

    fn update_stuck(&mut self, now: Instant, force: bool) {
        if force || self.buffer.pending() > 0 || self.buffer.needs_keyframe() {
            self.stuck_since.get_or_insert(now);
        } else {
            self.stuck_since = None;
        }
    }

    fn push(&mut self, e: ReceiverEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }
}
