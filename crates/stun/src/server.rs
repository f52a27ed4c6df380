//! A stateless STUN binding server (RFC 8489 §6.3): answers Binding requests with
//! XOR-MAPPED-ADDRESS, unknown comprehension-required attributes with 420, everything else
//! that is a request with 400.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use crate::error::DecodeError;
use crate::wire::attributes::{
    ErrorCode, MappedAddress, Software, UnknownAttributes, XorMappedAddress, kind,
};
use crate::wire::encoder::MessageEncoder;
use crate::wire::header::{Class, Method};
use crate::wire::message::Message;

/// A response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTransmit {
    /// The local address to send from (the one the request arrived on).
    pub source: SocketAddr,
    /// Where to send it.
    pub destination: SocketAddr,
    /// The response.
    pub data: Vec<u8>,
}

/// What the server did with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// A response was written.
    Responded,
    /// An indication or a response: nothing to answer (RFC 8489 §6.3.2, §6.3.3).
    Ignored,
}

/// Configuration of a [`BindingServer`].
#[derive(Debug, Clone, Default)]
pub struct BindingServerConfig {
    /// SOFTWARE attribute to add to responses.
    pub software: Option<String>,
    /// Also add MAPPED-ADDRESS (for RFC 3489-era clients that read only it).
    pub mapped_address: bool,
}

/// The largest number of responses queued before the driver drains them.
const MAX_QUEUED: usize = 1024;

/// A stateless binding server. Use [`BindingServer::respond`] directly, or the sans-IO verbs.
#[derive(Debug, Clone, Default)]
pub struct BindingServer {
    config: BindingServerConfig,
    queue: VecDeque<ServerTransmit>,
}

impl BindingServer {
    /// A server.
    pub fn new(config: BindingServerConfig) -> BindingServer {
        BindingServer {
            config,
            queue: VecDeque::new(),
        }
    }

    /// Writes the response to `request` (from `source`) into `out`. Responses carry
    /// FINGERPRINT when the request did.
    pub fn respond(
        &self,
        source: SocketAddr,
        request: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Handled, DecodeError> {
        let msg = Message::decode(request)?;
        let mt = msg.message_type();
        if mt.class != Class::Request {
            return Ok(Handled::Ignored);
        }
        let tid = msg.transaction_id();
        let start = out.len();
        let result = (|| {
            let unknown: Vec<u16> = msg
                .unknown_comprehension_required(kind::is_known)
                .take(32)
                .collect();
            let mut enc;
            if !unknown.is_empty() {
                // RFC 8489 §6.3.1.1: 420 listing the unknown comprehension-required attributes.
                enc = MessageEncoder::new(out, mt.with_class(Class::ErrorResponse), tid);
                enc.add(&ErrorCode::UNKNOWN_ATTRIBUTE)?;
                enc.add(&UnknownAttributes(unknown))?;
            } else if mt.method != Method::BINDING {
                enc = MessageEncoder::new(out, mt.with_class(Class::ErrorResponse), tid);
                enc.add(&ErrorCode::BAD_REQUEST)?;
            } else {
                // RFC 8489 §7.3.1: the success response carries XOR-MAPPED-ADDRESS.
                enc = MessageEncoder::new(out, mt.with_class(Class::SuccessResponse), tid);
                enc.add(&XorMappedAddress(source))?;
                if self.config.mapped_address {
                    enc.add(&MappedAddress(source))?;
                }
            }
            if let Some(software) = &self.config.software {
                enc.add(&Software(software))?;
            }
            if msg.has_fingerprint() {
                enc.add_fingerprint()?;
            } else {
                enc.finish();
            }
            Ok::<(), crate::EncodeError>(())
        })();
        if result.is_err() {
            out.truncate(start);
            return Ok(Handled::Ignored);
        }
        Ok(Handled::Responded)
    }

    /// Sans-IO input: a datagram arrived on `local` from `remote`.
    pub fn handle_receive(
        &mut self,
        _now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), DecodeError> {
        let mut data = Vec::with_capacity(64);
        if self.respond(remote, datagram, &mut data)? == Handled::Responded
            && self.queue.len() < MAX_QUEUED
        {
            self.queue.push_back(ServerTransmit {
                source: local,
                destination: remote,
                data,
            });
        }
        Ok(())
    }

    /// The next response to send.
    pub fn poll_transmit(&mut self) -> Option<ServerTransmit> {
        self.queue.pop_front()
    }

    /// The server has no timers.
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MessageType, TransactionId};

    #[test]
    fn answers_binding_and_420_and_ignores_indications() {
        let s = BindingServer::new(BindingServerConfig {
            software: Some("tern".into()),
            mapped_address: true,
        });
        let from: SocketAddr = "198.51.100.7:4444".parse().unwrap();
        let mut req = Vec::new();
        let e = MessageEncoder::new(
            &mut req,
            MessageType::BINDING_REQUEST,
            TransactionId([1; 12]),
        );
        e.add_fingerprint().unwrap();
        let mut out = Vec::new();
        assert_eq!(s.respond(from, &req, &mut out).unwrap(), Handled::Responded);
        let m = Message::decode(&out).unwrap();
        assert_eq!(m.message_type(), MessageType::BINDING_SUCCESS);
        assert_eq!(
            m.get::<XorMappedAddress>().unwrap(),
            Some(XorMappedAddress(from))
        );
        assert_eq!(m.get::<MappedAddress>().unwrap(), Some(MappedAddress(from)));
        assert!(m.has_fingerprint());

        let mut req = Vec::new();
        let mut e = MessageEncoder::new(
            &mut req,
            MessageType::BINDING_REQUEST,
            TransactionId([2; 12]),
        );
        e.add_raw(0x0777, b"x").unwrap();
        e.finish();
        let mut out = Vec::new();
        s.respond(from, &req, &mut out).unwrap();
        let m = Message::decode(&out).unwrap();
        assert_eq!(m.message_type(), MessageType::BINDING_ERROR);
        assert_eq!(m.get::<ErrorCode>().unwrap().unwrap().code, 420);
        assert_eq!(
            m.get::<UnknownAttributes>().unwrap(),
            Some(UnknownAttributes(vec![0x0777]))
        );

        let mut ind = Vec::new();
        MessageEncoder::new(
            &mut ind,
            MessageType::BINDING_INDICATION,
            TransactionId([3; 12]),
        )
        .finish();
        let mut out = Vec::new();
        assert_eq!(s.respond(from, &ind, &mut out).unwrap(), Handled::Ignored);
        assert!(out.is_empty());
        assert!(s.respond(from, b"\x16\xfe\xfd", &mut out).is_err());
    }
}
