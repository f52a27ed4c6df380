//! Long-term credentials for the server: static users, TURN REST API ephemeral users,
//! stateless nonces with an expiry, and the password algorithms offered (RFC 8489 §9.2).

use std::collections::HashMap;
use std::net::IpAddr;

use base64::Engine;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use tern_stun::attributes::{PasswordAlgorithmAttr, PasswordAlgorithms};
use tern_stun::{IntegrityKey, Message, PasswordAlgorithm, SecurityFeatures};

/// Length of the nonce MAC in bytes (hex-encoded in the nonce).
const NONCE_MAC_LEN: usize = 8;

/// A static user's long-term keys, one per offered password algorithm, computed once.
#[derive(Clone)]
struct UserKeys {
    md5: Option<IntegrityKey>,
    sha256: Option<IntegrityKey>,
}

/// The key a request was authenticated with, and how to sign the responses to it.
#[derive(Debug, Clone)]
pub(crate) struct SessionKey {
    /// The long-term key (RFC 8489 §9.2.2).
    pub key: IntegrityKey,
    /// The password algorithm the key was derived with.
    pub algorithm: PasswordAlgorithm,
    /// The request carried MESSAGE-INTEGRITY-SHA256: so does the response.
    pub sha256_integrity: bool,
}

/// Credential store and nonce minting.
#[derive(Clone)]
pub(crate) struct Credentials {
    realm: String,
    /// Static users with their long-term keys computed once.
    users: HashMap<String, UserKeys>,
    /// The password algorithms offered, in order of preference (never empty).
    algorithms: Vec<PasswordAlgorithm>,
    /// The nonce cookie (RFC 8489 §9.2) when more than MD5 is offered, else `None` (plain
    /// RFC 5389 nonces, as coturn sends by default).
    cookie: Option<String>,
    rest_secret: Option<Vec<u8>>,
    nonce_key: Hmac<Sha1>,
    nonce_lifetime_secs: u64,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("realm", &self.realm)
            .field("users", &self.users.len())
            .field("rest", &self.rest_secret.is_some())
            .field("algorithms", &self.algorithms)
            .finish()
    }
}

/// A request whose password algorithm attributes do not match what the nonce offered
/// (RFC 8489 §9.2.4): answered 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AlgorithmMismatch;

/// The outcome of checking a NONCE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceCheck {
    Valid,
    /// Ours but expired, or not ours: either way the client gets 438 and a fresh one.
    Stale,
}

impl Credentials {
    pub(crate) fn new(
        realm: &str,
        users: &HashMap<String, String>,
        rest_secret: Option<&str>,
        nonce_secret: [u8; 64],
        nonce_lifetime_secs: u64,
        algorithms: &[PasswordAlgorithm],
    ) -> Credentials {
        // Only the algorithms we implement (MD5, SHA-256), each once, in the configured order.
        let mut offered: Vec<PasswordAlgorithm> = Vec::new();
        for a in algorithms {
            if matches!(a, PasswordAlgorithm::Md5 | PasswordAlgorithm::Sha256)
                && !offered.contains(a)
            {
                offered.push(*a);
            }
        }
        if offered.is_empty() {
            offered.push(PasswordAlgorithm::Md5);
        }
        // RFC 8489 §9.2: a server offering password algorithms announces it with the nonce
        // cookie's "Password algorithms" feature bit. MD5 alone is the RFC 5389 behaviour.
        let cookie = (offered != [PasswordAlgorithm::Md5]).then(|| {
            SecurityFeatures {
                password_algorithms: true,
                username_anonymity: false,
            }
            .cookie()
        });
        let key_if = |a: PasswordAlgorithm, u: &str, p: &str| {
            offered
                .contains(&a)
                .then(|| IntegrityKey::long_term(u, realm, p, a))
        };
        let users = users
            .iter()
            .map(|(u, p)| {
                let keys = UserKeys {
                    md5: key_if(PasswordAlgorithm::Md5, u, p),
                    sha256: key_if(PasswordAlgorithm::Sha256, u, p),
                };
                (u.clone(), keys)
            })
            .collect();
        Credentials {
            realm: realm.to_owned(),
            users,
            algorithms: offered,
            cookie,
            rest_secret: rest_secret.map(|s| s.as_bytes().to_vec()),
            nonce_key: <Hmac<Sha1> as KeyInit>::new(&nonce_secret.into()),
            nonce_lifetime_secs: nonce_lifetime_secs.max(1),
        }
    }

    pub(crate) fn realm(&self) -> &str {
        &self.realm
    }

    /// PASSWORD-ALGORITHMS to put in 401/438 responses, when more than MD5 is offered.
    pub(crate) fn offered_algorithms(&self) -> Option<&[PasswordAlgorithm]> {
        self.cookie.as_ref().map(|_| self.algorithms.as_slice())
    }

    /// The password algorithm of a request carrying `nonce` (RFC 8489 §9.2.4).
    pub(crate) fn password_algorithm(
        &self,
        msg: &Message<'_>,
        nonce: &str,
    ) -> Result<PasswordAlgorithm, AlgorithmMismatch> {
        let announced = self.cookie.as_deref().is_some_and(|c| nonce.starts_with(c));
        if !announced {
            // No password algorithms announced (MD5-only server, or a nonce that is not ours
            // and gets 438 next): the request is processed with MD5 (RFC 8489 §9.2.4).
            return Ok(PasswordAlgorithm::Md5);
        }
        let list = msg.get::<PasswordAlgorithms>();
        let chosen = msg.get::<PasswordAlgorithmAttr>();
        match (list, chosen) {
            // RFC 8489 §9.2.4: neither attribute: processed as though PASSWORD-ALGORITHM were
            // MD5 — provided we offer MD5 at all.
            (Ok(None), Ok(None)) if self.algorithms.contains(&PasswordAlgorithm::Md5) => {
                Ok(PasswordAlgorithm::Md5)
            }
            // RFC 8489 §9.2.4: both present, PASSWORD-ALGORITHMS equal to the list sent with
            // this nonce, PASSWORD-ALGORITHM one of its entries; anything else is a bid-down
            // attempt (§9.2.1) and gets 400.
            (Ok(Some(PasswordAlgorithms(list))), Ok(Some(PasswordAlgorithmAttr(a))))
                if list == self.algorithms && self.algorithms.contains(&a) =>
            {
                Ok(a)
            }
            _ => Err(AlgorithmMismatch),
        }
    }

    fn nonce_mac(&self, expiry: u64, ip: IpAddr) -> [u8; NONCE_MAC_LEN] {
        let mut mac = self.nonce_key.clone();
        mac.update(&expiry.to_be_bytes());
        match ip {
            IpAddr::V4(v4) => mac.update(&v4.octets()),
            IpAddr::V6(v6) => mac.update(&v6.octets()),
        }
        let full: [u8; 20] = mac.finalize().into_bytes().into();
        let mut out = [0u8; NONCE_MAC_LEN];
        for (o, f) in out.iter_mut().zip(full) {
            *o = f;
        }
        out
    }

    /// A nonce bound to the client's IP and valid until `unix_now + lifetime`: the expiry in
    /// hex followed by a truncated HMAC, so the server keeps no per-nonce state.
    /// When password algorithms are offered the nonce starts with the nonce cookie
    /// (RFC 8489 §9.2).
    pub(crate) fn make_nonce(&self, unix_now: u64, ip: IpAddr) -> String {
        let expiry = unix_now.saturating_add(self.nonce_lifetime_secs);
        let mac = self.nonce_mac(expiry, ip);
        let mut s = self.cookie.clone().unwrap_or_default();
        s.push_str(&format!("{expiry:016x}"));
        for b in mac {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    pub(crate) fn check_nonce(&self, nonce: &str, unix_now: u64, ip: IpAddr) -> NonceCheck {
        let nonce = match &self.cookie {
            Some(cookie) => match nonce.strip_prefix(cookie.as_str()) {
                Some(rest) => rest,
                None => return NonceCheck::Stale,
            },
            None => nonce,
        };
        if nonce.len() != 16 + 2 * NONCE_MAC_LEN || !nonce.is_ascii() {
            return NonceCheck::Stale;
        }
        let (exp, mac) = nonce.split_at(16);
        let Ok(expiry) = u64::from_str_radix(exp, 16) else {
            return NonceCheck::Stale;
        };
        let mut given = [0u8; NONCE_MAC_LEN];
        for (i, g) in given.iter_mut().enumerate() {
            let Some(pair) = mac.get(2 * i..2 * i + 2) else {
                return NonceCheck::Stale;
            };
            let Ok(b) = u8::from_str_radix(pair, 16) else {
                return NonceCheck::Stale;
            };
            *g = b;
        }
        if !bool::from(given.ct_eq(&self.nonce_mac(expiry, ip))) || expiry <= unix_now {
            return NonceCheck::Stale;
        }
        NonceCheck::Valid
    }

    /// The key for `username` with `algorithm` (RFC 8489 §9.2.2: MD5 or SHA-256 of
    /// `username:realm:password`), or `None` when the user is unknown, its REST credential has
    /// expired, or the algorithm is not offered.
    pub(crate) fn key_for(
        &self,
        username: &str,
        algorithm: PasswordAlgorithm,
        unix_now: u64,
    ) -> Option<IntegrityKey> {
        if !self.algorithms.contains(&algorithm) {
            return None;
        }
        if let Some(k) = self.users.get(username) {
            return match algorithm {
                PasswordAlgorithm::Md5 => k.md5.clone(),
                PasswordAlgorithm::Sha256 => k.sha256.clone(),
                PasswordAlgorithm::Other(_) => None,
            };
        }
        let secret = self.rest_secret.as_ref()?;
        // TURN REST API: username = "<expiry unix time>:<user>", valid until expiry.
        let (expiry, _) = username.split_once(':').unwrap_or((username, ""));
        let expiry: u64 = expiry.parse().ok()?;
        if expiry <= unix_now {
            return None;
        }
        let password = rest_password(secret, username)?;
        Some(IntegrityKey::long_term(
            username,
            &self.realm,
            &password,
            algorithm,
        ))
    }
}

/// The TURN REST API password for `username`: base64(HMAC-SHA1(secret, username)).
pub fn rest_password(secret: &[u8], username: &str) -> Option<String> {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).ok()?;
    mac.update(username.as_bytes());
    Some(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD5: PasswordAlgorithm = PasswordAlgorithm::Md5;
    const SHA256: PasswordAlgorithm = PasswordAlgorithm::Sha256;

    fn creds() -> Credentials {
        let mut users = HashMap::new();
        users.insert("alice".to_owned(), "secret".to_owned());
        Credentials::new(
            "tern.test",
            &users,
            Some("shared"),
            [7; 64],
            600,
            &[PasswordAlgorithm::Md5],
        )
    }

    #[test]
    fn nonces_expire_and_bind_to_ip() {
        let c = creds();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let n = c.make_nonce(1000, ip);
        assert_eq!(c.check_nonce(&n, 1000, ip), NonceCheck::Valid);
        assert_eq!(c.check_nonce(&n, 1599, ip), NonceCheck::Valid);
        assert_eq!(c.check_nonce(&n, 1600, ip), NonceCheck::Stale);
        assert_eq!(
            c.check_nonce(&n, 1000, "192.0.2.2".parse().unwrap()),
            NonceCheck::Stale
        );
        let mut forged = n.clone().into_bytes();
        forged[3] = b'f';
        assert_eq!(
            c.check_nonce(std::str::from_utf8(&forged).unwrap(), 1000, ip),
            NonceCheck::Stale
        );
        assert_eq!(c.check_nonce("short", 1000, ip), NonceCheck::Stale);
        assert_eq!(c.check_nonce(&"é".repeat(16), 1000, ip), NonceCheck::Stale);
    }

    #[test]
    fn rest_api_users() {
        let c = creds();
        assert!(c.key_for("alice", MD5, 0).is_some());
        assert!(c.key_for("bob", MD5, 0).is_none());
        assert!(c.key_for("2000:bob", MD5, 1999).is_some());
        assert!(c.key_for("2000:bob", MD5, 2000).is_none(), "expired");
        assert!(c.key_for("x:bob", MD5, 0).is_none());
        // The password the REST API client derives gives the same key.
        let password = rest_password(b"shared", "2000:bob").unwrap();
        let mut users = HashMap::new();
        users.insert("2000:bob".to_owned(), password);
        let direct = Credentials::new(
            "tern.test",
            &users,
            None,
            [0; 64],
            600,
            &[PasswordAlgorithm::Md5],
        );
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (key, out) in [
            (c.key_for("2000:bob", MD5, 0).unwrap(), &mut a),
            (direct.key_for("2000:bob", MD5, 0).unwrap(), &mut b),
        ] {
            let mut enc = tern_stun::MessageEncoder::new(
                out,
                tern_stun::MessageType::BINDING_REQUEST,
                tern_stun::TransactionId([1; 12]),
            );
            enc.add_message_integrity(&key).unwrap();
            enc.finish();
        }
        assert_eq!(a, b);
    }

    fn sha256_creds() -> Credentials {
        let mut users = HashMap::new();
        users.insert("alice".to_owned(), "secret".to_owned());
        Credentials::new(
            "tern.test",
            &users,
            Some("shared"),
            [7; 64],
            600,
            &[SHA256, MD5, PasswordAlgorithm::Other(9), SHA256],
        )
    }

    #[test]
    fn md5_only_sends_plain_nonces_and_no_algorithms() {
        let c = creds();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(!c.make_nonce(1000, ip).starts_with("obMatJos2"));
        assert_eq!(c.offered_algorithms(), None);
        assert!(
            c.key_for("alice", SHA256, 0).is_none(),
            "SHA-256 not offered"
        );
    }

    #[test]
    fn sha256_offer_uses_the_cookie_and_per_algorithm_keys() {
        let c = sha256_creds();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(c.offered_algorithms(), Some(&[SHA256, MD5][..]));
        let n = c.make_nonce(1000, ip);
        // RFC 8489 §9.2: "obMatJos2" + base64 of the feature bits, bit 0 (password algorithms).
        assert!(n.starts_with("obMatJos2gAAA"), "{n}");
        assert_eq!(c.check_nonce(&n, 1000, ip), NonceCheck::Valid);
        // The same nonce without its cookie is not ours.
        let bare = n.strip_prefix("obMatJos2gAAA").unwrap();
        assert_eq!(c.check_nonce(bare, 1000, ip), NonceCheck::Stale);
        // SHA-256 and MD5 keys differ, and match what the client derives.
        let expect = |a| IntegrityKey::long_term("alice", "tern.test", "secret", a);
        for (a, other) in [(SHA256, MD5), (MD5, SHA256)] {
            let mut ours = Vec::new();
            let mut theirs = Vec::new();
            let mut wrong = Vec::new();
            for (key, out) in [
                (c.key_for("alice", a, 0).unwrap(), &mut ours),
                (expect(a), &mut theirs),
                (expect(other), &mut wrong),
            ] {
                let mut enc = tern_stun::MessageEncoder::new(
                    out,
                    tern_stun::MessageType::BINDING_REQUEST,
                    tern_stun::TransactionId([1; 12]),
                );
                enc.add_message_integrity_sha256(&key).unwrap();
                enc.finish();
            }
            assert_eq!(ours, theirs);
            assert_ne!(ours, wrong);
        }
        // REST API users get a key per algorithm too.
        assert!(c.key_for("2000:bob", SHA256, 0).is_some());
    }

    fn request_with(
        list: Option<Vec<PasswordAlgorithm>>,
        chosen: Option<PasswordAlgorithm>,
    ) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut enc = tern_stun::MessageEncoder::new(
            &mut buf,
            tern_stun::MessageType::BINDING_REQUEST,
            tern_stun::TransactionId([1; 12]),
        );
        if let Some(list) = list {
            enc.add(&PasswordAlgorithms(list)).unwrap();
        }
        if let Some(a) = chosen {
            enc.add(&PasswordAlgorithmAttr(a)).unwrap();
        }
        enc.finish();
        buf
    }

    #[test]
    fn password_algorithm_checks_refuse_bid_down() {
        let c = sha256_creds();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let nonce = c.make_nonce(0, ip);
        let check = |list, chosen| {
            let bytes = request_with(list, chosen);
            c.password_algorithm(&Message::decode(&bytes).unwrap(), &nonce)
        };
        assert_eq!(check(Some(vec![SHA256, MD5]), Some(SHA256)), Ok(SHA256));
        assert_eq!(check(Some(vec![SHA256, MD5]), Some(MD5)), Ok(MD5));
        assert_eq!(check(None, None), Ok(MD5));
        // SHA-256 stripped from the echoed list: bid-down.
        assert_eq!(check(Some(vec![MD5]), Some(MD5)), Err(AlgorithmMismatch));
        assert_eq!(
            check(Some(vec![MD5, SHA256]), Some(MD5)),
            Err(AlgorithmMismatch)
        );
        assert_eq!(check(Some(vec![SHA256, MD5]), None), Err(AlgorithmMismatch));
        assert_eq!(check(None, Some(SHA256)), Err(AlgorithmMismatch));
        assert_eq!(
            check(Some(vec![SHA256, MD5]), Some(PasswordAlgorithm::Other(9))),
            Err(AlgorithmMismatch)
        );
        // SHA-256 only: no MD5 fallback without the attributes.
        let strict = Credentials::new("r", &HashMap::new(), None, [1; 64], 60, &[SHA256]);
        let n = strict.make_nonce(0, ip);
        let bytes = request_with(None, None);
        assert_eq!(
            strict.password_algorithm(&Message::decode(&bytes).unwrap(), &n),
            Err(AlgorithmMismatch)
        );
    }
}
