//! The ChannelData message (RFC 8656 §12.4): a 4-byte header (channel number, length) and the
//! application data, padded to a multiple of 4 bytes over stream transports.

use crate::error::ChannelDataError;

/// Size of the ChannelData header.
pub const CHANNEL_DATA_HEADER_LEN: usize = 4;
/// Lowest channel number a client may bind (RFC 8656 §12).
pub const MIN_CHANNEL: u16 = 0x4000;
/// Highest channel number a client may bind (RFC 8656 §12: 0x4000 through 0x4FFF).
pub const MAX_CHANNEL: u16 = 0x4FFF;

/// Highest channel number of RFC 5766 §11 (0x4000 through 0x7FFF), which RFC 8656 narrowed.
/// coturn's clients still pick numbers in this range; a server may accept them for interop.
pub const LEGACY_MAX_CHANNEL: u16 = 0x7FFF;

/// Whether `channel` is a valid channel number (0x4000–0x4FFF).
pub fn is_valid_channel(channel: u16) -> bool {
    (MIN_CHANNEL..=MAX_CHANNEL).contains(&channel)
}

/// Whether a datagram's first byte marks ChannelData (RFC 7983 §7: 64–79).
pub fn is_channel_data(datagram: &[u8]) -> bool {
    matches!(datagram.first(), Some(0x40..=0x4F))
}

/// Bytes of padding that make `len` a multiple of 4.
pub fn padding(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// A decoded ChannelData message borrowing the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    /// The channel number, 0x4000–0x4FFF.
    pub channel: u16,
    /// The application data (without padding).
    pub data: &'a [u8],
}

impl<'a> ChannelData<'a> {
    /// Decodes one ChannelData message from a datagram (or one frame cut from a stream).
    ///
    /// Up to 3 padding bytes after the data are accepted (RFC 8656 §12.5: over UDP padding is
    /// optional), their content ignored.
    pub fn decode(datagram: &'a [u8]) -> Result<ChannelData<'a>, ChannelDataError> {
        ChannelData::decode_with_max(datagram, MAX_CHANNEL)
    }

    /// [`ChannelData::decode`] accepting channel numbers up to `max_channel` (pass
    /// [`LEGACY_MAX_CHANNEL`] to accept RFC 5766 numbers).
    pub fn decode_with_max(
        datagram: &'a [u8],
        max_channel: u16,
    ) -> Result<ChannelData<'a>, ChannelDataError> {
        let [c0, c1, l0, l1, rest @ ..] = datagram else {
            return Err(ChannelDataError::TruncatedHeader {
                len: datagram.len(),
            });
        };
        let channel = u16::from_be_bytes([*c0, *c1]);
        // RFC 8656 §12.6: a ChannelData message on an invalid channel number is discarded.
        if !(MIN_CHANNEL..=max_channel).contains(&channel) {
            return Err(ChannelDataError::InvalidChannelNumber { channel });
        }
        let declared = usize::from(u16::from_be_bytes([*l0, *l1]));
        // RFC 8656 §12.6: a length larger than the datagram means the message is discarded
        // (never read past the end).
        let data = rest
            .get(..declared)
            .ok_or(ChannelDataError::LengthExceedsDatagram {
                declared,
                available: rest.len(),
            })?;
        let extra = rest.len() - declared;
        if extra > 3 {
            return Err(ChannelDataError::TrailingBytes { extra });
        }
        Ok(ChannelData { channel, data })
    }

    /// Bytes this message takes on the wire, with or without padding.
    pub fn encoded_len(&self, padded: bool) -> usize {
        let len = CHANNEL_DATA_HEADER_LEN + self.data.len();
        if padded { len + padding(len) } else { len }
    }

    /// Appends the message to `out` (channel numbers up to [`LEGACY_MAX_CHANNEL`] are
    /// written, so a server can answer RFC 5766 clients); `padded` pads to a multiple of 4 with zeros, which
    /// RFC 8656 §12.5 requires over TCP and TLS.
    pub fn encode(&self, padded: bool, out: &mut Vec<u8>) -> Result<(), ChannelDataError> {
        let len = u16::try_from(self.data.len()).map_err(|_| ChannelDataError::PayloadTooLong {
            len: self.data.len(),
        })?;
        if !(MIN_CHANNEL..=LEGACY_MAX_CHANNEL).contains(&self.channel) {
            return Err(ChannelDataError::InvalidChannelNumber {
                channel: self.channel,
            });
        }
        out.reserve(self.encoded_len(padded));
        out.extend_from_slice(&self.channel.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(self.data);
        if padded {
            out.resize(out.len() + padding(self.data.len()), 0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static PACKET_BYTES: [u8; 9] = [0x40, 0x01, 0x00, 0x05, b'h', b'e', b'l', b'l', b'o'];

    #[test]
    fn test_parse() {
        let cd = ChannelData::decode(&PACKET_BYTES).unwrap();
        assert_eq!(cd.channel, 0x4001);
        assert_eq!(cd.data, b"hello");
        let mut padded = PACKET_BYTES.to_vec();
        padded.extend_from_slice(&[0, 0, 0]);
        assert_eq!(ChannelData::decode(&padded).unwrap(), cd);
    }

    #[test]
    fn test_emit() {
        let cd = ChannelData {
            channel: 0x4001,
            data: b"hello",
        };
        let mut out = Vec::new();
        cd.encode(false, &mut out).unwrap();
        assert_eq!(out, PACKET_BYTES);
        out.clear();
        cd.encode(true, &mut out).unwrap();
        assert_eq!(out.len(), 12);
        assert_eq!(out.len(), cd.encoded_len(true));
        assert_eq!(&out[9..], &[0, 0, 0]);
    }

    #[test]
    fn test_impossible_len() {
        assert_eq!(
            ChannelData::decode(&[0x40, 0x00, 0x00, 0x10, 1, 2]),
            Err(ChannelDataError::LengthExceedsDatagram {
                declared: 16,
                available: 2
            })
        );
        assert_eq!(
            ChannelData::decode(&[0x40, 0x00, 0x00]),
            Err(ChannelDataError::TruncatedHeader { len: 3 })
        );
        assert_eq!(
            ChannelData::decode(&[0x50, 0x00, 0x00, 0x00]),
            Err(ChannelDataError::InvalidChannelNumber { channel: 0x5000 })
        );
        assert!(
            ChannelData::decode_with_max(&[0x50, 0x00, 0x00, 0x00], LEGACY_MAX_CHANNEL).is_ok()
        );
        assert!(
            ChannelData::decode_with_max(&[0x80, 0x00, 0x00, 0x00], LEGACY_MAX_CHANNEL).is_err()
        );
        assert_eq!(
            ChannelData::decode(&[0x40, 0x00, 0x00, 0x00, 0, 0, 0, 0]),
            Err(ChannelDataError::TrailingBytes { extra: 4 })
        );
        let big = vec![0u8; 70_000];
        assert!(
            ChannelData {
                channel: 0x4000,
                data: &big
            }
            .encode(false, &mut Vec::new())
            .is_err()
        );
    }
}
