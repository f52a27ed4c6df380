//! DTLS record header (RFC 6347 §4.1).
//!
//! ```text
//! struct {
//!     ContentType type;          // 1
//!     ProtocolVersion version;   // 2
//!     uint16 epoch;              // 2
//!     uint48 sequence_number;    // 6
//!     uint16 length;             // 2
//!     opaque fragment[length];
//! } DTLSPlaintext;
//! ```

use super::reader::Reader;
use super::{DTLS_1_0, DTLS_1_2};
use crate::error::DtlsError;

/// Record header length.
pub const RECORD_HEADER_LEN: usize = 13;
/// Largest record body accepted: 2^14 + 2048 (RFC 6347 §4.1 / RFC 5246 §6.2.3).
pub const MAX_RECORD_BODY: usize = 16384 + 2048;
/// Largest sequence number in an epoch (48 bits).
pub const MAX_SEQUENCE: u64 = (1 << 48) - 1;

/// Record content types (RFC 5246 §6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// change_cipher_spec(20)
    ChangeCipherSpec,
    /// alert(21)
    Alert,
    /// handshake(22)
    Handshake,
    /// application_data(23)
    ApplicationData,
}

impl ContentType {
    /// Wire code.
    pub fn code(self) -> u8 {
        match self {
            ContentType::ChangeCipherSpec => 20,
            ContentType::Alert => 21,
            ContentType::Handshake => 22,
            ContentType::ApplicationData => 23,
        }
    }

    /// From the wire code.
    pub fn from_code(c: u8) -> Option<Self> {
        match c {
            20 => Some(ContentType::ChangeCipherSpec),
            21 => Some(ContentType::Alert),
            22 => Some(ContentType::Handshake),
            23 => Some(ContentType::ApplicationData),
            _ => None,
        }
    }
}

/// A parsed record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Content type.
    pub content_type: ContentType,
    /// Version on the wire (DTLS 1.0 or 1.2).
    pub version: u16,
    /// Epoch.
    pub epoch: u16,
    /// 48-bit sequence number.
    pub sequence: u64,
    /// Body length.
    pub length: u16,
}

impl RecordHeader {
    /// The 8-byte `epoch || sequence_number` used as AEAD nonce part and in the additional data.
    pub fn epoch_seq(&self) -> [u8; 8] {
        epoch_seq(self.epoch, self.sequence)
    }

    /// Append the 13-byte header.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.content_type.code());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.epoch_seq());
        out.extend_from_slice(&self.length.to_be_bytes());
    }
}

/// `epoch || seq48` as 8 bytes.
pub fn epoch_seq(epoch: u16, sequence: u64) -> [u8; 8] {
    ((u64::from(epoch) << 48) | (sequence & MAX_SEQUENCE)).to_be_bytes()
}

/// One record borrowed from a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// Its header.
    pub header: RecordHeader,
    /// Its body (still protected when epoch > 0).
    pub body: &'a [u8],
}

/// Parse the record at the start of `buf`; returns it and the number of bytes it used.
///
/// `at` is only used in error values (the offset of `buf` in its datagram).
pub fn parse_record(buf: &[u8], at: usize) -> Result<(RecordView<'_>, usize), DtlsError> {
    let mut r = Reader::new(buf);
    let truncated = DtlsError::TruncatedRecord { at };
    let content_type = r.u8().ok_or(truncated)?;
    let version = r.u16().ok_or(truncated)?;
    let epoch = r.u16().ok_or(truncated)?;
    let sequence = r.u48().ok_or(truncated)?;
    let length = r.u16().ok_or(truncated)?;
    let body = r.take(usize::from(length)).ok_or(truncated)?;
    let content_type = ContentType::from_code(content_type)
        .ok_or(DtlsError::UnknownContentType { content_type })?;
    if version != DTLS_1_2 && version != DTLS_1_0 {
        return Err(DtlsError::UnsupportedRecordVersion { version });
    }
    if body.len() > MAX_RECORD_BODY {
        return Err(DtlsError::RecordTooLarge { len: body.len() });
    }
    Ok((
        RecordView {
            header: RecordHeader {
                content_type,
                version,
                epoch,
                sequence,
                length,
            },
            body,
        },
        r.position(),
    ))
}

/// Split a datagram into records. Stops at the first record whose header cannot be read
/// (nothing after it can be framed); records with a bad type or version are reported as
/// errors but framing continues after them.
pub fn split_records(datagram: &[u8]) -> RecordIter<'_> {
    RecordIter {
        buf: datagram,
        pos: 0,
        done: false,
    }
}

/// Iterator of [`split_records`].
#[derive(Debug)]
pub struct RecordIter<'a> {
    buf: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<RecordView<'a>, DtlsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        match parse_record(rest, self.pos) {
            Ok((view, used)) => {
                self.pos = self.pos.saturating_add(used);
                Some(Ok(view))
            }
            Err(e @ DtlsError::TruncatedRecord { .. }) => {
                self.done = true;
                Some(Err(e))
            }
            Err(e) => {
                // The length field is still readable: skip this record and go on.
                let len = rest
                    .get(11..13)
                    .and_then(|b| b.try_into().ok())
                    .map(|b: [u8; 2]| usize::from(u16::from_be_bytes(b)))
                    .unwrap_or(usize::MAX);
                match RECORD_HEADER_LEN.checked_add(len) {
                    Some(n) if n <= rest.len() => self.pos = self.pos.saturating_add(n),
                    _ => self.done = true,
                }
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let h = RecordHeader {
            content_type: ContentType::Handshake,
            version: DTLS_1_2,
            epoch: 1,
            sequence: MAX_SEQUENCE,
            length: 3,
        };
        let mut out = Vec::new();
        h.emit(&mut out);
        out.extend_from_slice(&[7, 8, 9]);
        let (v, used) = parse_record(&out, 0).unwrap();
        assert_eq!(used, 16);
        assert_eq!(v.header, h);
        assert_eq!(v.body, &[7, 8, 9]);
    }

    #[test]
    fn truncated_and_bad_records() {
        assert_eq!(
            parse_record(&[22, 0xfe], 0),
            Err(DtlsError::TruncatedRecord { at: 0 })
        );
        let bad = [99u8, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 5];
        assert_eq!(
            parse_record(&bad, 0),
            Err(DtlsError::UnknownContentType { content_type: 99 })
        );
        let mut two = bad.to_vec();
        two.extend_from_slice(&[23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0]);
        let items: Vec<_> = split_records(&two).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_err());
        assert!(items[1].is_ok());
    }
}
