//! Long-term credentials (RFC 8489 §9.2): the client side that answers a 401/438 challenge, the
//! server side that checks requests, and the nonce cookie with its security feature bits.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use subtle::ConstantTimeEq;

use crate::error::EncodeError;
use crate::integrity::{IntegrityKey, userhash};
use crate::wire::attributes::{
    ErrorCode, Nonce, PasswordAlgorithm, PasswordAlgorithmAttr, PasswordAlgorithms, Realm,
    Userhash, Username,
};
use crate::wire::encoder::MessageEncoder;
use crate::wire::message::Message;

/// The nonce cookie prefix (RFC 8489 §9.2).
pub const NONCE_COOKIE: &str = "obMatJos2";

/// The security features a server announces in its nonce cookie (RFC 8489 §9.2, §18.1).
/// Bit 0 is the most significant bit of the 24-bit field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecurityFeatures {
    /// Bit 0: the server supports PASSWORD-ALGORITHMS.
    pub password_algorithms: bool,
    /// Bit 1: the server supports USERHASH (username anonymity).
    pub username_anonymity: bool,
}

impl SecurityFeatures {
    fn bits(self) -> u32 {
        (u32::from(self.password_algorithms) << 23) | (u32::from(self.username_anonymity) << 22)
    }

    fn from_bits(bits: u32) -> SecurityFeatures {
        SecurityFeatures {
            password_algorithms: bits & (1 << 23) != 0,
            username_anonymity: bits & (1 << 22) != 0,
        }
    }

    /// `"obMatJos2"` + 4 base64 characters of the 24-bit feature set.
    pub fn cookie(self) -> String {
        let b = self.bits().to_be_bytes();
        format!("{NONCE_COOKIE}{}", BASE64.encode([b[1], b[2], b[3]]))
    }

    /// The features announced by `nonce`, or `None` when it carries no nonce cookie.
    pub fn from_nonce(nonce: &str) -> Option<SecurityFeatures> {
        let rest = nonce.strip_prefix(NONCE_COOKIE)?;
        let encoded = rest.get(..4)?;
        let bytes = BASE64.decode(encoded).ok()?;
        let [a, b, c] = <[u8; 3]>::try_from(bytes.as_slice()).ok()?;
        Some(SecurityFeatures::from_bits(u32::from_be_bytes([
            0, a, b, c,
        ])))
    }
}

/// Why a long-term credential exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The challenge lacks REALM or NONCE.
    #[error("challenge lacks {0}")]
    MissingAttribute(&'static str),
    /// A malformed attribute in the challenge.
    #[error("challenge has a malformed attribute")]
    Malformed,
    /// The nonce announces password algorithms but PASSWORD-ALGORITHMS is missing or offers
    /// nothing we know: a bid-down attack (RFC 8489 §9.2.5).
    #[error("bid-down attack: password algorithms announced but not usable")]
    BidDown,
}

/// Client state for the long-term mechanism: built from the server's 401 challenge, it adds
/// the credential attributes and MESSAGE-INTEGRITY(-SHA256) to each request.
#[derive(Debug, Clone)]
pub struct LongTermCredentials {
    username: String,
    password: String,
    realm: String,
    nonce: String,
    algorithm: PasswordAlgorithm,
    offered: Option<Vec<PasswordAlgorithm>>,
    anonymous: bool,
    key: IntegrityKey,
}

impl LongTermCredentials {
    /// Reads REALM, NONCE and PASSWORD-ALGORITHMS from a 401 (or 438) error response and
    /// prepares the key (RFC 8489 §9.2.5). SHA-256 is chosen when the server offers it.
    pub fn from_challenge(
        username: &str,
        password: &str,
        challenge: &Message<'_>,
    ) -> Result<LongTermCredentials, AuthError> {
        let realm = challenge
            .get::<Realm>()
            .map_err(|_| AuthError::Malformed)?
            .ok_or(AuthError::MissingAttribute("REALM"))?
            .0;
        let nonce = challenge
            .get::<Nonce>()
            .map_err(|_| AuthError::Malformed)?
            .ok_or(AuthError::MissingAttribute("NONCE"))?
            .0;
        let features = SecurityFeatures::from_nonce(nonce).unwrap_or_default();
        let offered = challenge
            .get::<PasswordAlgorithms>()
            .map_err(|_| AuthError::Malformed)?;
        let (algorithm, offered) = match (features.password_algorithms, offered) {
            (true, Some(PasswordAlgorithms(list))) => {
                let pick = if list.contains(&PasswordAlgorithm::Sha256) {
                    PasswordAlgorithm::Sha256
                } else if list.contains(&PasswordAlgorithm::Md5) {
                    PasswordAlgorithm::Md5
                } else {
                    return Err(AuthError::BidDown);
                };
                (pick, Some(list))
            }
            // RFC 8489 §9.2.5: the cookie announces algorithms but the list was stripped.
            (true, None) => return Err(AuthError::BidDown),
            (false, _) => (PasswordAlgorithm::Md5, None),
        };
        Ok(LongTermCredentials {
            username: username.to_owned(),
            password: password.to_owned(),
            realm: realm.to_owned(),
            nonce: nonce.to_owned(),
            algorithm,
            offered,
            anonymous: features.username_anonymity,
            key: IntegrityKey::long_term(username, realm, password, algorithm),
        })
    }

    /// Takes the new NONCE from a 438 Stale Nonce response (the key does not change unless the
    /// realm does).
    pub fn update_nonce(&mut self, response: &Message<'_>) -> Result<(), AuthError> {
        let nonce = response
            .get::<Nonce>()
            .map_err(|_| AuthError::Malformed)?
            .ok_or(AuthError::MissingAttribute("NONCE"))?;
        self.nonce = nonce.0.to_owned();
        if let Ok(Some(Realm(realm))) = response.get::<Realm>()
            && realm != self.realm
        {
            self.realm = realm.to_owned();
            self.key =
                IntegrityKey::long_term(&self.username, realm, &self.password, self.algorithm);
        }
        Ok(())
    }

    /// The password algorithm in use.
    pub fn algorithm(&self) -> PasswordAlgorithm {
        self.algorithm
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The current nonce.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The integrity key.
    pub fn key(&self) -> &IntegrityKey {
        &self.key
    }

    /// Adds USERNAME (or USERHASH), REALM, NONCE, the password algorithm attributes and the
    /// integrity attribute; call it after the other attributes and before FINGERPRINT.
    pub fn authenticate(&self, encoder: &mut MessageEncoder<'_>) -> Result<(), EncodeError> {
        if self.anonymous {
            encoder.add(&Userhash(userhash(&self.username, &self.realm)))?;
        } else {
            encoder.add(&Username(&self.username))?;
        }
        encoder.add(&Realm(&self.realm))?;
        encoder.add(&Nonce(&self.nonce))?;
        if let Some(offered) = &self.offered {
            // RFC 8489 §9.2.4: echo the server's list and name the chosen algorithm.
            encoder.add(&PasswordAlgorithms(offered.clone()))?;
            encoder.add(&PasswordAlgorithmAttr(self.algorithm))?;
        }
        match self.algorithm {
            PasswordAlgorithm::Sha256 => encoder.add_message_integrity_sha256(&self.key),
            _ => encoder.add_message_integrity(&self.key),
        }
    }
}

/// What the server should answer to a request that failed long-term authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// 400, 401 or 438.
    pub code: u16,
    /// The realm to send.
    pub realm: String,
    /// A fresh nonce to send.
    pub nonce: String,
    /// Password algorithms to offer.
    pub password_algorithms: Option<Vec<PasswordAlgorithm>>,
}

impl Challenge {
    /// Adds ERROR-CODE, REALM, NONCE and PASSWORD-ALGORITHMS to an error response.
    pub fn encode(&self, encoder: &mut MessageEncoder<'_>) -> Result<(), EncodeError> {
        let reason = match self.code {
            400 => ErrorCode::BAD_REQUEST,
            438 => ErrorCode::STALE_NONCE,
            _ => ErrorCode::UNAUTHENTICATED,
        };
        encoder.add(&reason)?;
        if self.code != 400 {
            encoder.add(&Realm(&self.realm))?;
            encoder.add(&Nonce(&self.nonce))?;
            if let Some(list) = &self.password_algorithms {
                encoder.add(&PasswordAlgorithms(list.clone()))?;
            }
        }
        Ok(())
    }
}

/// A request that passed long-term authentication.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user (resolved from USERHASH when the request was anonymous).
    pub username: String,
    /// The key, for signing the response (RFC 8489 §9.2.4: responses use the same key).
    pub key: IntegrityKey,
    /// The algorithm used.
    pub algorithm: PasswordAlgorithm,
}

/// Server side of the long-term mechanism (RFC 8489 §9.2.4). Nonces are self-validating: an
/// expiry time and an HMAC over it with a server secret, after the security-feature cookie, so
/// the server keeps no per-client state.
#[derive(Debug, Clone)]
pub struct LongTermAuthenticator {
    realm: String,
    secret: IntegrityKey,
    epoch: Instant,
    nonce_lifetime: Duration,
    features: SecurityFeatures,
}

/// Longest USERNAME the authenticator accepts (RFC 8489 §14.3: fewer than 509 bytes).
const MAX_USERNAME: usize = 508;

impl LongTermAuthenticator {
    /// A server for `realm`, with nonces valid for `nonce_lifetime` and signed with `secret`.
    pub fn new(realm: &str, secret: &[u8], nonce_lifetime: Duration, now: Instant) -> Self {
        LongTermAuthenticator {
            realm: realm.to_owned(),
            secret: IntegrityKey::from_key(secret),
            epoch: now,
            nonce_lifetime,
            features: SecurityFeatures {
                password_algorithms: true,
                username_anonymity: true,
            },
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// A fresh nonce: cookie, expiry (seconds since the authenticator started, hex), MAC.
    pub fn nonce(&self, now: Instant) -> String {
        let expires = (now.saturating_duration_since(self.epoch) + self.nonce_lifetime).as_secs();
        let expires = format!("{expires:012x}");
        let mac = self.secret.hmac_sha1(&[expires.as_bytes()]);
        format!(
            "{}{}{}",
            self.features.cookie(),
            expires,
            hex_prefix(&mac[..8])
        )
    }

    /// `Ok(true)` when the nonce was made by us and has not expired, `Ok(false)` when it is
    /// ours but stale, `Err(())` when it is not ours.
    fn check_nonce(&self, nonce: &str, now: Instant) -> Result<bool, ()> {
        let rest = nonce.strip_prefix(&self.features.cookie()).ok_or(())?;
        let (expires, mac) = (rest.get(..12).ok_or(())?, rest.get(12..).ok_or(())?);
        let expected = hex_prefix(&self.secret.hmac_sha1(&[expires.as_bytes()])[..8]);
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return Err(());
        }
        let expires = u64::from_str_radix(expires, 16).map_err(|_| ())?;
        Ok(now.saturating_duration_since(self.epoch).as_secs() < expires)
    }

    fn challenge(&self, code: u16, now: Instant) -> Challenge {
        Challenge {
            code,
            realm: self.realm.clone(),
            nonce: self.nonce(now),
            password_algorithms: Some(vec![PasswordAlgorithm::Sha256, PasswordAlgorithm::Md5]),
        }
    }

    /// Checks a request (RFC 8489 §9.2.4). `password_of` returns the password of a user;
    /// `user_of_hash` resolves a USERHASH to a username (return `None` to refuse anonymity).
    pub fn check<'m, P, H>(
        &self,
        request: &Message<'m>,
        now: Instant,
        password_of: P,
        user_of_hash: H,
    ) -> Result<Authenticated, Challenge>
    where
        P: Fn(&str) -> Option<String>,
        H: Fn(&[u8; 32]) -> Option<String>,
    {
        // 1. No integrity attribute: 401 with REALM and NONCE.
        if !request.has_integrity() && !request.has_integrity_sha256() {
            return Err(self.challenge(401, now));
        }
        let bad_request = || Challenge {
            code: 400,
            realm: self.realm.clone(),
            nonce: String::new(),
            password_algorithms: None,
        };
        // 2. Integrity without USERNAME/USERHASH, REALM or NONCE: 400.
        let username = match (request.get::<Username>(), request.get::<Userhash>()) {
            (Ok(Some(Username(u))), _) if u.len() <= MAX_USERNAME => Some(u.to_owned()),
            (Ok(None), Ok(Some(Userhash(h)))) => user_of_hash(&h),
            _ => return Err(bad_request()),
        };
        let (Ok(Some(Realm(realm))), Ok(Some(Nonce(nonce)))) =
            (request.get::<Realm>(), request.get::<Nonce>())
        else {
            return Err(bad_request());
        };
        // 3. RFC 8489 §9.2.4: a nonce announcing password algorithms requires both attributes,
        //    with the list equal to what we offered (bid-down protection).
        let algorithm = match (
            request.get::<PasswordAlgorithms>(),
            request.get::<PasswordAlgorithmAttr>(),
        ) {
            (Ok(Some(PasswordAlgorithms(list))), Ok(Some(PasswordAlgorithmAttr(a)))) => {
                let ours = [PasswordAlgorithm::Sha256, PasswordAlgorithm::Md5];
                if list != ours || !ours.contains(&a) {
                    return Err(bad_request());
                }
                a
            }
            // Neither present: processed as MD5 (RFC 8489 §9.2.4).
            (Ok(None), Ok(None)) => PasswordAlgorithm::Md5,
            _ => return Err(bad_request()),
        };
        // 4. A nonce that is not ours or expired: 438 with a new one.
        match self.check_nonce(nonce, now) {
            Ok(true) => {}
            Ok(false) | Err(()) => return Err(self.challenge(438, now)),
        }
        if realm != self.realm {
            return Err(self.challenge(401, now));
        }
        // 5. Unknown user: 401.
        let Some(username) = username else {
            return Err(self.challenge(401, now));
        };
        let Some(password) = password_of(&username) else {
            return Err(self.challenge(401, now));
        };
        let key = IntegrityKey::long_term(&username, &self.realm, &password, algorithm);
        // 6. Integrity (constant time): 401 on mismatch. SHA-256 when present, else SHA-1.
        let verified = if request.has_integrity_sha256() {
            request.verify_integrity_sha256(&key)
        } else {
            request.verify_integrity(&key)
        };
        if verified.is_err() {
            return Err(self.challenge(401, now));
        }
        Ok(Authenticated {
            username,
            key,
            algorithm,
        })
    }
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MessageType, TransactionId};

    fn base() -> Instant {
        #[allow(clippy::disallowed_methods)]
        Instant::now()
    }

    #[test]
    fn cookie_round_trip() {
        for (p, u) in [(false, false), (true, false), (false, true), (true, true)] {
            let f = SecurityFeatures {
                password_algorithms: p,
                username_anonymity: u,
            };
            let c = f.cookie();
            assert_eq!(c.len(), 13);
            assert_eq!(SecurityFeatures::from_nonce(&format!("{c}abc")), Some(f));
        }
        assert_eq!(SecurityFeatures::from_nonce("plain-nonce"), None);
        assert_eq!(SecurityFeatures::from_nonce("obMatJos2A"), None);
        // Bit 0 (password algorithms) is the most significant bit: "gAAA".
        assert_eq!(
            SecurityFeatures {
                password_algorithms: true,
                username_anonymity: false
            }
            .cookie(),
            "obMatJos2gAAA"
        );
    }

    fn challenge_bytes(auth: &LongTermAuthenticator, now: Instant, code: u16) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut e =
            MessageEncoder::new(&mut buf, MessageType::BINDING_ERROR, TransactionId([1; 12]));
        auth.challenge(code, now).encode(&mut e).unwrap();
        e.add_fingerprint().unwrap();
        buf
    }

    fn request(creds: &LongTermCredentials) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut e = MessageEncoder::new(
            &mut buf,
            MessageType::BINDING_REQUEST,
            TransactionId([2; 12]),
        );
        creds.authenticate(&mut e).unwrap();
        e.add_fingerprint().unwrap();
        buf
    }

    #[test]
    fn client_and_server_agree_sha256_and_userhash() {
        let t0 = base();
        let auth =
            LongTermAuthenticator::new("example.org", b"secret", Duration::from_secs(600), t0);
        let c = challenge_bytes(&auth, t0, 401);
        let creds =
            LongTermCredentials::from_challenge("alice", "pw", &Message::decode(&c).unwrap())
                .unwrap();
        assert_eq!(creds.algorithm(), PasswordAlgorithm::Sha256);
        let req = request(&creds);
        let m = Message::decode(&req).unwrap();
        assert!(m.has_integrity_sha256());
        assert!(m.get::<Userhash>().unwrap().is_some());
        let ok = auth
            .check(
                &m,
                t0,
                |u| (u == "alice").then(|| "pw".to_owned()),
                |h| (*h == userhash("alice", "example.org")).then(|| "alice".to_owned()),
            )
            .unwrap();
        assert_eq!(ok.username, "alice");
        // Wrong password: 401.
        let bad = auth.check(&m, t0, |_| Some("nope".into()), |_| Some("alice".into()));
        assert_eq!(bad.unwrap_err().code, 401);
        // Stale nonce: 438, then the client updates and succeeds.
        let later = t0 + Duration::from_secs(601);
        let stale = auth.check(&m, later, |_| Some("pw".into()), |_| Some("alice".into()));
        assert_eq!(stale.unwrap_err().code, 438);
        let mut creds = creds;
        creds
            .update_nonce(&Message::decode(&challenge_bytes(&auth, later, 438)).unwrap())
            .unwrap();
        let req = request(&creds);
        assert!(
            auth.check(
                &Message::decode(&req).unwrap(),
                later,
                |_| Some("pw".into()),
                |_| Some("alice".into())
            )
            .is_ok()
        );
    }

    #[test]
    fn no_integrity_gets_401_and_foreign_nonce_438() {
        let t0 = base();
        let auth = LongTermAuthenticator::new("r", b"k", Duration::from_secs(60), t0);
        let mut buf = Vec::new();
        let e = MessageEncoder::new(
            &mut buf,
            MessageType::BINDING_REQUEST,
            TransactionId([2; 12]),
        );
        e.finish();
        let m = Message::decode(&buf).unwrap();
        assert_eq!(
            auth.check(&m, t0, |_| None, |_| None).unwrap_err().code,
            401
        );
        // A nonce the server never issued (forged expiry) is answered 438.
        let mut buf = Vec::new();
        let mut e = MessageEncoder::new(
            &mut buf,
            MessageType::BINDING_REQUEST,
            TransactionId([2; 12]),
        );
        e.add(&Username("u")).unwrap();
        e.add(&Realm("r")).unwrap();
        let forged = format!("{}ffffffffffff0011223344556677", auth.features.cookie());
        e.add(&Nonce(&forged)).unwrap();
        e.add_message_integrity(&IntegrityKey::long_term(
            "u",
            "r",
            "p",
            PasswordAlgorithm::Md5,
        ))
        .unwrap();
        e.finish();
        let m = Message::decode(&buf).unwrap();
        assert_eq!(
            auth.check(&m, t0, |_| Some("p".into()), |_| None)
                .unwrap_err()
                .code,
            438
        );
    }

    #[test]
    fn stripped_password_algorithms_is_bid_down() {
        let t0 = base();
        let auth = LongTermAuthenticator::new("r", b"k", Duration::from_secs(60), t0);
        let mut buf = Vec::new();
        let mut e =
            MessageEncoder::new(&mut buf, MessageType::BINDING_ERROR, TransactionId([1; 12]));
        e.add(&ErrorCode::UNAUTHENTICATED).unwrap();
        e.add(&Realm("r")).unwrap();
        e.add(&Nonce(&auth.nonce(t0))).unwrap();
        e.finish();
        let m = Message::decode(&buf).unwrap();
        assert_eq!(
            LongTermCredentials::from_challenge("u", "p", &m).unwrap_err(),
            AuthError::BidDown
        );
    }
}
