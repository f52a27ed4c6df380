//! One allocation's state on the server: relay address, lifetime, permissions, channels and
//! bandwidth bucket.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tern_stun::TransactionId;

use super::auth::SessionKey;

use crate::config::BandwidthLimit;
use crate::transport::Transport;

/// The client side of an allocation: client address, server address and transport
/// (RFC 8656 §2, "5-tuple").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FiveTuple {
    /// The client's address as the server sees it.
    pub client: SocketAddr,
    /// The server address the client talks to.
    pub server: SocketAddr,
    /// UDP or TCP.
    pub transport: Transport,
}

/// An Allocate waiting for the runner to open its relay socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingAllocate {
    pub tid: TransactionId,
    /// Whether to report ADDRESS-ERROR-CODE 440 for an unsupported additional IPv6 family.
    pub additional_family_refused: bool,
    /// Relay ports tried so far.
    pub attempts: u8,
    pub even_port: bool,
    /// EVEN-PORT's R bit: reserve the next port too.
    pub reserve_next: bool,
    /// EVEN-PORT with the R bit: the token naming the reserved next port, for the response.
    pub reservation: Option<[u8; 8]>,
    /// The relay address came from a RESERVATION-TOKEN (no other port may replace it).
    pub from_token: bool,
}

/// A channel binding (RFC 8656 §12).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Binding {
    pub peer: SocketAddr,
    pub expires: Instant,
}

/// A token bucket on relayed bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenBucket {
    limit: BandwidthLimit,
    tokens: u64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(limit: BandwidthLimit, now: Instant) -> TokenBucket {
        TokenBucket {
            limit,
            tokens: limit.burst_bytes,
            last: now,
        }
    }

    /// Takes `bytes` tokens if there are enough; refills by elapsed time first.
    pub(crate) fn take(&mut self, now: Instant, bytes: usize) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        let refill = u128::from(self.limit.bytes_per_second) * elapsed.as_nanos() / 1_000_000_000;
        if refill > 0 {
            self.tokens = u64::try_from(u128::from(self.tokens) + refill)
                .unwrap_or(u64::MAX)
                .min(self.limit.burst_bytes);
            self.last = now;
        }
        let bytes = bytes as u64;
        if self.tokens >= bytes {
            self.tokens -= bytes;
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Allocation {
    pub username: String,
    pub key: SessionKey,
    pub relay: SocketAddr,
    /// `Some` until the relay socket is open and the success response sent.
    pub pending: Option<PendingAllocate>,
    pub expires: Instant,
    pub permissions: HashMap<IpAddr, Instant>,
    pub channels: HashMap<u16, Binding>,
    pub peer_channels: HashMap<SocketAddr, u16>,
    pub bucket: Option<TokenBucket>,
    /// The last response sent, for answering a retransmitted request (RFC 8489 §6.3.1).
    pub last_response: Option<(TransactionId, Vec<u8>)>,
}

impl Allocation {
    pub(crate) fn has_permission(&self, ip: IpAddr, now: Instant) -> bool {
        self.permissions.get(&ip).is_some_and(|e| *e > now)
    }

    /// The live channel bound to `peer`.
    pub(crate) fn channel_for(&self, peer: SocketAddr, now: Instant) -> Option<u16> {
        let number = *self.peer_channels.get(&peer)?;
        self.channels
            .get(&number)
            .filter(|b| b.expires > now)
            .map(|_| number)
    }

    /// The peer of live channel `number`.
    pub(crate) fn peer_for(&self, number: u16, now: Instant) -> Option<SocketAddr> {
        self.channels
            .get(&number)
            .filter(|b| b.expires > now)
            .map(|b| b.peer)
    }

    pub(crate) fn charge(&mut self, now: Instant, bytes: usize) -> bool {
        match &mut self.bucket {
            Some(b) => b.take(now, bytes),
            None => true,
        }
    }

    /// Drops expired permissions and channels.
    pub(crate) fn prune(&mut self, now: Instant) {
        self.permissions.retain(|_, e| *e > now);
        let peer_channels = &mut self.peer_channels;
        self.channels.retain(|_, b| {
            let live = b.expires > now;
            if !live {
                peer_channels.remove(&b.peer);
            }
            live
        });
    }

    pub(crate) fn remaining(&self, now: Instant) -> Duration {
        self.expires.saturating_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // a base instant for virtual time
    fn token_bucket_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(
            BandwidthLimit {
                bytes_per_second: 1000,
                burst_bytes: 1500,
            },
            t0,
        );
        assert!(b.take(t0, 1500));
        assert!(!b.take(t0, 1));
        assert!(b.take(t0 + Duration::from_millis(500), 500));
        assert!(!b.take(t0 + Duration::from_millis(500), 1));
        assert!(b.take(t0 + Duration::from_secs(100), 1500));
    }
}
