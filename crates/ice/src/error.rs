//! Errors of the ICE agent.

use tern_stun::{DecodeError, IntegrityError};

/// Why the agent rejected an input. A rejected input never changes the agent's state
/// (beyond, for a request, queueing the STUN error response RFC 8489 asks for).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IceError {
    /// The datagram is not a well-formed STUN message.
    #[error("not a valid STUN message: {0}")]
    Stun(#[from] DecodeError),
    /// The datagram arrived on a local address that is not one of the agent's candidates' bases.
    #[error("datagram arrived on unknown local address")]
    UnknownLocalAddress,
    /// The datagram is not STUN at all (RFC 7983 first-byte test).
    #[error("not a STUN message")]
    NotStun,
    /// A check lacks MESSAGE-INTEGRITY or USERNAME (answered with 400).
    #[error("request lacks {missing}")]
    BadRequest {
        /// Which attribute is missing.
        missing: &'static str,
    },
    /// The USERNAME does not name our ufrag (answered with 401).
    #[error("USERNAME does not match the local or remote ufrag")]
    WrongUsername,
    /// MESSAGE-INTEGRITY does not verify (answered with 401, or the response is dropped).
    #[error("MESSAGE-INTEGRITY check failed: {0}")]
    Integrity(#[from] IntegrityError),
    /// A request carries comprehension-required attributes we do not know (answered with 420).
    #[error("unknown comprehension-required attribute {0:#06x}")]
    UnknownAttribute(u16),
    /// A response matches no transaction we have in flight.
    #[error("response to an unknown transaction")]
    UnknownTransaction,
    /// The message class or method is not one ICE handles.
    #[error("unexpected STUN message type")]
    UnexpectedMessage,
    /// A response came from another address than the request went to, or arrived on another
    /// local address (RFC 8445 §7.2.5.2.1).
    #[error("response addresses are not symmetric with the request")]
    NonSymmetricResponse,
    /// A candidate string could not be parsed.
    #[error("invalid candidate: {reason}")]
    InvalidCandidate {
        /// What was wrong.
        reason: &'static str,
    },
    /// A candidate names an mDNS `.local` host that was not resolved; ignore it.
    #[error("candidate address {hostname} is an unresolved mDNS name")]
    UnresolvedMdnsCandidate {
        /// The hostname.
        hostname: String,
    },
    /// The candidate cannot be used: unspecified, multicast, broadcast, port 0, or not UDP.
    #[error("candidate address is unusable: {reason}")]
    UnusableCandidate {
        /// Why.
        reason: &'static str,
    },
    /// The TURN client rejected a datagram from the server or a relayed send.
    #[error("TURN client: {0}")]
    Turn(#[from] tern_turn::ClientError),
    /// Stream bytes for a TURN server with no TCP relay in this agent.
    #[error("no TCP relay on that TURN server")]
    UnknownRelayServer,
    /// `send_data` without a selected pair.
    #[error("no candidate pair is selected")]
    NoSelectedPair,
    /// Remote candidates were given before remote credentials, for a component we do not have,
    /// or after the agent was closed.
    #[error("agent is closed")]
    Closed,
}
