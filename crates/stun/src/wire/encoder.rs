//! Writes a STUN message into a caller's buffer.

use crate::error::EncodeError;
use crate::integrity::{
    IntegrityKey, MESSAGE_INTEGRITY_LEN, MESSAGE_INTEGRITY_SHA256_LEN, fingerprint,
};
use crate::wire::attributes::{Attribute, kind};
use crate::wire::header::{HEADER_LEN, MAGIC_COOKIE, MessageType, TransactionId};

/// Largest message body: the 16-bit length field, rounded down to a multiple of 4.
const MAX_BODY: usize = 0xFFFC;

/// Appends one STUN message to a `Vec<u8>`; the header length is kept current after each call,
/// so the buffer always holds a valid message.
///
/// ```
/// use tern_stun::{IntegrityKey, Message, MessageEncoder, MessageType, TransactionId};
/// use tern_stun::attributes::{Priority, Username};
/// let key = IntegrityKey::short_term("pass");
/// let mut buf = Vec::new();
/// let mut enc = MessageEncoder::new(&mut buf, MessageType::BINDING_REQUEST, TransactionId([1; 12]));
/// enc.add(&Username("them:us")).unwrap();
/// enc.add(&Priority(1)).unwrap();
/// enc.add_message_integrity(&key).unwrap();
/// enc.add_fingerprint().unwrap();
/// let msg = Message::decode(&buf).unwrap();
/// assert!(msg.verify_integrity(&key).is_ok());
/// ```
#[derive(Debug)]
pub struct MessageEncoder<'b> {
    out: &'b mut Vec<u8>,
    start: usize,
    transaction_id: TransactionId,
}

impl<'b> MessageEncoder<'b> {
    /// Starts a message at the end of `out`.
    pub fn new(
        out: &'b mut Vec<u8>,
        message_type: MessageType,
        transaction_id: TransactionId,
    ) -> Self {
        let start = out.len();
        out.reserve(128);
        out.extend_from_slice(&message_type.to_u16().to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        out.extend_from_slice(&transaction_id.0);
        MessageEncoder {
            out,
            start,
            transaction_id,
        }
    }

    /// The transaction id being written.
    pub fn transaction_id(&self) -> TransactionId {
        self.transaction_id
    }

    fn body_len(&self) -> usize {
        self.out.len() - self.start - HEADER_LEN
    }

    fn set_length(&mut self, len: usize) {
        let bytes = (len as u16).to_be_bytes();
        if let Some(field) = self.out.get_mut(self.start + 2..self.start + 4) {
            field.copy_from_slice(&bytes);
        }
    }

    /// Writes an attribute header, lets `write` append the value, then fixes the length and
    /// pads with zeros (RFC 8489 §14: padding bytes MUST be ignored by receivers, and we always
    /// send zeros). On failure the buffer is put back as it was.
    fn attribute_with<F>(&mut self, attribute: u16, write: F) -> Result<(), EncodeError>
    where
        F: FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
    {
        let header_at = self.out.len();
        self.out.extend_from_slice(&attribute.to_be_bytes());
        self.out.extend_from_slice(&[0, 0]);
        let result = write(self.out).and_then(|()| {
            let len = self.out.len() - header_at - 4;
            let len16 =
                u16::try_from(len).map_err(|_| EncodeError::AttributeTooLong { attribute, len })?;
            let padded = header_at + 4 + ((len + 3) & !3);
            let body = padded - self.start - HEADER_LEN;
            if body > MAX_BODY {
                return Err(EncodeError::MessageTooLong { len: body });
            }
            if let Some(field) = self.out.get_mut(header_at + 2..header_at + 4) {
                field.copy_from_slice(&len16.to_be_bytes());
            }
            // Up to 3 padding bytes: pushed, not `resize`d (which calls memset).
            while self.out.len() < padded {
                self.out.push(0);
            }
            Ok(())
        });
        match result {
            Ok(()) => {
                let body = self.body_len();
                self.set_length(body);
                Ok(())
            }
            Err(e) => {
                self.out.truncate(header_at);
                Err(e)
            }
        }
    }

    /// Adds a typed attribute.
    pub fn add<'a, A: Attribute<'a>>(&mut self, attribute: &A) -> Result<(), EncodeError> {
        let tid = self.transaction_id;
        self.attribute_with(A::TYPE, |out| attribute.encode(&tid, out))
    }

    /// Adds an attribute from raw value bytes (the generic way for types this crate does not model).
    pub fn add_raw(&mut self, attribute: u16, value: &[u8]) -> Result<(), EncodeError> {
        self.attribute_with(attribute, |out| {
            out.extend_from_slice(value);
            Ok(())
        })
    }

    /// Adds MESSAGE-INTEGRITY: HMAC-SHA1 over the message so far with the length field counting
    /// the MESSAGE-INTEGRITY attribute itself (RFC 8489 §14.5).
    pub fn add_message_integrity(&mut self, key: &IntegrityKey) -> Result<(), EncodeError> {
        let body = self.body_len() + 4 + MESSAGE_INTEGRITY_LEN;
        if body > MAX_BODY {
            return Err(EncodeError::MessageTooLong { len: body });
        }
        self.set_length(body);
        let mac = key.hmac_sha1(&[self.out.get(self.start..).unwrap_or(&[])]);
        self.out
            .extend_from_slice(&kind::MESSAGE_INTEGRITY.to_be_bytes());
        self.out
            .extend_from_slice(&(MESSAGE_INTEGRITY_LEN as u16).to_be_bytes());
        self.out.extend_from_slice(&mac);
        Ok(())
    }

    /// Adds MESSAGE-INTEGRITY-SHA256 (full 32 bytes, RFC 8489 §14.6).
    pub fn add_message_integrity_sha256(&mut self, key: &IntegrityKey) -> Result<(), EncodeError> {
        let body = self.body_len() + 4 + MESSAGE_INTEGRITY_SHA256_LEN;
        if body > MAX_BODY {
            return Err(EncodeError::MessageTooLong { len: body });
        }
        self.set_length(body);
        let mac = key.hmac_sha256(&[self.out.get(self.start..).unwrap_or(&[])]);
        self.out
            .extend_from_slice(&kind::MESSAGE_INTEGRITY_SHA256.to_be_bytes());
        self.out
            .extend_from_slice(&(MESSAGE_INTEGRITY_SHA256_LEN as u16).to_be_bytes());
        self.out.extend_from_slice(&mac);
        Ok(())
    }

    /// Adds FINGERPRINT, which must be the last attribute (RFC 8489 §14.7), and returns the
    /// finished message length.
    pub fn add_fingerprint(mut self) -> Result<usize, EncodeError> {
        let body = self.body_len() + 8;
        if body > MAX_BODY {
            return Err(EncodeError::MessageTooLong { len: body });
        }
        self.set_length(body);
        let crc = fingerprint(self.out.get(self.start..).unwrap_or(&[]));
        self.out.extend_from_slice(&kind::FINGERPRINT.to_be_bytes());
        self.out.extend_from_slice(&4u16.to_be_bytes());
        self.out.extend_from_slice(&crc.to_be_bytes());
        Ok(self.finish())
    }

    /// Ends the message (without FINGERPRINT) and returns its length.
    pub fn finish(self) -> usize {
        self.out.len() - self.start
    }
}
