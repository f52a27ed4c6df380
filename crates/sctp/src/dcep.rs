//! Data Channel Establishment Protocol messages (RFC 8832 §5) and data-channel types.

use std::time::Duration;

use crate::error::DcepError;

/// PPID of DCEP messages (RFC 8832 §8.1).
pub const PPID_DCEP: u32 = 50;
/// PPID of a non-empty UTF-8 message (RFC 8831 §8).
pub const PPID_STRING: u32 = 51;
/// PPID of a non-empty binary message.
pub const PPID_BINARY: u32 = 53;
/// PPID of an empty UTF-8 message (payload is one ignored byte).
pub const PPID_STRING_EMPTY: u32 = 56;
/// PPID of an empty binary message (payload is one ignored byte).
pub const PPID_BINARY_EMPTY: u32 = 57;

const MSG_OPEN: u8 = 0x03;
const MSG_ACK: u8 = 0x02;

/// Reliability of a data channel (RFC 8831 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliability {
    /// Fully reliable.
    Reliable,
    /// Abandon a message after this many retransmissions (0 = never retransmit).
    MaxRetransmits(u16),
    /// Abandon a message this long after `send`.
    MaxPacketLifetime(Duration),
}

/// How to open a data channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInit {
    /// Label.
    pub label: String,
    /// Sub-protocol.
    pub protocol: String,
    /// Ordered delivery.
    pub ordered: bool,
    /// Reliability.
    pub reliability: Reliability,
    /// Pre-agreed stream id (negotiated out of band; no DCEP).
    pub negotiated_id: Option<u16>,
    /// Priority (RFC 8832 §5.1).
    pub priority: u16,
}

impl Default for ChannelInit {
    fn default() -> Self {
        ChannelInit {
            label: String::new(),
            protocol: String::new(),
            ordered: true,
            reliability: Reliability::Reliable,
            negotiated_id: None,
            priority: 256,
        }
    }
}

impl ChannelInit {
    /// RFC 8832 §5.1 channel type and reliability parameter.
    pub fn channel_type(&self) -> (u8, u32) {
        let unordered = if self.ordered { 0 } else { 0x80 };
        match self.reliability {
            Reliability::Reliable => (unordered, 0),
            Reliability::MaxRetransmits(n) => (unordered | 0x01, u32::from(n)),
            Reliability::MaxPacketLifetime(d) => (
                unordered | 0x02,
                u32::try_from(d.as_millis()).unwrap_or(u32::MAX),
            ),
        }
    }
}

/// A decoded DCEP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcepMessage {
    /// DATA_CHANNEL_OPEN.
    Open(ChannelInit),
    /// DATA_CHANNEL_ACK.
    Ack,
}

impl DcepMessage {
    /// Decode a DCEP message.
    pub fn parse(b: &[u8]) -> Result<Self, DcepError> {
        let truncated = DcepError::Truncated { len: b.len() };
        match b.first() {
            Some(&MSG_ACK) => Ok(DcepMessage::Ack),
            Some(&MSG_OPEN) => {
                let fixed = b.get(..12).ok_or(truncated)?;
                let field16 = |at: usize| {
                    fixed
                        .get(at..at + 2)
                        .and_then(|s| <[u8; 2]>::try_from(s).ok())
                        .map(u16::from_be_bytes)
                };
                let ty = *fixed.get(1).ok_or(truncated)?;
                let priority = field16(2).ok_or(truncated)?;
                let param = fixed
                    .get(4..8)
                    .and_then(|s| <[u8; 4]>::try_from(s).ok())
                    .map(u32::from_be_bytes)
                    .ok_or(truncated)?;
                let label_len = field16(8).ok_or(truncated)?;
                let proto_len = field16(10).ok_or(truncated)?;
                let rest = b.get(12..).unwrap_or(&[]);
                let (ll, pl) = (usize::from(label_len), usize::from(proto_len));
                // RFC 8832 §5.1: the lengths must fit the message.
                let (Some(label), Some(protocol)) = (rest.get(..ll), rest.get(ll..ll + pl)) else {
                    return Err(DcepError::LengthPastEnd {
                        label: label_len,
                        protocol: proto_len,
                        available: rest.len(),
                    });
                };
                let ordered = ty & 0x80 == 0;
                let reliability = match ty & 0x7f {
                    0x00 => Reliability::Reliable,
                    0x01 => Reliability::MaxRetransmits(u16::try_from(param).unwrap_or(u16::MAX)),
                    0x02 => Reliability::MaxPacketLifetime(Duration::from_millis(u64::from(param))),
                    _ => return Err(DcepError::UnknownChannelType(ty)),
                };
                Ok(DcepMessage::Open(ChannelInit {
                    label: std::str::from_utf8(label)
                        .map_err(|_| DcepError::NotUtf8)?
                        .to_owned(),
                    protocol: std::str::from_utf8(protocol)
                        .map_err(|_| DcepError::NotUtf8)?
                        .to_owned(),
                    ordered,
                    reliability,
                    negotiated_id: None,
                    priority,
                }))
            }
            Some(&other) => Err(DcepError::UnknownMessageType(other)),
            None => Err(truncated),
        }
    }

    /// Encode.
    pub fn emit(&self) -> Vec<u8> {
        match self {
            DcepMessage::Ack => vec![MSG_ACK],
            DcepMessage::Open(init) => {
                let (ty, param) = init.channel_type();
                let label = init.label.as_bytes();
                let proto = init.protocol.as_bytes();
                let ll = u16::try_from(label.len()).unwrap_or(u16::MAX);
                let pl = u16::try_from(proto.len()).unwrap_or(u16::MAX);
                let mut v = Vec::with_capacity(12 + label.len() + proto.len());
                v.push(MSG_OPEN);
                v.push(ty);
                v.extend_from_slice(&init.priority.to_be_bytes());
                v.extend_from_slice(&param.to_be_bytes());
                v.extend_from_slice(&ll.to_be_bytes());
                v.extend_from_slice(&pl.to_be_bytes());
                v.extend_from_slice(label.get(..usize::from(ll)).unwrap_or(&[]));
                v.extend_from_slice(proto.get(..usize::from(pl)).unwrap_or(&[]));
                v
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_roundtrip_all_types() {
        for (ordered, reliability) in [
            (true, Reliability::Reliable),
            (false, Reliability::Reliable),
            (true, Reliability::MaxRetransmits(3)),
            (false, Reliability::MaxRetransmits(0)),
            (
                true,
                Reliability::MaxPacketLifetime(Duration::from_millis(150)),
            ),
            (
                false,
                Reliability::MaxPacketLifetime(Duration::from_millis(1)),
            ),
        ] {
            let init = ChannelInit {
                label: "chat".into(),
                protocol: "proto/1".into(),
                ordered,
                reliability,
                negotiated_id: None,
                priority: 512,
            };
            let m = DcepMessage::Open(init);
            assert_eq!(DcepMessage::parse(&m.emit()).unwrap(), m);
        }
    }

    // RFC 8832 §5.1 layout, written out by hand: reliable ordered, priority 0, label "a".
    #[test]
    fn open_vector() {
        let bytes = [3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, b'a'];
        let DcepMessage::Open(init) = DcepMessage::parse(&bytes).unwrap() else {
            panic!()
        };
        assert_eq!(init.label, "a");
        assert!(init.ordered);
        assert_eq!(init.reliability, Reliability::Reliable);
    }

    #[test]
    fn bad_lengths_and_types() {
        let bytes = [3, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, b'a'];
        assert!(matches!(
            DcepMessage::parse(&bytes),
            Err(DcepError::LengthPastEnd { .. })
        ));
        let bytes = [3, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            DcepMessage::parse(&bytes),
            Err(DcepError::UnknownChannelType(5))
        );
        assert!(DcepMessage::parse(&[]).is_err());
        assert!(DcepMessage::parse(&[3, 0]).is_err());
        assert_eq!(
            DcepMessage::parse(&[9]),
            Err(DcepError::UnknownMessageType(9))
        );
    }
}
