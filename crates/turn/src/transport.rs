//! The transport between a TURN client and its server.

/// How a client reaches the server (RFC 8656 §3.1). The relayed transport is always UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    /// UDP: one message per datagram, requests retransmitted.
    #[default]
    Udp,
    /// TCP: a byte stream; ChannelData padded to 4 bytes, no retransmissions.
    Tcp,
}

impl Transport {
    /// Whether messages travel on a byte stream (ChannelData must then be padded).
    pub fn is_stream(self) -> bool {
        matches!(self, Transport::Tcp)
    }
}
