//! Legacy attributes still seen from old peers: `a=crypto` (SDES, RFC 4568 §9.1) and
//! `a=sctpmap` (draft-ietf-mmusic-sctp-sdp-05, before RFC 8841).

use std::fmt;

use super::{Fields, number, token};
use crate::attribute::AttributeValue;
use crate::error::AttributeError;

/// `a=crypto:<tag> <suite> <key-params> [<session-params>]` (RFC 4568 §9.1).
///
/// **Legacy SDES keying.** WebRTC forbids it (RFC 8827 §6.5: implementations MUST NOT offer
/// SDES); it is parsed so that 2013-era offers can be read and refused with a clear reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Crypto {
    /// Tag, 1 to 9 digits.
    pub tag: u32,
    /// Crypto suite, e.g. `AES_CM_128_HMAC_SHA1_80`.
    pub suite: String,
    /// Key parameters (`inline:<key||salt>[|lifetime][|MKI:len]`), in order.
    pub key_params: Vec<String>,
    /// Session parameters (`KDR=1`, `UNENCRYPTED_SRTP`, …).
    pub session_params: Vec<String>,
}

impl Crypto {
    /// Always true: SDES is legacy and not allowed in WebRTC.
    pub const fn is_legacy(&self) -> bool {
        true
    }

    /// The base64 key||salt of the first `inline:` key parameter.
    pub fn inline_key(&self) -> Option<&str> {
        self.key_params.iter().find_map(|k| {
            k.strip_prefix("inline:")
                .map(|info| info.split('|').next().unwrap_or(info))
        })
    }
}

impl AttributeValue for Crypto {
    const NAME: &'static str = "crypto";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut f = Fields::new(value);
        let tag_s = f.need("tag")?;
        if tag_s.len() > 9 {
            return Err(AttributeError::BadNumber("tag"));
        }
        let tag: u32 = number(tag_s, "tag")?;
        let suite = f.need("crypto-suite")?;
        token(suite, "crypto-suite")?;
        let keys = f.need("key-params")?;
        let mut key_params = Vec::new();
        for k in keys.split(';') {
            // key-param = key-method ":" key-info
            match k.split_once(':') {
                Some((m, info)) if !m.is_empty() && !info.is_empty() => {
                    key_params.push(k.to_owned());
                }
                _ => return Err(AttributeError::BadValue("key-param")),
            }
        }
        let mut session_params = Vec::new();
        while let Some(p) = f.next_opt() {
            session_params.push(p.to_owned());
        }
        Ok(Self {
            tag,
            suite: suite.to_owned(),
            key_params,
            session_params,
        })
    }
}

impl fmt::Display for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.tag,
            self.suite,
            self.key_params.join(";")
        )?;
        for p in &self.session_params {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// `a=sctpmap:<port> <protocol> [<streams>]` (draft-ietf-mmusic-sctp-sdp-05), used with
/// `m=application <port> DTLS/SCTP <sctp port>` by pre-2017 browsers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SctpMap {
    /// SCTP port (matches the `m=` format).
    pub port: u16,
    /// `webrtc-datachannel`.
    pub protocol: String,
    /// Number of streams.
    pub streams: Option<u32>,
}

impl AttributeValue for SctpMap {
    const NAME: &'static str = "sctpmap";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut f = Fields::new(value);
        let port = number(f.need("port")?, "port").map_err(|_| AttributeError::BadPort("port"))?;
        let protocol = f.need("protocol")?;
        token(protocol, "protocol")?;
        let streams = match f.next_opt() {
            Some(s) => Some(number(s, "streams")?),
            None => None,
        };
        f.end()?;
        Ok(Self {
            port,
            protocol: protocol.to_owned(),
            streams,
        })
    }
}

impl fmt::Display for SctpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.port, self.protocol)?;
        if let Some(s) = self.streams {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4568_crypto_example() {
        let v =
            "1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:4";
        let c = Crypto::parse_value(v).unwrap();
        assert_eq!(c.tag, 1);
        assert_eq!(c.suite, "AES_CM_128_HMAC_SHA1_80");
        assert_eq!(
            c.inline_key(),
            Some("PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR")
        );
        assert!(c.is_legacy());
        assert_eq!(c.to_string(), v);
        let s = Crypto::parse_value("2 F8_128_HMAC_SHA1_80 inline:MTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5QUJjZGVm|2^20|1:4;inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4 FEC_ORDER=FEC_SRTP").unwrap();
        assert_eq!(s.key_params.len(), 2);
        assert_eq!(s.session_params, ["FEC_ORDER=FEC_SRTP"]);
        assert_eq!(
            Crypto::parse_value("1234567890 X inline:a"),
            Err(AttributeError::BadNumber("tag"))
        );
        assert_eq!(
            Crypto::parse_value("1 X nokey"),
            Err(AttributeError::BadValue("key-param"))
        );
    }

    #[test]
    fn sctpmap() {
        let m = SctpMap::parse_value("5000 webrtc-datachannel 1024").unwrap();
        assert_eq!((m.port, m.streams), (5000, Some(1024)));
        assert_eq!(
            SctpMap::parse_value("5000 webrtc-datachannel")
                .unwrap()
                .streams,
            None
        );
        assert_eq!(
            SctpMap::parse_value("99999 x"),
            Err(AttributeError::BadPort("port"))
        );
    }
}
