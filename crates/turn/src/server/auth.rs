//! Long-term credentials for the server: static users, TURN REST API ephemeral users, and
//! stateless nonces with an expiry.

use std::collections::HashMap;
use std::net::IpAddr;

use base64::Engine;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use tern_stun::{IntegrityKey, PasswordAlgorithm};

/// Length of the nonce MAC in bytes (hex-encoded in the nonce).
const NONCE_MAC_LEN: usize = 8;

/// Credential store and nonce minting.
#[derive(Clone)]
pub(crate) struct Credentials {
    realm: String,
    /// Static users with their long-term keys computed once.
    users: HashMap<String, IntegrityKey>,
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
            .finish()
    }
}

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
    ) -> Credentials {
        let users = users
            .iter()
            .map(|(u, p)| {
                (
                    u.clone(),
                    IntegrityKey::long_term(u, realm, p, PasswordAlgorithm::Md5),
                )
            })
            .collect();
        Credentials {
            realm: realm.to_owned(),
            users,
            rest_secret: rest_secret.map(|s| s.as_bytes().to_vec()),
            nonce_key: <Hmac<Sha1> as KeyInit>::new(&nonce_secret.into()),
            nonce_lifetime_secs: nonce_lifetime_secs.max(1),
        }
    }

    pub(crate) fn realm(&self) -> &str {
        &self.realm
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
    pub(crate) fn make_nonce(&self, unix_now: u64, ip: IpAddr) -> String {
        let expiry = unix_now.saturating_add(self.nonce_lifetime_secs);
        let mac = self.nonce_mac(expiry, ip);
        let mut s = format!("{expiry:016x}");
        for b in mac {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    pub(crate) fn check_nonce(&self, nonce: &str, unix_now: u64, ip: IpAddr) -> NonceCheck {
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

    /// The key for `username`, or `None` when the user is unknown or its REST credential has
    /// expired.
    pub(crate) fn key_for(&self, username: &str, unix_now: u64) -> Option<IntegrityKey> {
        if let Some(k) = self.users.get(username) {
            return Some(k.clone());
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
            PasswordAlgorithm::Md5,
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

    fn creds() -> Credentials {
        let mut users = HashMap::new();
        users.insert("alice".to_owned(), "secret".to_owned());
        Credentials::new("tern.test", &users, Some("shared"), [7; 64], 600)
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
        assert!(c.key_for("alice", 0).is_some());
        assert!(c.key_for("bob", 0).is_none());
        assert!(c.key_for("2000:bob", 1999).is_some());
        assert!(c.key_for("2000:bob", 2000).is_none(), "expired");
        assert!(c.key_for("x:bob", 0).is_none());
        // The password the REST API client derives gives the same key.
        let password = rest_password(b"shared", "2000:bob").unwrap();
        let mut users = HashMap::new();
        users.insert("2000:bob".to_owned(), password);
        let direct = Credentials::new("tern.test", &users, None, [0; 64], 600);
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (key, out) in [
            (c.key_for("2000:bob", 0).unwrap(), &mut a),
            (direct.key_for("2000:bob", 0).unwrap(), &mut b),
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
}
