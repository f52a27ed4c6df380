//! The 20-byte STUN header: message type (class + method), length, magic cookie, transaction id.

use rand::RngCore;

/// The fixed magic cookie (RFC 8489 §5).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Size of the STUN header.
pub const HEADER_LEN: usize = 20;

/// The class of a STUN message (RFC 8489 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// A request (expects a response).
    Request,
    /// An indication (no response).
    Indication,
    /// A success response.
    SuccessResponse,
    /// An error response.
    ErrorResponse,
}

impl Class {
    fn bits(self) -> u16 {
        match self {
            Class::Request => 0b00,
            Class::Indication => 0b01,
            Class::SuccessResponse => 0b10,
            Class::ErrorResponse => 0b11,
        }
    }

    fn from_bits(bits: u16) -> Class {
        match bits & 0b11 {
            0b00 => Class::Request,
            0b01 => Class::Indication,
            0b10 => Class::SuccessResponse,
            _ => Class::ErrorResponse,
        }
    }
}

/// A STUN method: a 12-bit number. Usages (TURN) define their own with [`Method::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Method(u16);

impl Method {
    /// Binding (RFC 8489 §18.1).
    pub const BINDING: Method = Method(0x001);

    /// A method from its 12-bit number (higher bits are dropped).
    pub const fn new(value: u16) -> Method {
        Method(value & 0x0FFF)
    }

    /// The 12-bit method number.
    pub const fn value(self) -> u16 {
        self.0
    }
}

/// Class and method as carried in the first 14 bits of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType {
    /// The method.
    pub method: Method,
    /// The class.
    pub class: Class,
}

impl MessageType {
    /// Binding request.
    pub const BINDING_REQUEST: MessageType = MessageType::new(Method::BINDING, Class::Request);
    /// Binding success response.
    pub const BINDING_SUCCESS: MessageType =
        MessageType::new(Method::BINDING, Class::SuccessResponse);
    /// Binding error response.
    pub const BINDING_ERROR: MessageType = MessageType::new(Method::BINDING, Class::ErrorResponse);
    /// Binding indication (used as a keepalive, RFC 8445 §11).
    pub const BINDING_INDICATION: MessageType =
        MessageType::new(Method::BINDING, Class::Indication);

    /// A message type from its parts.
    pub const fn new(method: Method, class: Class) -> MessageType {
        MessageType { method, class }
    }

    /// The same method with another class (a request's response type, for instance).
    pub const fn with_class(self, class: Class) -> MessageType {
        MessageType {
            method: self.method,
            class,
        }
    }

    /// The 14-bit wire value: M11..M7 C1 M6..M4 C0 M3..M0 (RFC 8489 §5).
    pub fn to_u16(self) -> u16 {
        let m = self.method.0;
        let c = self.class.bits();
        (m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7)
    }

    /// Parses the wire value; the caller has checked that the top two bits are zero.
    pub fn from_u16(value: u16) -> MessageType {
        let method = (value & 0x000F) | ((value >> 1) & 0x0070) | ((value >> 2) & 0x0F80);
        let class = ((value >> 4) & 1) | ((value >> 7) & 2);
        MessageType {
            method: Method(method),
            class: Class::from_bits(class),
        }
    }
}

/// The 96-bit transaction id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub [u8; 12]);

impl TransactionId {
    /// A fresh id from `rng` (RFC 8489 §6: uniformly and randomly chosen).
    pub fn random<R: RngCore + ?Sized>(rng: &mut R) -> TransactionId {
        let mut id = [0u8; 12];
        rng.fill_bytes(&mut id);
        TransactionId(id)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }
}

/// Whether a datagram is a STUN message, for demultiplexing (RFC 7983 §7: first byte 0..=3),
/// made stricter so that DTLS or RTP never reaches the STUN decoder: the magic cookie must be
/// present and the length field must match the datagram.
pub fn is_stun(datagram: &[u8]) -> bool {
    let Some(header) = datagram.get(..HEADER_LEN) else {
        return false;
    };
    let b = |i: usize| header.get(i).copied().unwrap_or(0);
    let length = usize::from(u16::from_be_bytes([b(2), b(3)]));
    b(0) < 4
        && u32::from_be_bytes([b(4), b(5), b(6), b(7)]) == MAGIC_COOKIE
        && length % 4 == 0
        && length + HEADER_LEN == datagram.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_bits() {
        assert_eq!(MessageType::BINDING_REQUEST.to_u16(), 0x0001);
        assert_eq!(MessageType::BINDING_SUCCESS.to_u16(), 0x0101);
        assert_eq!(MessageType::BINDING_ERROR.to_u16(), 0x0111);
        assert_eq!(MessageType::BINDING_INDICATION.to_u16(), 0x0011);
        // TURN Allocate (0x003) request/response, ChannelBind (0x009) error.
        assert_eq!(
            MessageType::new(Method::new(3), Class::Request).to_u16(),
            0x0003
        );
        assert_eq!(
            MessageType::new(Method::new(3), Class::SuccessResponse).to_u16(),
            0x0103
        );
        assert_eq!(
            MessageType::new(Method::new(9), Class::ErrorResponse).to_u16(),
            0x0119
        );
        for v in 0..0x4000u16 {
            assert_eq!(MessageType::from_u16(v).to_u16(), v);
        }
    }

    #[test]
    fn is_stun_demux() {
        let mut m = vec![0u8; 20];
        m[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
        assert!(is_stun(&m));
        m[0] = 22; // DTLS handshake
        assert!(!is_stun(&m));
        m[0] = 0;
        m[3] = 4; // length says 4, datagram has 0 more
        assert!(!is_stun(&m));
        assert!(!is_stun(&m[..19]));
        assert!(!is_stun(&[]));
    }
}
