//! WebRTC data channels on the association: DCEP (RFC 8832), PPIDs and stream use
//! (RFC 8831 §6), closing by stream reset (RFC 8831 §6.7).

use std::time::Instant;

use bytes::Bytes;

use super::rx::RxMessage;
use super::tx::Policy;
use super::{Association, SctpEvent, State};
use crate::dcep::{
    ChannelInit, DcepMessage, PPID_BINARY, PPID_BINARY_EMPTY, PPID_DCEP, PPID_STRING,
    PPID_STRING_EMPTY, Reliability,
};
use crate::error::SctpError;

/// A data channel, identified by its SCTP stream id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelId(pub u16);

/// Kind of a data-channel message (RFC 8831 §6.6 PPIDs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// UTF-8 text (PPID 51, or 56 when empty).
    Text,
    /// Binary (PPID 53, or 57 when empty).
    Binary,
}

#[derive(Debug)]
pub(super) struct Channel {
    init: ChannelInit,
    remote_initiated: bool,
    /// DCEP ACK (or any data) received, or remote-initiated/negotiated.
    acked: bool,
    announced: bool,
    closing: bool,
    reset_out_done: bool,
    reset_in_done: bool,
}

impl Association {
    /// Open a data channel. Allowed before the association is up: the DCEP OPEN (or, for a
    /// negotiated channel, nothing) is queued, and `ChannelOpen` is reported once connected.
    pub fn open_channel(
        &mut self,
        now: Instant,
        init: ChannelInit,
    ) -> Result<ChannelId, SctpError> {
        self.now = now;
        if matches!(
            self.state,
            State::Terminated
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
                | State::ShutdownAckSent
        ) {
            return Err(SctpError::Closed);
        }
        let id = match init.negotiated_id {
            Some(id) => {
                if self.channels.contains_key(&id) || id >= self.outbound_streams {
                    return Err(SctpError::ChannelIdUnavailable(id));
                }
                id
            }
            None => self.allocate_stream()?,
        };
        if init.negotiated_id.is_none() {
            // RFC 8832 §6: DATA_CHANNEL_OPEN goes on the channel's stream, ordered and
            // reliable, with PPID 50.
            let open = DcepMessage::Open(init.clone()).emit();
            self.tx
                .enqueue(id, PPID_DCEP, Bytes::from(open), false, RELIABLE, now);
        }
        let negotiated = init.negotiated_id.is_some();
        self.channels.insert(
            id,
            Channel {
                init,
                remote_initiated: false,
                acked: negotiated,
                announced: false,
                closing: false,
                reset_out_done: false,
                reset_in_done: false,
            },
        );
        if self.state.has_tcb() {
            self.announce_local_channels();
        }
        Ok(ChannelId(id))
    }

    fn allocate_stream(&self) -> Result<u16, SctpError> {
        // RFC 8832 §6: the DTLS client uses even stream ids, the server odd ones.
        let start = if self.config.stream_parity == crate::StreamParity::Even {
            0
        } else {
            1
        };
        let limit = u32::from(self.outbound_streams);
        let mut id = start;
        while id < limit {
            let sid = u16::try_from(id).map_err(|_| SctpError::NoFreeStream)?;
            if !self.channels.contains_key(&sid) && !self.reset_wanted.contains(&sid) {
                return Ok(sid);
            }
            id += 2;
        }
        Err(SctpError::NoFreeStream)
    }

    pub(super) fn announce_local_channels(&mut self) {
        let mut out = Vec::new();
        for (&id, ch) in self.channels.iter_mut() {
            if !ch.announced && !ch.remote_initiated {
                ch.announced = true;
                out.push(SctpEvent::ChannelOpen {
                    id: ChannelId(id),
                    label: ch.init.label.clone(),
                    protocol: ch.init.protocol.clone(),
                    init: ch.init.clone(),
                    remote_initiated: false,
                });
            }
        }
        self.events.extend(out);
    }

    /// Send a message on a channel. Empty messages use PPID 56/57 (RFC 8831 §6.6).
    pub fn send(
        &mut self,
        now: Instant,
        id: ChannelId,
        data: &[u8],
        kind: MessageKind,
    ) -> Result<(), SctpError> {
        self.send_bytes(now, id, Bytes::copy_from_slice(data), kind)
    }

    /// Like [`Association::send`], taking ownership of the payload without a copy.
    pub fn send_bytes(
        &mut self,
        now: Instant,
        id: ChannelId,
        data: Bytes,
        kind: MessageKind,
    ) -> Result<(), SctpError> {
        self.now = now;
        if matches!(
            self.state,
            State::Terminated
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
                | State::ShutdownAckSent
        ) {
            return Err(SctpError::Closed);
        }
        let ch = self
            .channels
            .get(&id.0)
            .ok_or(SctpError::UnknownChannel(id.0))?;
        if ch.closing {
            return Err(SctpError::ChannelClosing(id.0));
        }
        if data.len() > self.config.remote_max_message_size {
            return Err(SctpError::MessageTooLarge {
                size: data.len(),
                limit: self.config.remote_max_message_size,
            });
        }
        if self.tx.queued_total.saturating_add(data.len()) > self.config.send_buffer_limit {
            return Err(SctpError::SendBufferFull {
                buffered: self.tx.queued_total,
            });
        }
        let (ppid, payload) = match (kind, data.is_empty()) {
            (MessageKind::Text, false) => (PPID_STRING, data),
            (MessageKind::Binary, false) => (PPID_BINARY, data),
            // RFC 8831 §6.6: an empty message is one byte with PPID 56/57.
            (MessageKind::Text, true) => (PPID_STRING_EMPTY, Bytes::from_static(&[0])),
            (MessageKind::Binary, true) => (PPID_BINARY_EMPTY, Bytes::from_static(&[0])),
        };
        // RFC 8832 §6: until the DATA_CHANNEL_ACK arrives, send ordered so that the OPEN is
        // delivered first.
        let unordered = !ch.init.ordered && ch.acked;
        let policy = match ch.init.reliability {
            Reliability::Reliable => RELIABLE,
            Reliability::MaxRetransmits(n) => Policy {
                max_retx: Some(n),
                lifetime: None,
            },
            Reliability::MaxPacketLifetime(d) => Policy {
                max_retx: None,
                lifetime: Some(d),
            },
        };
        self.tx.enqueue(id.0, ppid, payload, unordered, policy, now);
        Ok(())
    }

    /// Close a channel: once its queued messages are sent, reset its outgoing stream
    /// (RFC 8831 §6.7); `ChannelClosed` follows when the peer has reset its side too.
    pub fn close_channel(&mut self, now: Instant, id: ChannelId) -> Result<(), SctpError> {
        self.now = now;
        let ch = self
            .channels
            .get_mut(&id.0)
            .ok_or(SctpError::UnknownChannel(id.0))?;
        if ch.closing {
            return Ok(());
        }
        ch.closing = true;
        if !self.state.has_tcb() {
            // Never connected: nothing to reset.
            self.channels.remove(&id.0);
            self.events.push_back(SctpEvent::ChannelClosed { id });
            return Ok(());
        }
        if !self.reset_wanted.contains(&id.0) {
            self.reset_wanted.push(id.0);
        }
        Ok(())
    }

    /// Bytes queued on a channel and not yet sent.
    pub fn buffered_amount(&self, id: ChannelId) -> usize {
        self.tx.buffered_amount(id.0)
    }

    /// Report `BufferedAmountLow` when the buffered amount falls to `threshold` or below.
    pub fn set_buffered_amount_low_threshold(&mut self, id: ChannelId, threshold: usize) {
        self.tx.set_low_threshold(id.0, threshold);
    }

    /// A message reassembled from the peer.
    pub(super) fn on_message(&mut self, m: RxMessage) -> Result<(), SctpError> {
        let sid = m.stream;
        match m.ppid {
            PPID_DCEP => self.on_dcep(sid, &m.data),
            PPID_STRING | PPID_BINARY | PPID_STRING_EMPTY | PPID_BINARY_EMPTY => {
                let Some(ch) = self.channels.get_mut(&sid) else {
                    return Err(SctpError::NoChannelForStream(sid));
                };
                // RFC 8832 §6: user data on the stream implies the peer got our OPEN.
                ch.acked = true;
                let (kind, data) = match m.ppid {
                    PPID_STRING => (MessageKind::Text, m.data),
                    PPID_BINARY => (MessageKind::Binary, m.data),
                    PPID_STRING_EMPTY => (MessageKind::Text, Bytes::new()),
                    _ => (MessageKind::Binary, Bytes::new()),
                };
                self.push_event(SctpEvent::Message {
                    id: ChannelId(sid),
                    kind,
                    data,
                });
                Ok(())
            }
            ppid => Err(SctpError::UnexpectedPpid { stream: sid, ppid }),
        }
    }

    fn on_dcep(&mut self, sid: u16, data: &[u8]) -> Result<(), SctpError> {
        let msg = match DcepMessage::parse(data) {
            Ok(m) => m,
            Err(error) => {
                if !self.channels.contains_key(&sid) {
                    self.reject_stream(sid);
                }
                return Err(SctpError::Dcep { stream: sid, error });
            }
        };
        match msg {
            DcepMessage::Ack => {
                if let Some(ch) = self.channels.get_mut(&sid) {
                    ch.acked = true;
                }
                Ok(())
            }
            DcepMessage::Open(init) => {
                if self.channels.contains_key(&sid) {
                    // An OPEN on an active stream: keep the existing channel, send no ACK.
                    return Err(SctpError::StreamInUse(sid));
                }
                // RFC 8832 §6: the peer must use the other parity.
                if self.config.stream_parity.matches(sid) {
                    self.reject_stream(sid);
                    return Err(SctpError::WrongStreamParity(sid));
                }
                // RFC 8832 §6: answer with DATA_CHANNEL_ACK on the same stream.
                self.tx.enqueue(
                    sid,
                    PPID_DCEP,
                    Bytes::from(DcepMessage::Ack.emit()),
                    false,
                    RELIABLE,
                    self.now,
                );
                self.channels.insert(
                    sid,
                    Channel {
                        init: init.clone(),
                        remote_initiated: true,
                        acked: true,
                        announced: true,
                        closing: false,
                        reset_out_done: false,
                        reset_in_done: false,
                    },
                );
                self.events.push_back(SctpEvent::ChannelOpen {
                    id: ChannelId(sid),
                    label: init.label.clone(),
                    protocol: init.protocol.clone(),
                    init,
                    remote_initiated: true,
                });
                Ok(())
            }
        }
    }

    /// Refuse a channel: reset the stream without ever sending an ACK.
    fn reject_stream(&mut self, sid: u16) {
        if !self.reset_wanted.contains(&sid) && self.reset_wanted.len() < 1024 {
            self.reset_wanted.push(sid);
        }
    }

    /// The peer reset its outgoing stream `sid` (our incoming one).
    pub(super) fn on_incoming_reset(&mut self, sid: u16) {
        let Some(ch) = self.channels.get_mut(&sid) else {
            return;
        };
        ch.reset_in_done = true;
        if !ch.closing {
            // RFC 8831 §6.7: the peer closed the channel; reset our side as well.
            ch.closing = true;
            if !self.reset_wanted.contains(&sid) {
                self.reset_wanted.push(sid);
            }
        }
        self.maybe_finish_close(sid);
    }

    /// Our outgoing reset of `sid` was performed by the peer.
    pub(super) fn on_outgoing_reset_done(&mut self, sid: u16) {
        if let Some(ch) = self.channels.get_mut(&sid) {
            ch.reset_out_done = true;
        }
        self.maybe_finish_close(sid);
    }

    fn maybe_finish_close(&mut self, sid: u16) {
        let done = self
            .channels
            .get(&sid)
            .is_some_and(|c| c.reset_in_done && c.reset_out_done);
        if done {
            self.channels.remove(&sid);
            self.tx.remove_stream(sid);
            self.events
                .push_back(SctpEvent::ChannelClosed { id: ChannelId(sid) });
        }
    }
}

const RELIABLE: Policy = Policy {
    max_retx: None,
    lifetime: None,
};
