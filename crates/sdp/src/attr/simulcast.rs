//! RID and simulcast: `a=rid` (RFC 8851 §10) and `a=simulcast` (RFC 8853 §5.1).

use std::fmt;

use super::{Fields, number};
use crate::attribute::AttributeValue;
use crate::error::AttributeError;

/// RFC 8851 §10: rid-id = 1*(alpha-numeric / "-" / "_").
fn rid_id(s: &str) -> Result<(), AttributeError> {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(AttributeError::BadValue("rid-id"))
    }
}

/// The direction of a RID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RidDirection {
    /// `send`
    Send,
    /// `recv`
    Recv,
}

impl RidDirection {
    fn as_str(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Recv => "recv",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "send" => Some(Self::Send),
            "recv" => Some(Self::Recv),
            _ => None,
        }
    }
}

/// `a=rid:<id> send|recv [pt=<fmt>,...;<restriction>=<value>;...]` (RFC 8851 §10).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rid {
    /// The RTP stream id.
    pub id: String,
    /// Direction.
    pub direction: RidDirection,
    /// The `pt=` list (empty when absent).
    pub payload_types: Vec<u8>,
    /// Other restrictions (`max-width=1280`, `depend=a,b`), in order.
    pub restrictions: Vec<(String, Option<String>)>,
}

impl AttributeValue for Rid {
    const NAME: &'static str = "rid";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut f = Fields::new(value);
        let id = f.need("rid-id")?;
        rid_id(id)?;
        let direction =
            RidDirection::parse(f.need("rid-dir")?).ok_or(AttributeError::BadValue("rid-dir"))?;
        let params = f.next_opt().unwrap_or("");
        f.end()?;
        let mut rid = Rid {
            id: id.to_owned(),
            direction,
            payload_types: Vec::new(),
            restrictions: Vec::new(),
        };
        for (i, p) in params.split(';').filter(|p| !p.is_empty()).enumerate() {
            let (k, v) = match p.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (p, None),
            };
            // RFC 8851 §10: the pt= list, when present, comes first.
            if i == 0 && k == "pt" {
                for pt in v.unwrap_or_default().split(',') {
                    let pt: u8 = number(pt, "pt")?;
                    if pt > 127 {
                        return Err(AttributeError::BadNumber("pt"));
                    }
                    rid.payload_types.push(pt);
                }
                if rid.payload_types.is_empty() {
                    return Err(AttributeError::MissingField("pt"));
                }
                continue;
            }
            // rid-param = 1*(alpha-numeric / "-") ["=" param-val]
            if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(AttributeError::BadValue("rid-param"));
            }
            rid.restrictions.push((k.to_owned(), v.map(str::to_owned)));
        }
        Ok(rid)
    }
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.direction.as_str())?;
        let mut sep = " ";
        if !self.payload_types.is_empty() {
            f.write_str(" pt=")?;
            for (i, pt) in self.payload_types.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{pt}")?;
            }
            sep = ";";
        }
        for (k, v) in &self.restrictions {
            write!(f, "{sep}{k}")?;
            if let Some(v) = v {
                write!(f, "={v}")?;
            }
            sep = ";";
        }
        Ok(())
    }
}

/// One simulcast stream alternative: a RID, maybe paused (`~`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SimulcastId {
    /// The RID.
    pub rid: String,
    /// Whether it starts paused (`~rid`).
    pub paused: bool,
}

/// `a=simulcast:send <streams> [recv <streams>]` (RFC 8853 §5.1). Each stream is a list of
/// alternatives (`1,2` in `send 1,2;3`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Simulcast {
    /// Streams sent.
    pub send: Vec<Vec<SimulcastId>>,
    /// Streams received.
    pub recv: Vec<Vec<SimulcastId>>,
}

fn parse_streams(s: &str) -> Result<Vec<Vec<SimulcastId>>, AttributeError> {
    let mut streams = Vec::new();
    for alt in s.split(';') {
        let mut alts = Vec::new();
        for id in alt.split(',') {
            let (paused, rid) = match id.strip_prefix('~') {
                Some(r) => (true, r),
                None => (false, id),
            };
            rid_id(rid)?;
            alts.push(SimulcastId {
                rid: rid.to_owned(),
                paused,
            });
        }
        streams.push(alts);
    }
    Ok(streams)
}

fn write_streams(f: &mut fmt::Formatter<'_>, streams: &[Vec<SimulcastId>]) -> fmt::Result {
    for (i, alts) in streams.iter().enumerate() {
        if i > 0 {
            f.write_str(";")?;
        }
        for (j, id) in alts.iter().enumerate() {
            if j > 0 {
                f.write_str(",")?;
            }
            if id.paused {
                f.write_str("~")?;
            }
            f.write_str(&id.rid)?;
        }
    }
    Ok(())
}

impl AttributeValue for Simulcast {
    const NAME: &'static str = "simulcast";

    fn parse_value(value: &str) -> Result<Self, AttributeError> {
        let mut f = Fields::new(value);
        let mut sc = Simulcast::default();
        // RFC 8853 §5.1: sc-value = (sc-send [SP sc-recv]) / (sc-recv [SP sc-send])
        while let Some(dir) = f.next_opt() {
            let list = f.need("sc-str-list")?;
            let target = match dir {
                "send" if sc.send.is_empty() => &mut sc.send,
                "recv" if sc.recv.is_empty() => &mut sc.recv,
                _ => return Err(AttributeError::BadValue("sc-dir")),
            };
            *target = parse_streams(list)?;
        }
        if sc.send.is_empty() && sc.recv.is_empty() {
            return Err(AttributeError::MissingField("sc-send"));
        }
        Ok(sc)
    }
}

impl fmt::Display for Simulcast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.send.is_empty() {
            f.write_str("send ")?;
            write_streams(f, &self.send)?;
        }
        if !self.recv.is_empty() {
            if !self.send.is_empty() {
                f.write_str(" ")?;
            }
            f.write_str("recv ")?;
            write_streams(f, &self.recv)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8853_examples() {
        let s = Simulcast::parse_value("send 1;2,3 recv 4").unwrap();
        assert_eq!(s.send.len(), 2);
        assert_eq!(s.send[1].len(), 2);
        assert_eq!(s.recv[0][0].rid, "4");
        assert_eq!(s.to_string(), "send 1;2,3 recv 4");
        let r = Simulcast::parse_value("recv 1;~2 send 3").unwrap();
        assert!(r.recv[1][0].paused);
        assert_eq!(r.to_string(), "send 3 recv 1;~2");
        assert_eq!(
            Simulcast::parse_value("send a send b"),
            Err(AttributeError::BadValue("sc-dir"))
        );
        assert_eq!(
            Simulcast::parse_value("send"),
            Err(AttributeError::MissingField("sc-str-list"))
        );
        assert_eq!(
            Simulcast::parse_value("send a;;b"),
            Err(AttributeError::BadValue("rid-id"))
        );
        assert_eq!(
            Simulcast::parse_value(""),
            Err(AttributeError::MissingField("sc-send"))
        );
    }

    #[test]
    fn rfc8851_examples() {
        let r = Rid::parse_value("1 send pt=97,98;max-width=1280;max-height=720").unwrap();
        assert_eq!(r.direction, RidDirection::Send);
        assert_eq!(r.payload_types, [97, 98]);
        assert_eq!(r.restrictions.len(), 2);
        assert_eq!(
            r.to_string(),
            "1 send pt=97,98;max-width=1280;max-height=720"
        );
        let d = Rid::parse_value("5 recv depend=1,2").unwrap();
        assert_eq!(
            d.restrictions[0],
            ("depend".to_owned(), Some("1,2".to_owned()))
        );
        assert_eq!(
            Rid::parse_value("x both"),
            Err(AttributeError::BadValue("rid-dir"))
        );
        assert_eq!(
            Rid::parse_value("x send pt=300"),
            Err(AttributeError::BadNumber("pt"))
        );
        assert_eq!(
            Rid::parse_value("a.b send"),
            Err(AttributeError::BadValue("rid-id"))
        );
    }
}
