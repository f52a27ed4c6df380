//! Handshake message reassembly (RFC 6347 §4.2.3) with bounded memory.
//!
//! Fragments may arrive in any order, duplicated or overlapping. Overlapping bytes must agree; a
//! fragment that disagrees with bytes already held is rejected whole (CVE-2014-0195 class). Memory
//! is bounded by the configured maximum message size, number of buffered messages and total bytes.

use std::collections::BTreeMap;

use crate::error::DtlsError;
use crate::wire::handshake::FragmentView;

/// Most disjoint byte ranges kept per message (each fragment adds at most one).
const MAX_RANGES: usize = 64;

/// One message being reassembled.
#[derive(Debug, Clone)]
pub struct PartialMessage {
    /// msg_type.
    pub msg_type: u8,
    /// Record epoch its fragments came in.
    pub epoch: u16,
    data: Vec<u8>,
    /// Sorted, disjoint, non-adjacent [start, end) ranges received.
    ranges: Vec<(usize, usize)>,
}

impl PartialMessage {
    /// An empty message of `length` bytes.
    pub fn new(msg_type: u8, epoch: u16, length: usize) -> Self {
        PartialMessage {
            msg_type,
            epoch,
            data: vec![0; length],
            ranges: Vec::new(),
        }
    }

    /// Declared length.
    pub fn message_len(&self) -> usize {
        self.data.len()
    }

    /// Add one fragment's bytes. Atomic: on error nothing changed.
    pub fn add(&mut self, offset: usize, bytes: &[u8]) -> Result<(), DtlsError> {
        let end = offset
            .checked_add(bytes.len())
            .ok_or(DtlsError::ConflictingFragment)?;
        if end > self.data.len() {
            return Err(DtlsError::ConflictingFragment);
        }
        // Overlapping bytes must be identical.
        for &(s, e) in &self.ranges {
            let lo = s.max(offset);
            let hi = e.min(end);
            if lo < hi {
                let held = self
                    .data
                    .get(lo..hi)
                    .ok_or(DtlsError::ConflictingFragment)?;
                let new = bytes
                    .get(lo.saturating_sub(offset)..hi.saturating_sub(offset))
                    .ok_or(DtlsError::ConflictingFragment)?;
                if held != new {
                    return Err(DtlsError::ConflictingFragment);
                }
            }
        }
        // Merge the range.
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.ranges.len() + 1);
        let (mut ns, mut ne) = (offset, end);
        for &(s, e) in &self.ranges {
            if e < ns || s > ne {
                merged.push((s, e));
            } else {
                ns = ns.min(s);
                ne = ne.max(e);
            }
        }
        merged.push((ns, ne));
        merged.sort_unstable();
        if merged.len() > MAX_RANGES {
            return Err(DtlsError::BufferFull);
        }
        self.ranges = merged;
        if let Some(dst) = self.data.get_mut(offset..end) {
            dst.copy_from_slice(bytes);
        }
        Ok(())
    }

    /// Every byte present.
    pub fn is_complete(&self) -> bool {
        self.data.is_empty() || self.ranges.as_slice() == [(0, self.data.len())]
    }

    /// The body (meaningful when complete).
    pub fn into_body(self) -> Vec<u8> {
        self.data
    }
}

/// A whole handshake message taken out of the reassembler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeMessage {
    /// msg_type.
    pub msg_type: u8,
    /// message_seq.
    pub message_seq: u16,
    /// Epoch of the records that carried it.
    pub epoch: u16,
    /// Body.
    pub body: Vec<u8>,
}

/// What `insert` did with a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// The message_seq was already processed: the peer is retransmitting.
    Old,
    /// Buffered (possibly completing a message).
    Buffered,
}

/// In-order delivery of handshake messages.
#[derive(Debug, Clone)]
pub struct Reassembler {
    next_seq: u16,
    pending: BTreeMap<u16, PartialMessage>,
    buffered_bytes: usize,
    max_message: usize,
    max_messages: usize,
    max_bytes: usize,
}

impl Reassembler {
    /// A reassembler expecting message_seq 0.
    pub fn new(max_message: usize, max_messages: usize, max_bytes: usize) -> Self {
        Reassembler {
            next_seq: 0,
            pending: BTreeMap::new(),
            buffered_bytes: 0,
            max_message,
            max_messages,
            max_bytes,
        }
    }

    /// The message_seq expected next.
    pub fn next_seq(&self) -> u16 {
        self.next_seq
    }

    /// Start expecting `seq` (server after a ClientHello; drops anything buffered).
    pub fn reset_to(&mut self, seq: u16) {
        self.next_seq = seq;
        self.clear_buffers();
    }

    /// Bytes held in partial messages.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
    }

    /// Free every buffer (after the handshake).
    pub fn clear_buffers(&mut self) {
        self.pending.clear();
        self.buffered_bytes = 0;
    }

    /// Add a fragment received in `epoch`. On error nothing changed.
    pub fn insert(&mut self, epoch: u16, frag: &FragmentView<'_>) -> Result<Inserted, DtlsError> {
        let h = frag.header;
        if h.message_seq < self.next_seq {
            return Ok(Inserted::Old);
        }
        // Only a bounded window of future messages is buffered (CVE-2022-29189 class).
        if usize::from(h.message_seq - self.next_seq) >= self.max_messages {
            return Err(DtlsError::BufferFull);
        }
        let length = usize::try_from(h.length).map_err(|_| DtlsError::BufferFull)?;
        if length > self.max_message {
            return Err(DtlsError::HandshakeMessageTooLarge {
                len: length,
                max: self.max_message,
            });
        }
        let offset = usize::try_from(h.fragment_offset).map_err(|_| DtlsError::BufferFull)?;
        match self.pending.get_mut(&h.message_seq) {
            Some(p) => {
                if p.msg_type != h.msg_type || p.message_len() != length || p.epoch != epoch {
                    return Err(DtlsError::ConflictingFragment);
                }
                p.add(offset, frag.data)?;
            }
            None => {
                if self.pending.len() >= self.max_messages
                    || self.buffered_bytes.saturating_add(length) > self.max_bytes
                {
                    return Err(DtlsError::BufferFull);
                }
                let mut p = PartialMessage::new(h.msg_type, epoch, length);
                p.add(offset, frag.data)?;
                self.pending.insert(h.message_seq, p);
                self.buffered_bytes = self.buffered_bytes.saturating_add(length);
            }
        }
        Ok(Inserted::Buffered)
    }

    /// Take the next in-order message if it is complete. The caller must then call
    /// [`advance`](Self::advance) once it accepted the message.
    pub fn take_ready(&mut self) -> Option<HandshakeMessage> {
        let complete = self
            .pending
            .get(&self.next_seq)
            .is_some_and(PartialMessage::is_complete);
        if !complete {
            return None;
        }
        let p = self.pending.remove(&self.next_seq)?;
        self.buffered_bytes = self.buffered_bytes.saturating_sub(p.message_len());
        Some(HandshakeMessage {
            msg_type: p.msg_type,
            message_seq: self.next_seq,
            epoch: p.epoch,
            body: p.into_body(),
        })
    }

    /// Move past the message just taken.
    pub fn advance(&mut self) {
        self.next_seq = self.next_seq.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::handshake::HandshakeHeader;

    fn frag(seq: u16, len: u32, off: u32, data: &[u8]) -> (HandshakeHeader, Vec<u8>) {
        (
            HandshakeHeader {
                msg_type: 11,
                length: len,
                message_seq: seq,
                fragment_offset: off,
                fragment_length: data.len() as u32,
            },
            data.to_vec(),
        )
    }

    fn ins(r: &mut Reassembler, f: &(HandshakeHeader, Vec<u8>)) -> Result<Inserted, DtlsError> {
        r.insert(
            0,
            &FragmentView {
                header: f.0,
                data: &f.1,
            },
        )
    }

    #[test]
    fn out_of_order_overlapping() {
        let mut r = Reassembler::new(1024, 4, 4096);
        ins(&mut r, &frag(0, 10, 6, &[6, 7, 8, 9])).unwrap();
        assert!(r.take_ready().is_none());
        ins(&mut r, &frag(0, 10, 0, &[0, 1, 2, 3])).unwrap();
        ins(&mut r, &frag(0, 10, 2, &[2, 3, 4, 5, 6])).unwrap();
        let m = r.take_ready().unwrap();
        assert_eq!(m.body, (0..10).collect::<Vec<u8>>());
        r.advance();
        assert_eq!(ins(&mut r, &frag(0, 10, 0, &[0])), Ok(Inserted::Old));
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn conflicting_overlap_rejected_atomically() {
        let mut r = Reassembler::new(1024, 4, 4096);
        ins(&mut r, &frag(0, 10, 0, &[0, 1, 2, 3])).unwrap();
        assert_eq!(
            ins(&mut r, &frag(0, 10, 2, &[2, 9, 4])),
            Err(DtlsError::ConflictingFragment)
        );
        ins(&mut r, &frag(0, 10, 4, &[4, 5, 6, 7, 8, 9])).unwrap();
        assert_eq!(r.take_ready().unwrap().body, (0..10).collect::<Vec<u8>>());
    }

    #[test]
    fn limits() {
        let mut r = Reassembler::new(1024, 4, 2048);
        assert!(matches!(
            ins(&mut r, &frag(0, 0x00ff_ffff, 0, &[1])),
            Err(DtlsError::HandshakeMessageTooLarge { .. })
        ));
        assert_eq!(
            ins(&mut r, &frag(4, 10, 0, &[1])),
            Err(DtlsError::BufferFull)
        );
        ins(&mut r, &frag(1, 1024, 0, &[1])).unwrap();
        ins(&mut r, &frag(2, 1024, 0, &[1])).unwrap();
        assert_eq!(
            ins(&mut r, &frag(3, 1, 0, &[1])),
            Err(DtlsError::BufferFull)
        );
        assert_eq!(r.buffered_bytes(), 2048);
        r.clear_buffers();
        assert_eq!(r.buffered_bytes(), 0);
    }
}
