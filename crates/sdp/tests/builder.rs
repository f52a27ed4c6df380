//! Offers and answers built programmatically: JSEP attribute order, strict re-parse.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tern_sdp::{
    BuildError, Candidate, Direction, Extmap, Fingerprint, Fmtp, FmtpParameter, MediaBuilder,
    ParseOptions, RtcpFb, RtpMap, SessionBuilder, SessionDescription, Setup, Ssrc,
};

fn fingerprint() -> Fingerprint {
    Fingerprint {
        hash_function: "sha-256".into(),
        value: (0u8..32).collect(),
    }
}

#[test]
fn data_channel_offer_in_jsep_order() {
    // Call order differs from the output order on purpose.
    let data = MediaBuilder::data_channel()
        .max_message_size(262144)
        .sctp_port(5000)
        .setup(Setup::ActPass)
        .mid("0")
        .fingerprint(&fingerprint())
        .ice_options(&["trickle"])
        .ice_credentials("n+Ie", "QcN80Nx4SN9XeypFhikzz4Zm")
        .build()
        .unwrap();
    let offer = SessionBuilder::new(4386631077267129447, 2)
        .msid_semantic_wms(&[])
        .extmap_allow_mixed()
        .bundle(&["0"])
        .media(data)
        .build()
        .unwrap();
    let text = offer.to_string();
    let expected = "v=0\r\n\
o=- 4386631077267129447 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
a=extmap-allow-mixed\r\n\
a=msid-semantic: WMS\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
c=IN IP4 0.0.0.0\r\n\
a=ice-ufrag:n+Ie\r\n\
a=ice-pwd:QcN80Nx4SN9XeypFhikzz4Zm\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=sctp-port:5000\r\n\
a=max-message-size:262144\r\n";
    assert_eq!(text, expected);
    let (back, warnings) = SessionDescription::parse_with(&text, &ParseOptions::strict()).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(back, offer);
    assert_eq!(back.media[0].fingerprints().next().unwrap(), fingerprint());
}

#[test]
fn audio_answer_with_codecs() {
    let opus = RtpMap {
        payload_type: 111,
        encoding_name: "opus".into(),
        clock_rate: 48000,
        channels: Some(2),
    };
    let fmtp = Fmtp {
        format: "111".into(),
        parameters: vec![
            FmtpParameter {
                key: "minptime".into(),
                value: Some("10".into()),
            },
            FmtpParameter {
                key: "useinbandfec".into(),
                value: Some("1".into()),
            },
        ],
    };
    let fb = RtcpFb {
        payload_type: Some(111),
        feedback_type: "transport-cc".into(),
        parameter: None,
    };
    let audio = MediaBuilder::audio(&[111])
        .ssrc(&Ssrc {
            ssrc: 1234,
            attribute: "cname".into(),
            value: Some("abc".into()),
        })
        .codec(&opus, &[fb], Some(&fmtp))
        .rtcp_mux()
        .direction(Direction::RecvOnly)
        .msid("stream", Some("track"))
        .extmap(&Extmap {
            id: 1,
            direction: None,
            uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level".into(),
            attributes: None,
        })
        .mid("0")
        .setup(Setup::Active)
        .fingerprint(&fingerprint())
        .ice_credentials("abcd", "0123456789abcdefghijkl")
        .build()
        .unwrap();
    let answer = SessionBuilder::new(1, 1)
        .bundle(&["0"])
        .media(audio)
        .build()
        .unwrap();
    let text = answer.to_string();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("a="))
        .map(|a| a.split(':').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "group",
            "rtcp",
            "ice-ufrag",
            "ice-pwd",
            "fingerprint",
            "setup",
            "mid",
            "extmap",
            "recvonly",
            "msid",
            "rtcp-mux",
            "rtpmap",
            "rtcp-fb",
            "fmtp",
            "ssrc"
        ]
    );
    assert!(text.contains(
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
    ));
    assert!(text.contains("a=fmtp:111 minptime=10;useinbandfec=1\r\n"));
    let back = SessionDescription::parse_strict(&text).unwrap();
    assert_eq!(back, answer);
    assert_eq!(back.media[0].direction(), Some(Direction::RecvOnly));
    assert_eq!(back.media[0].fmtp(111).unwrap(), fmtp);
}

#[test]
fn builder_rejects_injection_and_bad_values() {
    let err = MediaBuilder::data_channel()
        .mid("0\r\nm=audio 9 RTP/AVP 0")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, BuildError::InvalidAttribute { .. }),
        "{err:?}"
    );
    let err = MediaBuilder::data_channel()
        .ice_credentials("ab", "short")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, BuildError::InvalidAttribute { ref name, .. } if name == "ice-ufrag"),
        "{err:?}"
    );
    let err = SessionBuilder::new(1, 1)
        .session_name("x\ny")
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        BuildError::InvalidText {
            field: "session name"
        }
    );
    let mut c = Candidate::parse("candidate:1 1 udp 1 192.0.2.1 9 typ host").unwrap();
    c.foundation = "a\r\nb".into();
    let err = MediaBuilder::data_channel()
        .candidate(&c)
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::InvalidAttribute { ref name, .. } if name == "candidate"));
}

#[test]
fn edit_parsed_description_for_an_answer() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/vectors/chromium-156-offer-data.sdp",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut sdp = SessionDescription::parse(&text).unwrap();
    let m = &mut sdp.media[0];
    m.set_typed(&Setup::Passive).unwrap();
    assert_eq!(m.setup(), Some(Setup::Passive));
    // Same position as the old a=setup, only one left.
    let names: Vec<_> = m.attributes.iter().map(|a| a.name().to_owned()).collect();
    assert_eq!(names.iter().filter(|n| *n == "setup").count(), 1);
    assert_eq!(names[5], "setup");
    assert_eq!(m.remove_attributes("candidate"), 1);
    m.push_attribute(tern_sdp::Attribute::flag("end-of-candidates").unwrap());
    assert!(m.end_of_candidates());
    sdp.origin.session_version += 1;
    let again = SessionDescription::parse_strict(&sdp.to_string()).unwrap();
    assert_eq!(again, sdp);
    assert_eq!(again.origin.session_version, 3);
}
