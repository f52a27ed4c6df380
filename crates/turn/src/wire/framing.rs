//! Cutting a TCP (or TLS) byte stream into STUN messages and ChannelData messages
//! (RFC 8656 §12.5: over a stream, ChannelData is padded to a multiple of 4 bytes; STUN
//! messages carry their own length, always a multiple of 4).

use bytes::{Buf, Bytes, BytesMut};
use tern_stun::{HEADER_LEN, MAGIC_COOKIE};

use crate::error::FramingError;
use crate::wire::channel_data::{
    CHANNEL_DATA_HEADER_LEN, LEGACY_MAX_CHANNEL, MAX_CHANNEL, MIN_CHANNEL, padding,
};

/// Default bound on buffered, not yet framed bytes: one largest STUN message plus slack.
pub const DEFAULT_STREAM_BUFFER: usize = 128 * 1024;

/// Reassembles STUN and ChannelData messages from arbitrary chunks of a byte stream.
///
/// Feed bytes with [`StreamFramer::push`] and take whole messages with
/// [`StreamFramer::next_frame`] until it yields `Ok(None)`. A 1-byte chunk at a time works.
/// ChannelData frames are returned without their padding, so
/// [`ChannelData::decode`](crate::ChannelData::decode) accepts them as they are.
#[derive(Debug)]
pub struct StreamFramer {
    buf: BytesMut,
    capacity: usize,
    max_channel: u16,
    /// Padding still to skip after the last ChannelData frame returned.
    skip: usize,
    /// Set once the stream is unframeable; every later call repeats the error.
    failed: Option<FramingError>,
}

impl Default for StreamFramer {
    fn default() -> Self {
        StreamFramer::new(DEFAULT_STREAM_BUFFER)
    }
}

impl StreamFramer {
    /// A framer buffering at most `capacity` unframed bytes (at least 65,556, one largest frame).
    pub fn new(capacity: usize) -> StreamFramer {
        StreamFramer {
            buf: BytesMut::new(),
            capacity: capacity.max(HEADER_LEN + 0xFFFF),
            max_channel: MAX_CHANNEL,
            skip: 0,
            failed: None,
        }
    }

    /// Accepts RFC 5766 channel numbers (0x4000–0x7FFF) too, as coturn's clients use them.
    pub fn with_legacy_channels(mut self) -> StreamFramer {
        self.max_channel = LEGACY_MAX_CHANNEL;
        self
    }

    /// Bytes buffered and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Appends stream bytes. Fails (without buffering anything) if the unframed bytes would
    /// exceed the bound: drain frames with [`StreamFramer::next_frame`] between pushes.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.buf.len().saturating_add(bytes.len()) > self.capacity {
            return Err(FramingError::BufferFull {
                capacity: self.capacity,
            });
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// The next complete message, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FramingError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.skip > 0 {
            let n = self.skip.min(self.buf.len());
            self.buf.advance(n);
            self.skip -= n;
            if self.skip > 0 {
                return Ok(None);
            }
        }
        let &[b0, b1, b2, b3, ..] = self.buf.as_ref() else {
            return Ok(None);
        };
        let length = usize::from(u16::from_be_bytes([b2, b3]));
        let (frame_len, pad) = match b0 {
            0x00..=0x03 => {
                // A STUN message: its length field counts the bytes after the 20-byte header
                // and is a multiple of 4 (RFC 8489 §5), so no padding follows it.
                if length % 4 != 0 {
                    return self.fail(FramingError::InvalidStunHeader);
                }
                if let Some(cookie) = self.buf.get(4..8)
                    && cookie != MAGIC_COOKIE.to_be_bytes()
                {
                    return self.fail(FramingError::InvalidStunHeader);
                }
                (HEADER_LEN + length, 0)
            }
            0x40..=0x7F => {
                let channel = u16::from_be_bytes([b0, b1]);
                if !(MIN_CHANNEL..=self.max_channel).contains(&channel) {
                    return self.fail(FramingError::InvalidChannelNumber { channel });
                }
                // RFC 8656 §12.5: over TCP the message is padded to a multiple of 4 bytes; the
                // padding is not counted in the length field.
                (CHANNEL_DATA_HEADER_LEN + length, padding(length))
            }
            first_byte => return self.fail(FramingError::UnknownMessageType { first_byte }),
        };
        if self.buf.len() < frame_len {
            return Ok(None);
        }
        let frame = self.buf.split_to(frame_len).freeze();
        self.skip = pad;
        let n = self.skip.min(self.buf.len());
        self.buf.advance(n);
        self.skip -= n;
        Ok(Some(frame))
    }

    fn fail(&mut self, e: FramingError) -> Result<Option<Bytes>, FramingError> {
        self.failed = Some(e);
        self.buf.clear();
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::channel_data::ChannelData;

    fn channel_data(channel: u16, data: &[u8], padded: bool) -> Vec<u8> {
        let mut out = Vec::new();
        ChannelData { channel, data }
            .encode(padded, &mut out)
            .unwrap();
        out
    }

    fn stun(len: usize) -> Vec<u8> {
        let mut m = vec![0u8, 1, (len >> 8) as u8, len as u8];
        m.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        m.extend_from_slice(&[7; 12]);
        m.extend(std::iter::repeat_n(0xAA, len));
        m
    }

    #[test]
    fn frames_mixed_stream_in_one_byte_chunks() {
        let mut stream = Vec::new();
        stream.extend(channel_data(0x4000, b"abcde", true));
        stream.extend(stun(8));
        stream.extend(channel_data(0x4FFF, b"", true));
        stream.extend(channel_data(0x4001, b"1234", true));
        let mut f = StreamFramer::default();
        let mut frames = Vec::new();
        for b in &stream {
            f.push(&[*b]).unwrap();
            while let Some(frame) = f.next_frame().unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames.len(), 4);
        assert_eq!(&frames[0][..], &channel_data(0x4000, b"abcde", false)[..]);
        assert_eq!(&frames[1][..], &stun(8)[..]);
        assert_eq!(frames[2].len(), 4);
        assert_eq!(ChannelData::decode(&frames[3]).unwrap().data, b"1234");
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn whole_stream_at_once() {
        let mut stream = Vec::new();
        for i in 0..50u16 {
            stream.extend(channel_data(
                0x4000 + i,
                &vec![i as u8; usize::from(i)],
                true,
            ));
        }
        let mut f = StreamFramer::default();
        f.push(&stream).unwrap();
        for i in 0..50u16 {
            let frame = f.next_frame().unwrap().unwrap();
            let cd = ChannelData::decode(&frame).unwrap();
            assert_eq!(cd.channel, 0x4000 + i);
            assert_eq!(cd.data.len(), usize::from(i));
        }
        assert_eq!(f.next_frame().unwrap(), None);
    }

    #[test]
    fn garbage_is_fatal() {
        let mut f = StreamFramer::default();
        f.push(&[0x80, 0, 0, 0]).unwrap();
        assert_eq!(
            f.next_frame(),
            Err(FramingError::UnknownMessageType { first_byte: 0x80 })
        );
        assert!(f.push(&[0]).is_err());
        assert!(f.next_frame().is_err());
    }

    #[test]
    fn buffer_is_bounded() {
        let mut f = StreamFramer::new(0);
        assert!(f.push(&vec![0x40; HEADER_LEN + 0xFFFF]).is_ok());
        assert_eq!(
            f.push(&[0]),
            Err(FramingError::BufferFull {
                capacity: HEADER_LEN + 0xFFFF
            })
        );
    }
}
