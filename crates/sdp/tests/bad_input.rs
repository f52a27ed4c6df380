//! BAD_INPUT row 38 (sdp): huge descriptions, 10k m-lines, non-UTF-8, bad fingerprint hex,
//! missing a=setup, candidate ports 0 and > 65535, tls-id. Each must give a clear error (or,
//! in lenient mode, a warning naming the line), never a panic or unbounded memory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tern_sdp::{
    AttributeError, DescriptionKind, ParseError, ParseOptions, SessionDescription, WarningKind,
    WebRtcError,
};

const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

fn data_section(extra: &str) -> String {
    format!(
        "{HEAD}a=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n{extra}a=mid:0\r\na=sctp-port:5000\r\n"
    )
}

const FP: &str = "a=fingerprint:sha-256 50:86:C0:DE:77:D1:D9:17:66:15:43:A2:91:E8:ED:25:F7:E4:85:CF:15:E0:05:8C:63:43:5B:51:8E:7C:F6:B9\r\n";

#[test]
fn bad_input_sdp_38_ten_megabyte_sdp() {
    let mut text = String::from(HEAD);
    let line =
        "a=x-filler:0123456789012345678901234567890123456789012345678901234567890123456789\r\n";
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(line);
    }
    let err = SessionDescription::parse(&text).unwrap_err();
    assert!(
        matches!(err, ParseError::InputTooLarge { max, .. } if max == 1 << 20),
        "{err}"
    );
    assert!(err.to_string().contains("more than the limit"));
    let err = SessionDescription::parse_bytes(text.as_bytes()).unwrap_err();
    assert!(matches!(err, ParseError::InputTooLarge { .. }));
    // With the size bound raised, the line bound still holds.
    let opts = ParseOptions::default().with_max_input_len(usize::MAX);
    let err = SessionDescription::parse_with(&text, &opts).unwrap_err();
    assert_eq!(err, ParseError::TooManyLines { max: 20_000 });
}

#[test]
fn bad_input_sdp_38_ten_thousand_m_lines() {
    let mut text = String::from(HEAD);
    for _ in 0..10_000 {
        text.push_str("m=audio 9 RTP/AVP 0\r\n");
    }
    let err = SessionDescription::parse(&text).unwrap_err();
    // The 513th m= line is line 4 + 513.
    assert_eq!(
        err,
        ParseError::TooManyMediaSections {
            line: 517,
            max: 512
        }
    );
    // Configurable: a higher bound accepts them all.
    let opts = ParseOptions::default().with_max_media_sections(10_000);
    let (sdp, _) = SessionDescription::parse_with(&text, &opts).unwrap();
    assert_eq!(sdp.media.len(), 10_000);
    let opts = ParseOptions::default().with_max_media_sections(2);
    assert!(matches!(
        SessionDescription::parse_with(&text, &opts),
        Err(ParseError::TooManyMediaSections { line: 7, max: 2 })
    ));
}

#[test]
fn bad_input_sdp_38_non_utf8() {
    let mut bytes = HEAD.as_bytes().to_vec();
    bytes.extend_from_slice(b"a=tool:caf\xe9\r\n");
    let err = SessionDescription::parse_bytes(&bytes).unwrap_err();
    assert_eq!(
        err,
        ParseError::InvalidUtf8 {
            line: 5,
            offset: HEAD.len() + 10
        }
    );
    assert!(err.to_string().contains("line 5"));
    // Truncated multi-byte sequence at the very end.
    let mut bytes = HEAD.as_bytes().to_vec();
    bytes.extend_from_slice(b"a=x:\xf0\x9f");
    assert!(matches!(
        SessionDescription::parse_bytes(&bytes),
        Err(ParseError::InvalidUtf8 { line: 5, .. })
    ));
    // Valid UTF-8 outside ASCII is fine and round-trips.
    let text = format!("{HEAD}a=tool:café ☕\r\n");
    let sdp = SessionDescription::parse_bytes(text.as_bytes()).unwrap();
    assert_eq!(sdp.to_string(), text);
}

#[test]
fn bad_input_sdp_38_bad_fingerprint_hex() {
    for (bad, error) in [
        (
            "a=fingerprint:sha-256 ZZ:86\r\n",
            AttributeError::BadFingerprintHex,
        ),
        (
            "a=fingerprint:sha-256 5:86:C0\r\n",
            AttributeError::BadFingerprintHex,
        ),
        (
            "a=fingerprint:sha-256 50:86:\r\n",
            AttributeError::BadFingerprintHex,
        ),
        (
            "a=fingerprint:sha-256 5086C0DE\r\n",
            AttributeError::BadFingerprintHex,
        ),
        (
            "a=fingerprint:sha-256 50:86:C0\r\n",
            AttributeError::FingerprintLength {
                hash: "sha-256",
                len: 3,
                expected: 32,
            },
        ),
        (
            "a=fingerprint:sha-256\r\n",
            AttributeError::MissingField("fingerprint"),
        ),
    ] {
        let text = data_section(&format!("{bad}a=setup:actpass\r\n"));
        let err = SessionDescription::parse_strict(&text).unwrap_err();
        assert_eq!(
            err,
            ParseError::InvalidAttribute {
                line: 10,
                name: "fingerprint".into(),
                error,
                text: bad.trim_end().into(),
            },
            "{bad}"
        );
        // Lenient: a warning on line 10, the line kept verbatim, no typed fingerprint.
        let (sdp, warnings) =
            SessionDescription::parse_with(&text, &ParseOptions::default()).unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].line, 10);
        assert_eq!(warnings[0].kind, WarningKind::MalformedAttribute(error));
        assert_eq!(sdp.media[0].fingerprints().count(), 0);
        assert_eq!(sdp.to_string(), text);
        assert_eq!(
            sdp.check_webrtc(DescriptionKind::Offer),
            Err(WebRtcError::MissingFingerprint { media: 0 })
        );
    }
    // Lower-case hex is accepted and compares equal to upper case.
    let lower = FP
        .to_ascii_lowercase()
        .replace("a=fingerprint:sha-256", "a=fingerprint:SHA-256");
    let a = SessionDescription::parse_strict(&data_section(FP)).unwrap();
    let b = SessionDescription::parse_strict(&data_section(&lower)).unwrap();
    let (fa, fb) = (
        a.media[0].fingerprints().next().unwrap(),
        b.media[0].fingerprints().next().unwrap(),
    );
    assert_eq!(fa.value, fb.value);
    assert!(fb.matches("sha-256", &fa.value));
}

#[test]
fn bad_input_sdp_38_missing_setup() {
    let text = data_section(FP);
    let sdp = SessionDescription::parse_strict(&text).unwrap();
    assert_eq!(sdp.media[0].setup(), None);
    let err = sdp.check_webrtc(DescriptionKind::Offer).unwrap_err();
    assert_eq!(err, WebRtcError::MissingSetup { media: 0 });
    assert!(err.to_string().contains("a=setup"), "{err}");
    // actpass is an offer-only role.
    let answer =
        SessionDescription::parse(&data_section(&format!("{FP}a=setup:actpass\r\n"))).unwrap();
    assert!(answer.check_webrtc(DescriptionKind::Offer).is_ok());
    assert_eq!(
        answer.check_webrtc(DescriptionKind::Answer),
        Err(WebRtcError::ActPassInAnswer { media: 0 })
    );
    // Unknown setup value: strict error, lenient warning.
    let text = data_section(&format!("{FP}a=setup:both\r\n"));
    assert!(matches!(
        SessionDescription::parse_strict(&text),
        Err(ParseError::InvalidAttribute {
            line: 11,
            error: AttributeError::BadValue("setup"),
            ..
        })
    ));
}

#[test]
fn bad_input_sdp_38_candidate_port_zero_or_too_big() {
    for (port, line_no) in [("0", 12), ("65536", 12), ("4294967296", 12), ("-5", 12)] {
        let cand = format!("a=candidate:1 1 udp 2122260223 192.0.2.1 {port} typ host\r\n");
        let text = data_section(&format!("{FP}a=setup:actpass\r\n{cand}"));
        match SessionDescription::parse_strict(&text) {
            Err(ParseError::InvalidAttribute {
                line,
                name,
                error,
                text,
            }) => {
                assert_eq!(line, line_no);
                assert_eq!(name, "candidate");
                assert_eq!(error, AttributeError::BadPort("port"));
                assert_eq!(text, cand.trim_end());
            }
            other => panic!("{port}: {other:?}"),
        }
        let (sdp, warnings) =
            SessionDescription::parse_with(&text, &ParseOptions::default()).unwrap();
        assert_eq!(warnings[0].line, line_no);
        assert_eq!(sdp.media[0].candidates().count(), 0);
    }
    // m= port out of range is an error in every mode.
    let text = format!("{HEAD}m=audio 65536 RTP/AVP 0\r\n");
    let err = SessionDescription::parse(&text).unwrap_err();
    assert!(
        matches!(
            err,
            ParseError::InvalidLine {
                line: 5,
                kind: 'm',
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bad_input_sdp_38_tls_id() {
    let good = "a=tls-id:abcdefghijklmnopqrstuvwxyz012345\r\n";
    let sdp =
        SessionDescription::parse_strict(&data_section(&format!("{FP}a=setup:actpass\r\n{good}")))
            .unwrap();
    assert_eq!(
        sdp.media[0].tls_id(),
        Some("abcdefghijklmnopqrstuvwxyz012345")
    );
    let bad = data_section(&format!("{FP}a=setup:actpass\r\na=tls-id:short\r\n"));
    assert!(matches!(
        SessionDescription::parse_strict(&bad),
        Err(ParseError::InvalidAttribute {
            error: AttributeError::BadValue("tls-id"),
            ..
        })
    ));
}

#[test]
fn bad_input_sdp_38_long_line_error_is_bounded() {
    let long = "x".repeat(100_000);
    let text = format!("{HEAD}a=setup:{long}\r\n");
    match SessionDescription::parse_strict(&text) {
        Err(ParseError::InvalidAttribute { text, .. }) => {
            assert!(text.len() <= tern_sdp::MAX_ERROR_TEXT)
        }
        other => panic!("{other:?}"),
    }
}
