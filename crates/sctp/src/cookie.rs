//! The State Cookie (RFC 9260 §5.1.3): everything needed to build the TCB, signed with
//! HMAC-SHA256 under a per-association secret, so that an INIT costs no state (§5.1.3, §5.1.5).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::wire::be32;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const BODY_LEN: usize = 1 + 8 + 4 * 5 + 2 * 4 + 1 + 4;
const MAC_LEN: usize = 32;
/// Encoded cookie length.
pub const COOKIE_LEN: usize = BODY_LEN + MAC_LEN;

/// Peer capability bits carried in the cookie.
pub mod caps {
    /// FORWARD-TSN.
    pub const FORWARD_TSN: u8 = 1;
    /// RE-CONFIG.
    pub const RECONFIG: u8 = 2;
    /// I-DATA.
    pub const INTERLEAVING: u8 = 4;
    /// Zero Checksum Acceptable (EDMID DTLS).
    pub const ZERO_CHECKSUM: u8 = 8;
}

/// TCB seed carried in the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cookie {
    /// Milliseconds since the association's epoch when the cookie was made.
    pub created_ms: u64,
    /// Our verification tag (the Initiate Tag of our INIT-ACK).
    pub local_tag: u32,
    /// Our initial TSN.
    pub local_initial_tsn: u32,
    /// The peer's tag.
    pub peer_tag: u32,
    /// The peer's initial TSN.
    pub peer_initial_tsn: u32,
    /// The peer's a_rwnd.
    pub peer_a_rwnd: u32,
    /// Peer's outbound streams.
    pub peer_outbound_streams: u16,
    /// Peer's inbound streams.
    pub peer_inbound_streams: u16,
    /// Our outbound streams.
    pub local_outbound_streams: u16,
    /// Our inbound streams.
    pub local_inbound_streams: u16,
    /// Negotiated capabilities (`caps`): ours AND the peer's.
    pub caps: u8,
    /// Padding / reserved.
    pub reserved: u32,
}

/// Why a cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieFault {
    /// Wrong length or version.
    Malformed,
    /// MAC mismatch.
    BadMac,
}

impl Cookie {
    /// Encode and sign.
    pub fn seal(&self, secret: &[u8; 32]) -> Vec<u8> {
        let mut v = Vec::with_capacity(COOKIE_LEN);
        v.push(VERSION);
        v.extend_from_slice(&self.created_ms.to_be_bytes());
        for x in [
            self.local_tag,
            self.local_initial_tsn,
            self.peer_tag,
            self.peer_initial_tsn,
            self.peer_a_rwnd,
        ] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        for x in [
            self.peer_outbound_streams,
            self.peer_inbound_streams,
            self.local_outbound_streams,
            self.local_inbound_streams,
        ] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.push(self.caps);
        v.extend_from_slice(&self.reserved.to_be_bytes());
        let mac = mac(secret, &v);
        v.extend_from_slice(&mac);
        v
    }

    /// Verify the MAC (constant time) and decode.
    pub fn open(bytes: &[u8], secret: &[u8; 32]) -> Result<Self, CookieFault> {
        if bytes.len() != COOKIE_LEN || bytes.first() != Some(&VERSION) {
            return Err(CookieFault::Malformed);
        }
        let (body, tag) = bytes.split_at(BODY_LEN);
        // RFC 9260 §5.1.5 step 1-2: compute the MAC over the cookie and compare.
        if !bool::from(mac(secret, body).ct_eq(tag)) {
            return Err(CookieFault::BadMac);
        }
        let u16at = |at: usize| {
            body.get(at..at + 2)
                .and_then(|s| <[u8; 2]>::try_from(s).ok())
                .map(u16::from_be_bytes)
                .unwrap_or(0)
        };
        let u32at = |at: usize| be32(body, at).unwrap_or(0);
        let created_ms = body
            .get(1..9)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        Ok(Cookie {
            created_ms,
            local_tag: u32at(9),
            local_initial_tsn: u32at(13),
            peer_tag: u32at(17),
            peer_initial_tsn: u32at(21),
            peer_a_rwnd: u32at(25),
            peer_outbound_streams: u16at(29),
            peer_inbound_streams: u16at(31),
            local_outbound_streams: u16at(33),
            local_inbound_streams: u16at(35),
            caps: body.get(37).copied().unwrap_or(0),
            reserved: u32at(38),
        })
    }
}

fn mac(secret: &[u8; 32], body: &[u8]) -> [u8; MAC_LEN] {
    let mut out = [0u8; MAC_LEN];
    if let Ok(mut m) = HmacSha256::new_from_slice(secret) {
        m.update(body);
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Cookie {
        Cookie {
            created_ms: 123_456,
            local_tag: 1,
            local_initial_tsn: 2,
            peer_tag: 3,
            peer_initial_tsn: 4,
            peer_a_rwnd: 5,
            peer_outbound_streams: 6,
            peer_inbound_streams: 7,
            local_outbound_streams: 8,
            local_inbound_streams: 9,
            caps: 10,
            reserved: 0,
        }
    }

    #[test]
    fn seal_open_roundtrip() {
        let secret = [7u8; 32];
        let sealed = sample().seal(&secret);
        assert_eq!(sealed.len(), COOKIE_LEN);
        assert_eq!(Cookie::open(&sealed, &secret).unwrap(), sample());
    }

    #[test]
    fn tampered_truncated_or_wrong_key_rejected() {
        let secret = [7u8; 32];
        let sealed = sample().seal(&secret);
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x40;
            assert!(Cookie::open(&t, &secret).is_err(), "byte {i}");
        }
        assert_eq!(
            Cookie::open(&sealed[..COOKIE_LEN - 1], &secret),
            Err(CookieFault::Malformed)
        );
        assert_eq!(Cookie::open(&sealed, &[8u8; 32]), Err(CookieFault::BadMac));
    }
}
