//! RTP attributes: `a=rtpmap`, `a=fmtp`, direction, `a=ptime` (RFC 8866 §6), `a=rtcp-fb`
//! (RFC 4585 §4.2), `a=extmap` (RFC 8285 §8), `a=rtcp` (RFC 3605 §2.1), `a=ssrc` and
//! `a=ssrc-group` (RFC 5576 §4).

use std::fmt;

use super::{Fields, number, token};
use crate::attribute::AttributeValue;
use crate::error::AttributeError;

/// RTP payload type: 0..=127.
fn payload_type(s: &str) -> Result<u8, AttributeError> {
    let pt: u8 = number(s, "payload-type")?;
    if pt > 127 {
        return Err(AttributeError::BadNumber("payload-type"));
    }
    Ok(pt)
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`
/// (RFC 8866 §6.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtpMap {
    /// Payload type.
    pub payload_type: u8,
    /// `opus`, `VP8`, `rtx`, … as written.
    pub encoding_name: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters: the channel count for audio.
    pub channels: Option<u16>,
}

fn rtpmap_fields(v: &str) -> Result<(u8, &str, u32, Option<u16>), AttributeError> {
    let mut f = Fields::new(v);
    let pt = payload_type(f.need("payload-type")?)?;
    let enc = f.need("encoding-name")?;
    f.end()?;
    let mut parts = enc.split('/');
    let name = parts.next().unwrap_or_default();
    token(name, "encoding-name")?;
    let rate: u32 = number(parts.next().unwrap_or_default(), "clock-rate")?;
    let channels = match parts.next() {
        Some(c) => Some(number(c, "encoding-parameters")?),
        None => None,
    };
    if parts.next().is_some() {
        return Err(AttributeError::TrailingFields);
    }
    Ok((pt, name, rate, channels))
}

pub(crate) fn check_rtpmap(v: &str) -> Result<(), AttributeError> {
    rtpmap_fields(v).map(|_| ())
}

impl AttributeValue for RtpMap {
    const NAME: &'static str = "rtpmap";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let (payload_type, name, clock_rate, channels) = rtpmap_fields(value)?;
        Ok(Self {
            payload_type,
            encoding_name: name.to_owned(),
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for RtpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding_name, self.clock_rate
        )?;
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// One `key=value` (or bare `value`, as in `a=fmtp:63 111/111`) of an `a=fmtp`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FmtpParameter {
    /// The key, or the whole parameter when it has no `=`.
    pub key: String,
    /// The value after `=`.
    pub value: Option<String>,
}

/// `a=fmtp:<format> <format specific parameters>` (RFC 8866 §6.15), parameters split on `;`
/// into key/values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fmtp {
    /// The format (payload type for RTP) as written.
    pub format: String,
    /// Parameters in order.
    pub parameters: Vec<FmtpParameter>,
}

impl Fmtp {
    /// The payload type, when the format is an RTP payload type number.
    pub fn payload_type(&self) -> Option<u8> {
        payload_type(&self.format).ok()
    }

    /// The value of `key` (case-insensitive, as RFC 6838 media type parameters are).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|p| p.key.eq_ignore_ascii_case(key))
            .and_then(|p| p.value.as_deref())
    }
}

/// Splits `a=fmtp` parameters; a parameter is `key=value` or a bare value, separated by `;`
/// with optional spaces.
fn fmtp_params(params: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    params
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (p, None),
        })
}

fn fmtp_fields(v: &str) -> Result<(&str, &str), AttributeError> {
    let v = v.trim_start();
    let (format, params) = match v.bytes().position(super::is_blank) {
        Some(i) => v.split_at_checked(i).unwrap_or((v, "")),
        None => return Err(AttributeError::MissingField("format-specific-params")),
    };
    token(format, "format")?;
    let params = params.trim();
    for (k, _) in fmtp_params(params) {
        if k.is_empty() {
            return Err(AttributeError::BadValue("fmtp parameter"));
        }
    }
    Ok((format, params))
}

pub(crate) fn check_fmtp(v: &str) -> Result<(), AttributeError> {
    fmtp_fields(v).map(|_| ())
}

impl AttributeValue for Fmtp {
    const NAME: &'static str = "fmtp";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let (format, params) = fmtp_fields(value)?;
        Ok(Self {
            format: format.to_owned(),
            parameters: fmtp_params(params)
                .map(|(k, v)| FmtpParameter {
                    key: k.to_owned(),
                    value: v.map(str::to_owned),
                })
                .collect(),
        })
    }
}

impl fmt::Display for Fmtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format)?;
        for (i, p) in self.parameters.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ";" })?;
            f.write_str(&p.key)?;
            if let Some(v) = &p.value {
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

/// `a=rtcp-fb:<payload type|*> <type> [<parameter>]` (RFC 4585 §4.2), e.g. `nack pli`,
/// `ccm fir`, `transport-cc`, `goog-remb`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtcpFb {
    /// The payload type, or `None` for `*` (all formats).
    pub payload_type: Option<u8>,
    /// The feedback type: `nack`, `ccm`, `trr-int`, `transport-cc`, …
    pub feedback_type: String,
    /// The rest (`pli`, `fir`, a trr-int value), space-separated text as written.
    pub parameter: Option<String>,
}

fn rtcp_fb_fields(v: &str) -> Result<(Option<u8>, &str, Option<&str>), AttributeError> {
    let mut f = Fields::new(v);
    let pt = match f.need("rtcp-fb-pt")? {
        "*" => None,
        s => Some(payload_type(s)?),
    };
    let ty = f.need("rtcp-fb-val")?;
    token(ty, "rtcp-fb-val")?;
    let rest = f.rest().trim_end();
    Ok((pt, ty, if rest.is_empty() { None } else { Some(rest) }))
}

pub(crate) fn check_rtcp_fb(v: &str) -> Result<(), AttributeError> {
    rtcp_fb_fields(v).map(|_| ())
}

impl AttributeValue for RtcpFb {
    const NAME: &'static str = "rtcp-fb";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let (payload_type, ty, param) = rtcp_fb_fields(value)?;
        Ok(Self {
            payload_type,
            feedback_type: ty.to_owned(),
            parameter: param.map(str::to_owned),
        })
    }
}

impl fmt::Display for RtcpFb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.payload_type {
            Some(pt) => write!(f, "{pt} {}", self.feedback_type)?,
            None => write!(f, "* {}", self.feedback_type)?,
        }
        if let Some(p) = &self.parameter {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// A media direction: `a=sendrecv|sendonly|recvonly|inactive` (RFC 8866 §6.7), also used by
/// `a=extmap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `sendrecv`
    SendRecv,
    /// `sendonly`
    SendOnly,
    /// `recvonly`
    RecvOnly,
    /// `inactive`
    Inactive,
}

impl Direction {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// Parses a keyword.
    pub fn from_keyword(s: &str) -> Option<Self> {
        Some(match s {
            "sendrecv" => Self::SendRecv,
            "sendonly" => Self::SendOnly,
            "recvonly" => Self::RecvOnly,
            "inactive" => Self::Inactive,
            _ => return None,
        })
    }

    /// The direction the other side should answer with (JSEP RFC 8829 §5.3.1): send and
    /// receive swap.
    pub fn reverse(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            d => d,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=extmap:<id>[/<direction>] <uri> [<extension attributes>]` (RFC 8285 §8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extmap {
    /// Local identifier: 1-14 for one-byte headers, up to 255 for two-byte (4096-4351 are
    /// reserved for negotiation).
    pub id: u16,
    /// Direction, when given.
    pub direction: Option<Direction>,
    /// The extension URI.
    pub uri: String,
    /// Extension attributes, as written.
    pub attributes: Option<String>,
}

/// `(id, direction, uri, extension attributes)` of an `a=extmap`, borrowed.
type ExtmapFields<'a> = (u16, Option<Direction>, &'a str, Option<&'a str>);

fn extmap_fields(v: &str) -> Result<ExtmapFields<'_>, AttributeError> {
    let mut f = Fields::new(v);
    let head = f.need("extmap-id")?;
    let (id, dir) = match head.split_once('/') {
        Some((id, d)) => (
            id,
            Some(Direction::from_keyword(d).ok_or(AttributeError::BadValue("direction"))?),
        ),
        None => (head, None),
    };
    let id: u16 = number(id, "extmap-id")?;
    // RFC 8285 §5: ids 1-14 (one-byte) or 1-255 (two-byte); 4096-4351 in offers only.
    if id == 0 || (id > 255 && !(4096..=4351).contains(&id)) {
        return Err(AttributeError::BadNumber("extmap-id"));
    }
    let uri = f.need("uri")?;
    let rest = f.rest().trim_end();
    Ok((
        id,
        dir,
        uri,
        if rest.is_empty() { None } else { Some(rest) },
    ))
}

pub(crate) fn check_extmap(v: &str) -> Result<(), AttributeError> {
    extmap_fields(v).map(|_| ())
}

impl AttributeValue for Extmap {
    const NAME: &'static str = "extmap";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let (id, direction, uri, attributes) = extmap_fields(value)?;
        Ok(Self {
            id,
            direction,
            uri: uri.to_owned(),
            attributes: attributes.map(str::to_owned),
        })
    }
}

impl fmt::Display for Extmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(d) = self.direction {
            write!(f, "/{d}")?;
        }
        write!(f, " {}", self.uri)?;
        if let Some(a) = &self.attributes {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605 §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rtcp {
    /// RTCP port.
    pub port: u16,
    /// `(nettype, addrtype, address)`, e.g. `("IN", "IP4", "0.0.0.0")`.
    pub address: Option<(String, String, String)>,
}

impl AttributeValue for Rtcp {
    const NAME: &'static str = "rtcp";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut f = Fields::new(value);
        let port = number(f.need("port")?, "port").map_err(|_| AttributeError::BadPort("port"))?;
        let address = match f.next_opt() {
            None => None,
            Some(net) => {
                let addrtype = f.need("addrtype")?;
                let addr = f.need("connection-address")?;
                f.end()?;
                token(net, "nettype")?;
                token(addrtype, "addrtype")?;
                Some((net.to_owned(), addrtype.to_owned(), addr.to_owned()))
            }
        };
        Ok(Self { port, address })
    }
}

impl fmt::Display for Rtcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.port)?;
        if let Some((n, t, a)) = &self.address {
            write!(f, " {n} {t} {a}")?;
        }
        Ok(())
    }
}

/// `a=ssrc:<ssrc-id> <attribute>[:<value>]` (RFC 5576 §4.1), e.g. `cname:...`,
/// `msid:<stream> <track>`, and the legacy Plan B `mslabel:` / `label:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ssrc {
    /// The SSRC.
    pub ssrc: u32,
    /// The source attribute name.
    pub attribute: String,
    /// Its value (may contain spaces).
    pub value: Option<String>,
}

fn ssrc_fields(v: &str) -> Result<(u32, &str, Option<&str>), AttributeError> {
    let v = v.trim_start();
    let (id, rest) = v.split_once([' ', '\t']).unwrap_or((v, ""));
    let ssrc: u32 = number(id, "ssrc-id")?;
    let rest = rest.trim_start();
    let (name, value) = match rest.split_once(':') {
        Some((n, val)) => (n, Some(val)),
        None => (rest.trim_end(), None),
    };
    token(name, "attribute")?;
    Ok((ssrc, name, value))
}

pub(crate) fn check_ssrc(v: &str) -> Result<(), AttributeError> {
    ssrc_fields(v).map(|_| ())
}

impl AttributeValue for Ssrc {
    const NAME: &'static str = "ssrc";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let (ssrc, name, value) = ssrc_fields(value)?;
        Ok(Self {
            ssrc,
            attribute: name.to_owned(),
            value: value.map(str::to_owned),
        })
    }
}

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.ssrc, self.attribute)?;
        if let Some(v) = &self.value {
            write!(f, ":{v}")?;
        }
        Ok(())
    }
}

/// `a=ssrc-group:<semantics> <ssrc-id> ...` (RFC 5576 §4.2): `FID` (RTX, RFC 4588),
/// `FEC-FR` (RFC 5956), `SIM` (legacy simulcast).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SsrcGroup {
    /// The semantics token.
    pub semantics: String,
    /// The SSRCs, in order.
    pub ssrcs: Vec<u32>,
}

impl AttributeValue for SsrcGroup {
    const NAME: &'static str = "ssrc-group";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut f = Fields::new(value);
        let semantics = f.need("semantics")?;
        token(semantics, "semantics")?;
        let mut ssrcs = Vec::new();
        while let Some(s) = f.next_opt() {
            ssrcs.push(number(s, "ssrc-id")?);
        }
        if ssrcs.is_empty() {
            return Err(AttributeError::MissingField("ssrc-id"));
        }
        Ok(Self {
            semantics: semantics.to_owned(),
            ssrcs,
        })
    }
}

impl fmt::Display for SsrcGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for s in &self.ssrcs {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

/// `a=framerate:<frame rate>` (RFC 8866 §6.13): a positive decimal number.
pub(crate) fn parse_framerate(v: &str) -> Result<f64, AttributeError> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && v.bytes().filter(|&b| b == b'.').count() <= 1;
    match v.parse::<f64>() {
        Ok(x) if ok && x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(AttributeError::BadNumber("framerate")),
    }
}

pub(crate) fn check_framerate(v: &str) -> Result<(), AttributeError> {
    parse_framerate(v).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtpmap_rfc8866_examples() {
        let m = RtpMap::parse_value("98 L16/16000/2").unwrap();
        assert_eq!(
            (
                m.payload_type,
                m.encoding_name.as_str(),
                m.clock_rate,
                m.channels
            ),
            (98, "L16", 16000, Some(2))
        );
        assert_eq!(m.to_string(), "98 L16/16000/2");
        assert_eq!(
            RtpMap::parse_value("128 X/1"),
            Err(AttributeError::BadNumber("payload-type"))
        );
        assert_eq!(
            RtpMap::parse_value("96 VP8"),
            Err(AttributeError::BadNumber("clock-rate"))
        );
        assert_eq!(
            RtpMap::parse_value("96 VP8/90000/1/2"),
            Err(AttributeError::TrailingFields)
        );
        assert_eq!(
            RtpMap::parse_value("96 VP8/90000 x"),
            Err(AttributeError::TrailingFields)
        );
    }

    #[test]
    fn fmtp_key_values() {
        let f = Fmtp::parse_value(
            "102 level-asymmetry-allowed=1;packetization-mode=1; profile-level-id=42001f",
        )
        .unwrap();
        assert_eq!(f.payload_type(), Some(102));
        assert_eq!(f.get("PROFILE-LEVEL-ID"), Some("42001f"));
        assert_eq!(f.parameters.len(), 3);
        assert_eq!(
            f.to_string(),
            "102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f"
        );
        let dtmf = Fmtp::parse_value("101 0-15").unwrap();
        assert_eq!(
            dtmf.parameters[0],
            FmtpParameter {
                key: "0-15".into(),
                value: None
            }
        );
        assert_eq!(
            Fmtp::parse_value("101"),
            Err(AttributeError::MissingField("format-specific-params"))
        );
        assert_eq!(
            Fmtp::parse_value("101 =1"),
            Err(AttributeError::BadValue("fmtp parameter"))
        );
    }

    #[test]
    fn rtcp_fb_rfc4585_examples() {
        let w = RtcpFb::parse_value("* nack").unwrap();
        assert_eq!(w.payload_type, None);
        assert_eq!(w.to_string(), "* nack");
        let t = RtcpFb::parse_value("98 trr-int 100").unwrap();
        assert_eq!(t.parameter.as_deref(), Some("100"));
        let p = RtcpFb::parse_value("96 ccm tmmbr smaxpr=120").unwrap();
        assert_eq!(p.parameter.as_deref(), Some("tmmbr smaxpr=120"));
        assert_eq!(
            RtcpFb::parse_value("96"),
            Err(AttributeError::MissingField("rtcp-fb-val"))
        );
    }

    #[test]
    fn extmap_rfc8285_examples() {
        let e = Extmap::parse_value("2/sendrecv http://example.com/082005/ext.htm#xmeta short")
            .unwrap();
        assert_eq!(e.id, 2);
        assert_eq!(e.direction, Some(Direction::SendRecv));
        assert_eq!(e.attributes.as_deref(), Some("short"));
        assert_eq!(
            e.to_string(),
            "2/sendrecv http://example.com/082005/ext.htm#xmeta short"
        );
        assert_eq!(
            Extmap::parse_value("0 urn:x").unwrap_err(),
            AttributeError::BadNumber("extmap-id")
        );
        assert_eq!(
            Extmap::parse_value("256 urn:x").unwrap_err(),
            AttributeError::BadNumber("extmap-id")
        );
        assert_eq!(Extmap::parse_value("4096 urn:x").unwrap().id, 4096);
        assert_eq!(
            Extmap::parse_value("1/both urn:x").unwrap_err(),
            AttributeError::BadValue("direction")
        );
    }

    #[test]
    fn ssrc_and_groups_rfc5576() {
        let s = Ssrc::parse_value("314159 cname:user@example.com").unwrap();
        assert_eq!(
            (s.ssrc, s.attribute.as_str(), s.value.as_deref()),
            (314159, "cname", Some("user@example.com"))
        );
        let m = Ssrc::parse_value("1 msid:stream track").unwrap();
        assert_eq!(m.value.as_deref(), Some("stream track"));
        let flag = Ssrc::parse_value("7 x-flag").unwrap();
        assert_eq!(flag.value, None);
        assert_eq!(
            Ssrc::parse_value("4294967296 cname:x"),
            Err(AttributeError::BadNumber("ssrc-id"))
        );
        let fec = SsrcGroup::parse_value("FEC-FR 1234 5678").unwrap();
        assert_eq!(
            (fec.semantics.as_str(), fec.ssrcs.as_slice()),
            ("FEC-FR", &[1234, 5678][..])
        );
        let sim = SsrcGroup::parse_value("SIM 1 2 3").unwrap();
        assert_eq!(sim.to_string(), "SIM 1 2 3");
        assert_eq!(
            SsrcGroup::parse_value("FID"),
            Err(AttributeError::MissingField("ssrc-id"))
        );
    }

    #[test]
    fn rtcp_rfc3605() {
        assert_eq!(
            Rtcp::parse_value("53020").unwrap(),
            Rtcp {
                port: 53020,
                address: None
            }
        );
        let r = Rtcp::parse_value("53020 IN IP6 2001:2345:6789:ABCD:EF01:2345:6789:ABCD").unwrap();
        assert_eq!(r.address.unwrap().1, "IP6");
        assert_eq!(
            Rtcp::parse_value("70000"),
            Err(AttributeError::BadPort("port"))
        );
        assert_eq!(
            Rtcp::parse_value("9 IN"),
            Err(AttributeError::MissingField("addrtype"))
        );
    }

    #[test]
    fn framerate() {
        assert_eq!(parse_framerate("29.97"), Ok(29.97));
        assert_eq!(parse_framerate("30"), Ok(30.0));
        assert!(parse_framerate("0").is_err());
        assert!(parse_framerate("1e3").is_err());
        assert!(parse_framerate("NaN").is_err());
        assert!(parse_framerate("1.2.3").is_err());
    }

    #[test]
    fn direction_reverse() {
        assert_eq!(Direction::SendOnly.reverse(), Direction::RecvOnly);
        assert_eq!(Direction::Inactive.reverse(), Direction::Inactive);
        assert_eq!(
            Direction::from_keyword("recvonly"),
            Some(Direction::RecvOnly)
        );
        assert_eq!(Direction::from_keyword("both"), None);
    }
}
