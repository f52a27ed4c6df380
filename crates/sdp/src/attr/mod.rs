//! Typed attribute values and the grammar check the parser runs on every known attribute.

pub mod dtls;
pub mod group;
pub mod ice;
pub mod legacy;
pub mod rtp;
pub mod simulcast;

use std::str::FromStr;

use crate::attribute::{AttributeValue, is_token};

use crate::error::AttributeError;

/// Attribute names this crate knows, and how each is checked.
enum Kind {
    /// Must have no value.
    Flag,
    /// Must have a non-empty value without whitespace.
    Token,
    /// Must have a value; checked by a typed parser.
    Typed(fn(&str) -> Result<(), AttributeError>),
}

fn typed<T: AttributeValue>(v: &str) -> Result<(), AttributeError> {
    T::parse_value(v).map(|_| ())
}

fn kind_of(name: &str) -> Option<Kind> {
    // Cheap pre-filter: every known name starts with one of these letters and is 3 to 18
    // bytes long; most unknown names stop here without a string comparison.
    let first = *name.as_bytes().first()?;
    if !matches!(
        first,
        b'c' | b'e' | b'f' | b'g' | b'i' | b'm' | b'p' | b'r' | b's' | b't'
    ) || !(3..=18).contains(&name.len())
    {
        return None;
    }
    Some(match name {
        // RFC 8839 §5.1, §5.4, §5.6; RFC 8840 §8.2; RFC 8445 ice-lite (RFC 8839 §5.3)
        "candidate" => Kind::Typed(ice::check_candidate),
        "ice-ufrag" => Kind::Typed(ice::check_ufrag),
        "ice-pwd" => Kind::Typed(ice::check_pwd),
        "ice-options" => Kind::Typed(typed::<ice::IceOptions>),
        "ice-lite" | "end-of-candidates" | "ice-mismatch" => Kind::Flag,
        // RFC 8122 §5, RFC 4145 §4-5, RFC 8842 §4
        "fingerprint" => Kind::Typed(dtls::check_fingerprint),
        "setup" => Kind::Typed(typed::<dtls::Setup>),
        "connection" => Kind::Typed(typed::<dtls::ConnectionMode>),
        "tls-id" => Kind::Typed(dtls::check_tls_id),
        // RFC 5888, RFC 8843, RFC 8830
        "group" => Kind::Typed(typed::<group::Group>),
        "mid" => Kind::Token,
        "msid" => Kind::Typed(typed::<group::Msid>),
        "msid-semantic" => Kind::Typed(typed::<group::MsidSemantic>),
        // RFC 8866 §6, RFC 4585, RFC 8285, RFC 3605, RFC 5761, RFC 8858, RFC 5506
        "rtpmap" => Kind::Typed(rtp::check_rtpmap),
        "fmtp" => Kind::Typed(rtp::check_fmtp),
        "rtcp-fb" => Kind::Typed(rtp::check_rtcp_fb),
        "extmap" => Kind::Typed(rtp::check_extmap),
        "extmap-allow-mixed" | "rtcp-mux" | "rtcp-mux-only" | "rtcp-rsize" | "sendrecv"
        | "sendonly" | "recvonly" | "inactive" => Kind::Flag,
        "rtcp" => Kind::Typed(typed::<rtp::Rtcp>),
        "ssrc" => Kind::Typed(rtp::check_ssrc),
        "ssrc-group" => Kind::Typed(typed::<rtp::SsrcGroup>),
        "ptime" => Kind::Typed(|v| number::<u32>(v.trim(), "ptime").map(|_| ())),
        "maxptime" => Kind::Typed(|v| number::<u32>(v.trim(), "maxptime").map(|_| ())),
        "framerate" => Kind::Typed(rtp::check_framerate),
        // RFC 8851, RFC 8853
        "rid" => Kind::Typed(typed::<simulcast::Rid>),
        "simulcast" => Kind::Typed(typed::<simulcast::Simulcast>),
        // RFC 8841 §5-6; draft-ietf-mmusic-sctp-sdp-05 sctpmap; RFC 4568 crypto
        "sctp-port" => Kind::Typed(|v| number::<u16>(v, "sctp-port").map(|_| ())),
        "max-message-size" => Kind::Typed(|v| number::<u64>(v, "max-message-size").map(|_| ())),
        "sctpmap" => Kind::Typed(typed::<legacy::SctpMap>),
        "crypto" => Kind::Typed(typed::<legacy::Crypto>),
        _ => return None,
    })
}

/// Checks a known attribute's value against its grammar; unknown names pass.
pub(crate) fn check(name: &str, value: Option<&str>) -> Result<(), AttributeError> {
    match (kind_of(name), value) {
        // RFC 8866 §9: attribute-name = token. Unknown attributes are otherwise kept as they
        // are (RFC 8866 §5.13: ignore what you do not understand).
        (None, _) if !is_token(name) => Err(AttributeError::BadValue("attribute-name")),
        (None, _) => Ok(()),
        (Some(Kind::Flag), None) => Ok(()),
        (Some(Kind::Flag), Some(_)) => Err(AttributeError::UnexpectedValue),
        (Some(_), None) => Err(AttributeError::MissingValue),
        // Only `mid` is a bare token (RFC 5888 §4: identification-tag = token).
        (Some(Kind::Token), Some(v)) => token(v, "mid"),
        (Some(Kind::Typed(f)), Some(v)) => f(v),
    }
}

/// A decimal number made only of ASCII digits (no sign, no spaces), in range for `T`.
pub(crate) fn digits<T: FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// [`digits`], or `BadNumber(field)`.
pub(crate) fn number<T: FromStr>(s: &str, field: &'static str) -> Result<T, AttributeError> {
    digits(s).ok_or(AttributeError::BadNumber(field))
}

/// Whitespace-separated fields of an attribute value.
pub(crate) struct Fields<'a> {
    rest: &'a str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Self { rest: s }
    }

    /// The next field, or `None` at the end.
    pub(crate) fn next_opt(&mut self) -> Option<&'a str> {
        let s = skip_blanks(self.rest);
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let end = s.bytes().position(is_blank).unwrap_or(s.len());
        // `end` indexes an ASCII byte (or the end), so it is a char boundary.
        let (field, rest) = s.split_at_checked(end).unwrap_or((s, ""));
        self.rest = rest;
        Some(field)
    }

    /// The next field, or `MissingField(field)`.
    pub(crate) fn need(&mut self, field: &'static str) -> Result<&'a str, AttributeError> {
        self.next_opt().ok_or(AttributeError::MissingField(field))
    }

    /// Everything left, without leading whitespace (may be empty).
    pub(crate) fn rest(&self) -> &'a str {
        skip_blanks(self.rest)
    }

    /// `TrailingFields` unless nothing is left.
    pub(crate) fn end(&mut self) -> Result<(), AttributeError> {
        match self.next_opt() {
            None => Ok(()),
            Some(_) => Err(AttributeError::TrailingFields),
        }
    }
}

/// SP or HTAB.
pub(crate) fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading SP/HTAB.
pub(crate) fn skip_blanks(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| is_blank(b)).count();
    s.get(n..).unwrap_or_default()
}

/// `Err(BadValue(field))` unless `s` is an RFC 8866 token.
pub(crate) fn token(s: &str, field: &'static str) -> Result<(), AttributeError> {
    if is_token(s) {
        Ok(())
    } else {
        Err(AttributeError::BadValue(field))
    }
}
