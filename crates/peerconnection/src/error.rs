//! Errors of the peer connection facade; protocol crates' errors are wrapped with `#[from]`.

use crate::SignalingState;

/// Everything a peer connection call can refuse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The description could not be parsed.
    #[error("invalid session description: {0}")]
    Sdp(#[from] tern_sdp::ParseError),
    /// The description parsed but lacks or contradicts something JSEP requires.
    #[error("unusable session description: {0}")]
    Description(&'static str),
    /// The call is not allowed in this signaling state (W3C `InvalidStateError`).
    #[error("{operation} is not allowed in signaling state {state:?}")]
    InvalidState {
        /// What was attempted.
        operation: &'static str,
        /// The state it was attempted in.
        state: SignalingState,
    },
    /// A remote candidate could not be parsed or used.
    #[error("invalid ICE candidate: {0}")]
    Candidate(String),
    /// The ICE agent refused an input.
    #[error(transparent)]
    Ice(#[from] tern_ice::IceError),
    /// The DTLS endpoint refused an input.
    #[error(transparent)]
    Dtls(#[from] tern_dtls::DtlsError),
    /// The SCTP association refused an input.
    #[error(transparent)]
    Sctp(#[from] tern_sctp::SctpError),
    /// SRTP refused a packet (authentication, replay) or a key.
    #[error(transparent)]
    Srtp(#[from] tern_srtp::SrtpError),
    /// The RTP session refused a packet.
    #[error(transparent)]
    Rtp(#[from] tern_rtp_rtcp::Error),
    /// No such transceiver.
    #[error("no transceiver {0:?}")]
    UnknownTransceiver(crate::TransceiverId),
    /// The transceiver has no negotiated sending direction and codec (yet).
    #[error("transceiver {0:?} is not negotiated to send")]
    NotSending(crate::TransceiverId),
    /// The transceiver receives nothing (yet).
    #[error("transceiver {0:?} receives nothing")]
    NotReceiving(crate::TransceiverId),
    /// No such data channel (never opened, or closed).
    #[error("no data channel {0:?}")]
    UnknownChannel(crate::DataChannelId),
    /// A datagram that no layer accepts on this transport (RFC 7983 ranges), or from a 5-tuple
    /// ICE has not validated.
    #[error("datagram dropped: {0}")]
    Dropped(&'static str),
    /// An `iceServers` URL that cannot be used (W3C `SyntaxError` / `InvalidAccessError`).
    #[error("unusable ICE server {url:?}: {reason}")]
    IceServer {
        /// The URL (at most 200 characters of it).
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The connection is closed.
    #[error("the peer connection is closed")]
    Closed,
}
