//! Every RFC 8866 line type, the §5 example and the §5 line-order rules.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tern_sdp::*;

/// The example of RFC 8866 §5, plus r=, z=, k=, b= and a multicast c= (§5.7, §5.10, §5.11).
const RFC8866_EXAMPLE: &str = "v=0\r\n\
o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\r\n\
s=Call to John Smith\r\n\
i=SDP Offer #1\r\n\
u=http://www.jdoe.example.com/home.html\r\n\
e=Jane Doe <jane@jdoe.example.com>\r\n\
p=+1 617 555-6011\r\n\
c=IN IP4 198.51.100.1\r\n\
b=CT:128\r\n\
t=0 0\r\n\
t=3724394400 3724398000\r\n\
r=604800 3600 0 90000\r\n\
r=7d 1h 0 25h\r\n\
z=2882844526 -1h 2898848070 0\r\n\
k=prompt\r\n\
a=recvonly\r\n\
m=audio 49170 RTP/AVP 0\r\n\
m=audio 49180 RTP/AVP 0\r\n\
m=video 51372/2 RTP/AVP 99\r\n\
i=main camera\r\n\
c=IN IP6 2001:db8::2\r\n\
c=IN IP4 233.252.0.1/127/3\r\n\
b=AS:512\r\n\
k=clear:secret\r\n\
a=rtpmap:99 h263-1998/90000\r\n";

#[test]
fn rfc8866_example_all_line_types() {
    let (sdp, warnings) =
        SessionDescription::parse_with(RFC8866_EXAMPLE, &ParseOptions::strict()).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(sdp.to_string(), RFC8866_EXAMPLE);
    let o = &sdp.origin;
    assert_eq!(
        (
            o.username.as_str(),
            o.session_id,
            o.session_version,
            o.network_type.as_str(),
            o.address_type.as_str(),
            o.unicast_address.as_str()
        ),
        ("jdoe", 3724394400, 3724394405, "IN", "IP4", "198.51.100.1")
    );
    assert_eq!(sdp.session_name, "Call to John Smith");
    assert_eq!(sdp.information.as_deref(), Some("SDP Offer #1"));
    assert_eq!(
        sdp.uri.as_deref(),
        Some("http://www.jdoe.example.com/home.html")
    );
    assert_eq!(sdp.emails, ["Jane Doe <jane@jdoe.example.com>"]);
    assert_eq!(sdp.phones, ["+1 617 555-6011"]);
    assert_eq!(sdp.connection.as_ref().unwrap().address, "198.51.100.1");
    assert_eq!(
        sdp.bandwidths,
        [Bandwidth {
            bwtype: "CT".into(),
            bandwidth: 128
        }]
    );
    assert_eq!(sdp.timings.len(), 2);
    let t = &sdp.timings[1];
    assert_eq!((t.start, t.stop), (3724394400, 3724398000));
    assert_eq!(t.repeats.len(), 2);
    // §5.10: both r= lines say the same thing, in seconds and in units.
    for r in &t.repeats {
        assert_eq!(r.interval.seconds(), 604800);
        assert_eq!(r.active_duration.seconds(), 3600);
        assert_eq!(
            r.offsets.iter().map(TypedTime::seconds).collect::<Vec<_>>(),
            [0, 90000]
        );
    }
    assert_eq!(
        t.repeats[1].interval,
        TypedTime {
            value: 7,
            unit: Some(TimeUnit::Days)
        }
    );
    assert_eq!(sdp.time_zones.len(), 2);
    assert_eq!(sdp.time_zones[0].time, 2882844526);
    assert_eq!(sdp.time_zones[0].offset.seconds(), -3600);
    assert_eq!(sdp.encryption_key.as_deref(), Some("prompt"));
    assert_eq!(sdp.direction(), Some(Direction::RecvOnly));
    assert_eq!(sdp.media.len(), 3);
    let v = &sdp.media[2];
    assert_eq!(
        (v.kind.clone(), v.port, v.port_count),
        (MediaKind::Video, 51372, Some(2))
    );
    assert_eq!(v.information.as_deref(), Some("main camera"));
    assert_eq!(v.connections.len(), 2);
    assert_eq!(v.connections[0].address_type, "IP6");
    let mc = &v.connections[1];
    assert_eq!(
        (mc.address.as_str(), mc.ttl, mc.number_of_addresses),
        ("233.252.0.1", Some(127), Some(3))
    );
    assert_eq!(v.bandwidths[0].bandwidth, 512);
    assert_eq!(v.encryption_key.as_deref(), Some("clear:secret"));
    assert_eq!(v.rtpmap(99).unwrap().encoding_name, "h263-1998");
}

#[test]
fn bare_lf_accepted_and_emitted_as_crlf() {
    let lf = RFC8866_EXAMPLE.replace("\r\n", "\n");
    let (sdp, warnings) = SessionDescription::parse_with(&lf, &ParseOptions::strict()).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(sdp.to_string(), RFC8866_EXAMPLE);
    // No final newline at all.
    let trimmed = RFC8866_EXAMPLE.trim_end();
    assert_eq!(
        SessionDescription::parse(trimmed).unwrap().to_string(),
        RFC8866_EXAMPLE
    );
}

const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";

fn err(text: &str) -> ParseError {
    SessionDescription::parse(text).unwrap_err()
}

#[test]
fn mandatory_lines() {
    assert!(matches!(
        err(""),
        ParseError::MissingVersion { line: 1, .. }
    ));
    assert!(matches!(
        err("o=- 1 1 IN IP4 0.0.0.0\r\n"),
        ParseError::MissingVersion { line: 1, .. }
    ));
    assert!(matches!(
        err("v=1\r\n"),
        ParseError::InvalidLine {
            line: 1,
            kind: 'v',
            reason: LineFault::UnsupportedVersion,
            ..
        }
    ));
    assert_eq!(
        err("v=0\r\ns=-\r\nt=0 0\r\n"),
        ParseError::MissingLine { kind: 'o' }
    );
    assert_eq!(
        err("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nt=0 0\r\n"),
        ParseError::MissingLine { kind: 's' }
    );
    assert_eq!(
        err("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n"),
        ParseError::MissingLine { kind: 't' }
    );
    assert_eq!(
        ParseError::MissingLine { kind: 't' }.to_string(),
        "missing mandatory t= line"
    );
}

#[test]
fn malformed_lines_name_line_and_text() {
    let e = err(&format!("{HEAD}hello\r\n"));
    assert_eq!(
        e,
        ParseError::MalformedLine {
            line: 5,
            text: "hello".into()
        }
    );
    assert_eq!(e.line(), Some(5));
    assert!(e.to_string().starts_with("line 5:"), "{e}");
    // RFC 8866 §5: an unknown type letter rejects the description.
    assert_eq!(
        err(&format!("{HEAD}x=whatever\r\n")),
        ParseError::UnknownLineType {
            line: 5,
            kind: 'x',
            text: "x=whatever".into()
        }
    );
    assert!(matches!(
        err("v=0\r\no=- abc 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"),
        ParseError::InvalidLine {
            line: 2,
            kind: 'o',
            reason: LineFault::BadNumber("sess-id"),
            ..
        }
    ));
    assert!(matches!(
        err("v=0\r\no=- 1 1 IN IP4\r\ns=-\r\nt=0 0\r\n"),
        ParseError::InvalidLine {
            line: 2,
            kind: 'o',
            reason: LineFault::MissingField("unicast-address"),
            ..
        }
    ));
    assert!(matches!(
        err(&format!("{HEAD}m=audio x RTP/AVP 0\r\n")),
        ParseError::InvalidLine {
            line: 5,
            kind: 'm',
            ..
        }
    ));
    assert!(matches!(
        err(&format!("{HEAD}m=audio\r\n")),
        ParseError::InvalidLine {
            line: 5,
            kind: 'm',
            reason: LineFault::MissingField("port"),
            ..
        }
    ));
    assert!(matches!(
        err(&format!("{HEAD}b=AS\r\n")),
        ParseError::InvalidLine {
            line: 5,
            kind: 'b',
            ..
        }
    ));
    assert!(matches!(
        err("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0\r\n"),
        ParseError::InvalidLine {
            line: 4,
            kind: 't',
            ..
        }
    ));
    assert!(matches!(
        err(&format!("{HEAD}c=IN IP4 1.2.3.4/1/2/3\r\n")),
        ParseError::InvalidLine {
            line: 5,
            kind: 'c',
            ..
        }
    ));
    assert!(matches!(
        err(&format!("{HEAD}z=1\r\n")),
        ParseError::InvalidLine {
            line: 5,
            kind: 'z',
            ..
        }
    ));
    assert!(matches!(
        err(&format!("{HEAD}r=1x 1 1\r\n")),
        ParseError::InvalidLine {
            line: 5,
            kind: 'r',
            ..
        }
    ));
    // Duplicates of once-only lines, and session lines inside a media section.
    assert!(matches!(
        err(&format!("{HEAD}s=again\r\n")),
        ParseError::UnexpectedLine {
            line: 5,
            kind: 's',
            ..
        }
    ));
    assert!(matches!(
        err(&format!("{HEAD}m=audio 9 RTP/AVP 0\r\nt=0 0\r\n")),
        ParseError::UnexpectedLine {
            line: 6,
            kind: 't',
            ..
        }
    ));
    assert!(matches!(
        err(&format!("{HEAD}m=audio 9 RTP/AVP 0\r\ni=a\r\ni=b\r\n")),
        ParseError::UnexpectedLine {
            line: 7,
            kind: 'i',
            ..
        }
    ));
    assert!(matches!(
        err(&format!("{HEAD}m=audio 9 RTP/AVP 0\r\nv=0\r\n")),
        ParseError::UnexpectedLine {
            line: 6,
            kind: 'v',
            ..
        }
    ));
    assert!(matches!(
        err("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nr=1 1 1\r\nt=0 0\r\n"),
        ParseError::UnexpectedLine {
            line: 4,
            kind: 'r',
            ..
        }
    ));
}

#[test]
fn lenient_versus_strict_order_and_empty_lines() {
    // a= before c= in a media section, c= after t= at session level, and an empty line.
    let text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nc=IN IP4 192.0.2.1\r\n\r\nm=audio 9 RTP/AVP 0\r\na=sendonly\r\nc=IN IP4 192.0.2.2\r\n";
    let strict = SessionDescription::parse_with(text, &ParseOptions::strict()).unwrap_err();
    assert_eq!(
        strict,
        ParseError::UnexpectedLine {
            line: 5,
            kind: 'c',
            text: "c=IN IP4 192.0.2.1".into()
        }
    );
    let (sdp, warnings) = SessionDescription::parse_with(text, &ParseOptions::default()).unwrap();
    let kinds: Vec<_> = warnings.iter().map(|w| (w.line, w.kind)).collect();
    assert_eq!(
        kinds,
        [
            (5, WarningKind::LineOutOfOrder),
            (6, WarningKind::EmptyLine),
            (9, WarningKind::LineOutOfOrder)
        ]
    );
    assert!(warnings[0].to_string().contains("line 5"));
    assert_eq!(sdp.connection.as_ref().unwrap().address, "192.0.2.1");
    assert_eq!(sdp.media[0].connections[0].address, "192.0.2.2");
    // Emitted in canonical order; that re-parses strictly to the same model.
    let canonical = sdp.to_string();
    assert_eq!(SessionDescription::parse_strict(&canonical).unwrap(), sdp);
    assert!(canonical.find("c=IN IP4 192.0.2.1").unwrap() < canonical.find("t=0 0").unwrap());
    // m= without formats: warning in lenient mode, error in strict.
    let text = format!("{HEAD}m=application 9 DTLS/SCTP\r\n");
    let (_, w) = SessionDescription::parse_with(&text, &ParseOptions::default()).unwrap();
    assert_eq!(w[0].kind, WarningKind::NoFormats);
    assert!(matches!(
        SessionDescription::parse_strict(&text),
        Err(ParseError::InvalidLine {
            reason: LineFault::NoFormats,
            ..
        })
    ));
}

#[test]
fn unknown_and_malformed_attributes_kept_verbatim() {
    let text = format!(
        "{HEAD}a=x-google-flag:conference\r\na=weird attribute with spaces\r\nm=audio 9 RTP/AVP 0\r\n\
a=rtpmap:abc opus/48000\r\na=rtcp-mux:yes\r\na=ptime:twenty\r\na=ssrc:1 cname:x\r\n"
    );
    let (sdp, warnings) = SessionDescription::parse_with(&text, &ParseOptions::default()).unwrap();
    assert_eq!(sdp.to_string(), text);
    assert_eq!(sdp.attribute_value("x-google-flag"), Some("conference"));
    assert_eq!(sdp.attributes[1].name(), "weird attribute with spaces");
    let w: Vec<_> = warnings.iter().map(|w| (w.line, w.kind)).collect();
    assert_eq!(
        w,
        [
            (
                6,
                WarningKind::MalformedAttribute(AttributeError::BadValue("attribute-name"))
            ),
            (
                8,
                WarningKind::MalformedAttribute(AttributeError::BadNumber("payload-type"))
            ),
            (
                9,
                WarningKind::MalformedAttribute(AttributeError::UnexpectedValue)
            ),
            (
                10,
                WarningKind::MalformedAttribute(AttributeError::BadNumber("ptime"))
            ),
        ]
    );
    let m = &sdp.media[0];
    assert_eq!(m.rtpmaps().count(), 0);
    assert_eq!(m.ptime(), None);
    assert_eq!(m.ssrcs().count(), 1);
    // Strict stops at the first one, with the attribute's name and line.
    let e = SessionDescription::parse_strict(&text).unwrap_err();
    assert!(matches!(
        e,
        ParseError::InvalidAttribute {
            line: 6,
            error: AttributeError::BadValue("attribute-name"),
            ..
        }
    ));
    let text = text.replace("a=weird attribute with spaces\r\n", "");
    let e = SessionDescription::parse_strict(&text).unwrap_err();
    assert_eq!(
        e,
        ParseError::InvalidAttribute {
            line: 7,
            name: "rtpmap".into(),
            error: AttributeError::BadNumber("payload-type"),
            text: "a=rtpmap:abc opus/48000".into(),
        }
    );
    assert_eq!(
        e.to_string(),
        "line 7: invalid a=rtpmap (bad number in field payload-type): \"a=rtpmap:abc opus/48000\""
    );
}

#[test]
fn line_bound_configurable() {
    let text = format!("{HEAD}a=x\r\na=y\r\n");
    let opts = ParseOptions::default().with_max_lines(5);
    assert_eq!(
        SessionDescription::parse_with(&text, &opts).unwrap_err(),
        ParseError::TooManyLines { max: 5 }
    );
    let opts = ParseOptions::default().with_max_lines(6);
    assert!(SessionDescription::parse_with(&text, &opts).is_ok());
    let opts = ParseOptions::default().with_max_input_len(10);
    assert_eq!(
        SessionDescription::parse_with(&text, &opts).unwrap_err(),
        ParseError::InputTooLarge {
            len: text.len(),
            max: 10
        }
    );
}
