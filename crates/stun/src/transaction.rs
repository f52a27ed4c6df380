//! Client transactions (RFC 8489 §6.2): retransmission over UDP with a doubling RTO, Rc
//! transmissions and a final wait of Rm × RTO; a single send and Ti = 39.5 s over reliable
//! transports. [`StunClient`] runs many at once, matching responses by transaction id.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::wire::header::TransactionId;
use crate::wire::message::Message;

/// Timers of a client transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionConfig {
    /// Initial retransmission timeout (RFC 8489 §6.2.1: 500 ms recommended).
    pub rto: Duration,
    /// Total transmissions over UDP (Rc, 7).
    pub max_transmissions: u32,
    /// The last wait is this many RTOs (Rm, 16).
    pub last_wait_rtos: u32,
    /// Timeout over a reliable transport (Ti, 39.5 s, RFC 8489 §6.2.2).
    pub reliable_timeout: Duration,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        TransactionConfig {
            rto: Duration::from_millis(500),
            max_transmissions: 7,
            last_wait_rtos: 16,
            reliable_timeout: Duration::from_millis(39_500),
        }
    }
}

/// The transport a transaction runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliability {
    /// UDP: retransmit.
    Unreliable,
    /// TCP/TLS: send once, wait Ti.
    Reliable,
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionOutcome {
    /// A response (success or error) arrived: its bytes.
    Response(Vec<u8>),
    /// No response within the timeout.
    TimedOut,
}

/// One client transaction, sans-IO.
#[derive(Debug, Clone)]
pub struct ClientTransaction {
    id: TransactionId,
    request: Vec<u8>,
    config: TransactionConfig,
    reliability: Reliability,
    transmissions: u32,
    rto: Duration,
    next_at: Instant,
    send_now: bool,
    outcome: Option<TransactionOutcome>,
}

fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

impl ClientTransaction {
    /// Starts a transaction for an encoded request (its transaction id is read from it).
    /// Returns `None` if `request` is not a decodable STUN request.
    pub fn new(
        now: Instant,
        request: Vec<u8>,
        reliability: Reliability,
        config: TransactionConfig,
    ) -> Option<ClientTransaction> {
        let id = Message::decode(&request).ok()?.transaction_id();
        Some(ClientTransaction {
            id,
            request,
            config,
            reliability,
            transmissions: 0,
            rto: config.rto,
            next_at: now,
            send_now: true,
            outcome: None,
        })
    }

    /// The transaction id.
    pub fn id(&self) -> TransactionId {
        self.id
    }

    /// The request to (re)send, once per transmission.
    pub fn poll_transmit(&mut self) -> Option<&[u8]> {
        if self.send_now && self.outcome.is_none() {
            self.send_now = false;
            Some(&self.request)
        } else {
            None
        }
    }

    /// When to call [`handle_timeout`](Self::handle_timeout).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.outcome.is_some() {
            None
        } else {
            Some(self.next_at)
        }
    }

    /// Advances the timers: schedules a retransmission or ends the transaction.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.outcome.is_some() || now < self.next_at {
            return;
        }
        let limit = match self.reliability {
            Reliability::Unreliable => self.config.max_transmissions.max(1),
            Reliability::Reliable => 1,
        };
        if self.transmissions >= limit {
            self.outcome = Some(TransactionOutcome::TimedOut);
            return;
        }
        self.transmissions += 1;
        self.send_now = true;
        self.next_at = match self.reliability {
            Reliability::Reliable => after(now, self.config.reliable_timeout),
            Reliability::Unreliable if self.transmissions >= limit => {
                // RFC 8489 §6.2.1: after the last request, wait Rm × RTO.
                after(
                    now,
                    self.config.rto.saturating_mul(self.config.last_wait_rtos),
                )
            }
            Reliability::Unreliable => {
                let wait = self.rto;
                self.rto = self.rto.saturating_mul(2);
                after(now, wait)
            }
        };
    }

    /// Offers a response; returns whether it belonged to this transaction (RFC 8489 §6.3:
    /// matched by transaction id). Integrity checks are the caller's (they depend on the usage).
    pub fn handle_response(&mut self, response: &Message<'_>) -> bool {
        if self.outcome.is_some() || response.transaction_id() != self.id {
            return false;
        }
        if !matches!(
            response.message_type().class,
            crate::Class::SuccessResponse | crate::Class::ErrorResponse
        ) {
            return false;
        }
        self.outcome = Some(TransactionOutcome::Response(response.as_bytes().to_vec()));
        true
    }

    /// The outcome, once there is one.
    pub fn outcome(&self) -> Option<&TransactionOutcome> {
        self.outcome.as_ref()
    }
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: SocketAddr,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Events of a [`StunClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientEvent {
    /// The transaction.
    pub id: TransactionId,
    /// The server it went to.
    pub server: SocketAddr,
    /// Its outcome.
    pub outcome: TransactionOutcome,
}

/// Why a [`StunClient`] refused a request or a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// Too many transactions in flight.
    #[error("too many transactions in flight ({max})")]
    TooManyTransactions {
        /// The limit.
        max: usize,
    },
    /// The request could not be decoded.
    #[error("the request is not a STUN request")]
    InvalidRequest,
    /// The datagram is not a STUN message.
    #[error(transparent)]
    Decode(#[from] crate::DecodeError),
    /// A response that matches no transaction in flight (or came from another address).
    #[error("response matches no transaction")]
    UnknownTransaction,
}

/// Many client transactions over one socket, sans-IO.
#[derive(Debug)]
pub struct StunClient {
    config: TransactionConfig,
    max_in_flight: usize,
    transactions: Vec<(SocketAddr, ClientTransaction)>,
    events: VecDeque<ClientEvent>,
}

impl StunClient {
    /// A client with at most `max_in_flight` concurrent transactions.
    pub fn new(config: TransactionConfig, max_in_flight: usize) -> StunClient {
        StunClient {
            config,
            max_in_flight,
            transactions: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// Starts a transaction sending `request` to `server` over UDP.
    pub fn send_request(
        &mut self,
        now: Instant,
        server: SocketAddr,
        request: Vec<u8>,
    ) -> Result<TransactionId, ClientError> {
        if self.transactions.len() >= self.max_in_flight {
            return Err(ClientError::TooManyTransactions {
                max: self.max_in_flight,
            });
        }
        let mut t = ClientTransaction::new(now, request, Reliability::Unreliable, self.config)
            .ok_or(ClientError::InvalidRequest)?;
        t.handle_timeout(now);
        let id = t.id();
        self.transactions.push((server, t));
        Ok(id)
    }

    /// A datagram from `from`: a response completes its transaction.
    pub fn handle_receive(
        &mut self,
        _now: Instant,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), ClientError> {
        let msg = Message::decode(datagram)?;
        let index = self
            .transactions
            .iter()
            .position(|(server, t)| *server == from && t.id() == msg.transaction_id())
            .ok_or(ClientError::UnknownTransaction)?;
        let (server, mut t) = self.transactions.swap_remove(index);
        if t.handle_response(&msg) {
            self.events.push_back(ClientEvent {
                id: t.id(),
                server,
                outcome: TransactionOutcome::Response(datagram.to_vec()),
            });
            Ok(())
        } else {
            self.transactions.push((server, t));
            Err(ClientError::UnknownTransaction)
        }
    }

    /// Timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut i = 0;
        while let Some((server, t)) = self.transactions.get_mut(i) {
            t.handle_timeout(now);
            if let Some(outcome) = t.outcome().cloned() {
                let (id, server) = (t.id(), *server);
                self.transactions.swap_remove(i);
                self.events.push_back(ClientEvent {
                    id,
                    server,
                    outcome,
                });
            } else {
                i += 1;
            }
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transactions.iter_mut().find_map(|(server, t)| {
            t.poll_transmit().map(|d| Transmit {
                destination: *server,
                data: d.to_vec(),
            })
        })
    }

    /// The next finished transaction.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.transactions
            .iter()
            .filter_map(|(_, t)| t.poll_timeout())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MessageEncoder, MessageType};

    fn request() -> Vec<u8> {
        let mut buf = Vec::new();
        MessageEncoder::new(
            &mut buf,
            MessageType::BINDING_REQUEST,
            TransactionId([5; 12]),
        )
        .finish();
        buf
    }

    /// RFC 8489 §6.2.1's example: with RTO 500 ms, requests at 0, 500, 1500, 3500, 7500, 15500
    /// and 31500 ms, and failure at 39500 ms.
    #[test]
    fn rfc8489_retransmission_schedule() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut t = ClientTransaction::new(
            t0,
            request(),
            Reliability::Unreliable,
            TransactionConfig::default(),
        )
        .unwrap();
        let mut sent = Vec::new();
        let mut now = t0;
        loop {
            t.handle_timeout(now);
            if t.poll_transmit().is_some() {
                sent.push((now - t0).as_millis());
            }
            match t.poll_timeout() {
                Some(next) => now = next,
                None => break,
            }
        }
        assert_eq!(sent, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
        assert_eq!((now - t0).as_millis(), 39500);
        assert_eq!(t.outcome(), Some(&TransactionOutcome::TimedOut));
    }

    #[test]
    fn reliable_sends_once_and_waits_ti() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut t = ClientTransaction::new(
            t0,
            request(),
            Reliability::Reliable,
            TransactionConfig::default(),
        )
        .unwrap();
        t.handle_timeout(t0);
        assert!(t.poll_transmit().is_some());
        assert_eq!(t.poll_timeout(), Some(t0 + Duration::from_millis(39_500)));
        t.handle_timeout(t0 + Duration::from_millis(39_499));
        assert!(t.poll_transmit().is_none());
        t.handle_timeout(t0 + Duration::from_millis(39_500));
        assert_eq!(t.outcome(), Some(&TransactionOutcome::TimedOut));
    }

    #[test]
    fn client_matches_by_id_and_source() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let server: SocketAddr = "192.0.2.1:3478".parse().unwrap();
        let mut c = StunClient::new(TransactionConfig::default(), 4);
        let id = c.send_request(t0, server, request()).unwrap();
        assert_eq!(c.poll_transmit().unwrap().destination, server);
        assert!(c.poll_transmit().is_none());
        let mut resp = Vec::new();
        MessageEncoder::new(&mut resp, MessageType::BINDING_SUCCESS, id).finish();
        let other: SocketAddr = "192.0.2.9:3478".parse().unwrap();
        assert_eq!(
            c.handle_receive(t0, other, &resp),
            Err(ClientError::UnknownTransaction)
        );
        c.handle_receive(t0, server, &resp).unwrap();
        let e = c.poll_event().unwrap();
        assert_eq!(e.id, id);
        assert!(matches!(e.outcome, TransactionOutcome::Response(_)));
        assert_eq!(c.poll_timeout(), None);
        for _ in 0..4 {
            c.send_request(t0, server, request()).unwrap();
        }
        assert!(matches!(
            c.send_request(t0, server, request()),
            Err(ClientError::TooManyTransactions { .. })
        ));
    }
}
