//! The two sides of the STUN comparison, as plain functions so a test can check that both do the
//! same work (same attributes, integrity and fingerprint verified) before the bench times them.

use rtc_stun::attributes::{
    ATTR_ICE_CONTROLLING, ATTR_PRIORITY, ATTR_USE_CANDIDATE, ATTR_USERNAME,
};
use rtc_stun::fingerprint::FINGERPRINT;
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{BINDING_REQUEST, Setter, TransactionId as RtcTransactionId};
use rtc_stun::textattrs::Username as RtcUsername;
use tern_stun::attributes::{IceControlling, Priority, UseCandidate, Username};
use tern_stun::{IntegrityKey, Message, MessageEncoder, MessageType, TransactionId};

/// The ICE password both sides key MESSAGE-INTEGRITY with (short-term credential).
pub const PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";
const USERNAME: &str = "evtj:h6vY";
const TIE_BREAKER: u64 = 0x932f_f9b1_5126_3b36;
const PRIORITY: u32 = 0x6e00_01ff;
const TID: [u8; 12] = [7; 12];

/// Tern: encode a Binding request (USERNAME, ICE-CONTROLLING, PRIORITY, USE-CANDIDATE,
/// MESSAGE-INTEGRITY, FINGERPRINT) into `buf`, decode it (FINGERPRINT checked while decoding),
/// verify MESSAGE-INTEGRITY and read PRIORITY back.
pub fn tern_round(key: &IntegrityKey, buf: &mut Vec<u8>) -> Option<u32> {
    buf.clear();
    let mut e = MessageEncoder::new(buf, MessageType::BINDING_REQUEST, TransactionId(TID));
    e.add(&Username(USERNAME)).ok()?;
    e.add(&IceControlling(TIE_BREAKER)).ok()?;
    e.add(&Priority(PRIORITY)).ok()?;
    e.add(&UseCandidate).ok()?;
    e.add_message_integrity(key).ok()?;
    e.add_fingerprint().ok()?;
    let m = Message::decode(std::hint::black_box(buf)).ok()?;
    if !m.has_fingerprint() {
        return None;
    }
    m.verify_integrity(key).ok()?;
    m.get::<Priority>().ok()?.map(|p| p.0)
}

/// webrtc-rs `rtc-stun`: the same message built with its API (the ICE attributes as raw values:
/// rtc-stun has no typed ICE attributes), decoded with `unmarshal_binary`, then
/// `MessageIntegrity::check`, `FINGERPRINT.check` and PRIORITY read back.
pub struct RtcSide {
    integrity: MessageIntegrity<'static>,
    provider: std::sync::Arc<dyn rtc_crypto::RTCCryptoProvider>,
    sent: rtc_stun::message::Message,
    received: rtc_stun::message::Message,
}

impl RtcSide {
    /// Key and message buffers set up once, as a real agent would.
    pub fn new() -> Option<RtcSide> {
        let provider = rtc_crypto::default_provider().ok()?;
        let crypto: &'static dyn rtc_crypto::RTCCrypto =
            Box::leak(Box::new(provider.clone())).crypto();
        Some(RtcSide {
            integrity: MessageIntegrity::new_short_term_integrity_with_provider(
                PASSWORD.to_owned(),
                crypto,
            ),
            provider,
            sent: rtc_stun::message::Message::new(),
            received: rtc_stun::message::Message::new(),
        })
    }

    /// One encode + decode + verify.
    pub fn round(&mut self) -> Option<u32> {
        let m = &mut self.sent;
        m.reset();
        m.typ = BINDING_REQUEST;
        m.transaction_id = RtcTransactionId(TID);
        m.write_header();
        RtcUsername::new(ATTR_USERNAME, USERNAME.to_owned())
            .add_to(m)
            .ok()?;
        m.add(ATTR_ICE_CONTROLLING, &TIE_BREAKER.to_be_bytes());
        m.add(ATTR_PRIORITY, &PRIORITY.to_be_bytes());
        m.add(ATTR_USE_CANDIDATE, &[]);
        self.integrity.add_to(m).ok()?;
        FINGERPRINT.add_to(m).ok()?;
        let d = &mut self.received;
        d.unmarshal_binary(std::hint::black_box(&m.raw)).ok()?;
        FINGERPRINT.check(d).ok()?;
        MessageIntegrity::check(d, PASSWORD.as_bytes(), self.provider.crypto()).ok()?;
        let p = d.get(ATTR_PRIORITY).ok()?;
        Some(u32::from_be_bytes(p.get(..4)?.try_into().ok()?))
    }

    /// The last encoded message.
    pub fn sent_bytes(&self) -> &[u8] {
        &self.sent.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_do_the_same_work_and_agree_on_the_bytes() {
        let key = IntegrityKey::short_term(PASSWORD);
        let mut buf = Vec::new();
        assert_eq!(tern_round(&key, &mut buf), Some(PRIORITY));
        let mut rtc = RtcSide::new().unwrap();
        assert_eq!(rtc.round(), Some(PRIORITY));
        // Same attributes in the same order, same key: the two encoders emit identical bytes.
        assert_eq!(buf, rtc.sent_bytes());
        // And each side verifies the other's message.
        let theirs = Message::decode(rtc.sent_bytes()).unwrap();
        theirs.verify_integrity(&key).unwrap();
        let mut d = rtc_stun::message::Message::new();
        d.unmarshal_binary(&buf).unwrap();
        MessageIntegrity::check(&mut d, PASSWORD.as_bytes(), rtc.provider.crypto()).unwrap();
        // A flipped bit fails both.
        let mut bad = buf.clone();
        bad[30] ^= 1;
        assert!(
            Message::decode(&bad).is_err()
                || Message::decode(&bad)
                    .unwrap()
                    .verify_integrity(&key)
                    .is_err()
        );
    }
}
