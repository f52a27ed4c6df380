//! The `sdp-corpus` suite: every vector in `tests/vectors/` parses strictly without warnings,
//! round-trips byte for byte, and its typed fields read as expected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr};

use tern_sdp::{CandidateAddress, Direction, MediaKind, ParseOptions, SessionDescription, Setup};

fn vector(name: &str) -> String {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses strictly (no warning, no error) and checks the exact round trip.
fn strict_round_trip(name: &str) -> SessionDescription {
    let text = vector(name);
    let (sdp, warnings) = SessionDescription::parse_with(&text, &ParseOptions::strict())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(warnings.is_empty(), "{name}: {warnings:?}");
    assert_eq!(sdp.to_string(), text, "{name}: round trip");
    assert_eq!(SessionDescription::parse(&sdp.to_string()).unwrap(), sdp);
    sdp
}

#[test]
fn chromium_156_data_only() {
    let sdp = strict_round_trip("chromium-156-offer-data.sdp");
    assert_eq!(sdp.origin.session_id, 4386631077267129447);
    assert_eq!(sdp.origin.session_version, 2);
    assert_eq!(sdp.session_name, "-");
    let bundle: Vec<_> = sdp.bundle_groups().collect();
    assert_eq!(bundle.len(), 1);
    assert_eq!(bundle[0].mids, ["0"]);
    assert!(sdp.extmap_allow_mixed());
    let ms = sdp.msid_semantic().unwrap();
    assert_eq!(ms.semantic, "WMS");
    assert!(ms.identifiers.is_empty());
    assert_eq!(sdp.media.len(), 1);
    let m = &sdp.media[0];
    assert_eq!(m.kind, MediaKind::Application);
    assert_eq!(m.port, 54413);
    assert_eq!(m.protocol, "UDP/DTLS/SCTP");
    assert_eq!(m.formats, ["webrtc-datachannel"]);
    assert!(m.is_data_channel());
    assert_eq!(m.connections[0].address, "127.0.0.1");
    assert_eq!(m.mid(), Some("0"));
    assert_eq!(m.ice_ufrag(), Some("n+Ie"));
    assert_eq!(m.ice_pwd(), Some("QcN80Nx4SN9XeypFhikzz4Zm"));
    assert!(m.ice_options().unwrap().contains("trickle"));
    assert_eq!(m.setup(), Some(Setup::ActPass));
    assert_eq!(m.sctp_port(), Some(5000));
    assert_eq!(m.max_message_size(), Some(262144));
    let fps: Vec<_> = m.fingerprints().collect();
    assert_eq!(fps.len(), 1);
    assert_eq!(fps[0].hash_function, "sha-256");
    assert_eq!(fps[0].value.len(), 32);
    assert_eq!(fps[0].value[..3], [0x50, 0x86, 0xC0]);
    let c: Vec<_> = m.candidates().collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].foundation, "770821612");
    assert_eq!(c[0].component, 1);
    assert_eq!(c[0].transport, "udp");
    assert_eq!(c[0].priority, 2122260223);
    assert_eq!(
        c[0].address,
        CandidateAddress::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
    );
    assert_eq!(c[0].port, 54413);
    assert_eq!(c[0].kind, "host");
    assert_eq!(c[0].generation, Some(0));
    assert_eq!(c[0].network_id, Some(1));
    assert_eq!(c[0].network_cost, Some(50));
    assert!(!m.end_of_candidates());
}

#[test]
fn chromium_156_audio_video_data() {
    let sdp = strict_round_trip("chromium-156-offer-av-data.sdp");
    assert_eq!(sdp.bundle_groups().next().unwrap().mids, ["0", "1", "2"]);
    assert_eq!(
        sdp.msid_semantic().unwrap().identifiers,
        ["0e716e0b-788b-4fad-ab93-d336c8547593"]
    );
    let kinds: Vec<_> = sdp.media.iter().map(|m| m.kind.clone()).collect();
    assert_eq!(
        kinds,
        [MediaKind::Audio, MediaKind::Video, MediaKind::Application]
    );

    let audio = sdp.media_by_mid("0").unwrap();
    assert_eq!(
        audio.formats,
        ["111", "63", "9", "0", "8", "13", "110", "126"]
    );
    let rtcp = audio.rtcp().unwrap();
    assert_eq!(rtcp.port, 9);
    assert_eq!(rtcp.address.unwrap().2, "0.0.0.0");
    assert!(audio.rtcp_mux() && audio.rtcp_rsize());
    assert_eq!(audio.direction(), Some(Direction::SendRecv));
    let opus = audio.rtpmap(111).unwrap();
    assert_eq!(
        (opus.encoding_name.as_str(), opus.clock_rate, opus.channels),
        ("opus", 48000, Some(2))
    );
    let fmtp = audio.fmtp(111).unwrap();
    assert_eq!(fmtp.get("minptime"), Some("10"));
    assert_eq!(fmtp.get("useinbandfec"), Some("1"));
    let red = audio.fmtp(63).unwrap();
    assert_eq!(red.parameters[0].key, "111/111");
    assert_eq!(red.parameters[0].value, None);
    assert_eq!(audio.rtpmaps().count(), 8);
    assert_eq!(
        audio
            .rtcp_fb(111)
            .map(|f| f.feedback_type)
            .collect::<Vec<_>>(),
        ["transport-cc"]
    );
    let ext: Vec<_> = audio.extmaps().collect();
    assert_eq!(ext.len(), 4);
    assert_eq!(ext[0].id, 1);
    assert_eq!(ext[0].uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
    let msid = audio.msids().next().unwrap();
    assert_eq!(msid.stream_id, "0e716e0b-788b-4fad-ab93-d336c8547593");
    assert_eq!(
        msid.track_id.as_deref(),
        Some("d2d69ee5-a41b-4346-89b3-43a15b5300ab")
    );
    let ssrcs: Vec<_> = audio.ssrcs().collect();
    assert_eq!(ssrcs.len(), 2);
    assert_eq!(ssrcs[0].ssrc, 3416025075);
    assert_eq!(ssrcs[0].attribute, "cname");
    assert_eq!(ssrcs[0].value.as_deref(), Some("i9U7Q5AbRvt//off"));
    // Unknown attributes are kept verbatim.
    assert_eq!(audio.attribute_value("rtcp-xr"), Some("rcvr-rtt=all"));

    let video = sdp.media_by_mid("1").unwrap();
    assert_eq!(video.formats.len(), 23);
    let vp8 = video.rtpmap(96).unwrap();
    assert_eq!(
        (vp8.encoding_name.as_str(), vp8.clock_rate, vp8.channels),
        ("VP8", 90000, None)
    );
    let fb: Vec<_> = video.rtcp_fb(96).map(|f| f.to_string()).collect();
    assert_eq!(
        fb,
        [
            "96 goog-remb",
            "96 transport-cc",
            "96 ccm fir",
            "96 nack",
            "96 nack pli"
        ]
    );
    assert_eq!(video.fmtp(97).unwrap().get("apt"), Some("96"));
    assert_eq!(
        video.fmtp(102).unwrap().get("profile-level-id"),
        Some("42001f")
    );
    let groups: Vec<_> = video.ssrc_groups().collect();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].semantics, "FID");
    assert_eq!(groups[0].ssrcs, [4286807254, 3903699616]);
    assert_eq!(video.extmaps().count(), 11);

    let data = sdp.media_by_mid("2").unwrap();
    assert!(data.is_data_channel());
    assert_eq!(data.sctp_port(), Some(5000));
    // One certificate for the whole bundle.
    for m in &sdp.media {
        let fp = sdp.fingerprints_for(m);
        assert_eq!(fp.len(), 1);
        assert_eq!(fp[0].value[0], 0xD5);
        assert_eq!(sdp.ice_ufrag_for(m), Some("xFyU"));
    }
}

#[test]
fn aiortc_1_16_data_only() {
    let sdp = strict_round_trip("aiortc-1.16-offer-data.sdp");
    assert_eq!(sdp.origin.unicast_address, "0.0.0.0");
    assert_eq!(sdp.msid_semantic().unwrap().identifiers, ["*"]);
    let m = &sdp.media[0];
    assert_eq!(m.port, 57394);
    assert!(m.end_of_candidates());
    let fps: Vec<_> = m.fingerprints().collect();
    let names: Vec<_> = fps.iter().map(|f| f.hash_function.as_str()).collect();
    assert_eq!(names, ["sha-256", "sha-384", "sha-512"]);
    assert_eq!(
        fps.iter().map(|f| f.value.len()).collect::<Vec<_>>(),
        [32, 48, 64]
    );
    let c = m.candidates().next().unwrap();
    assert_eq!(c.foundation, "16572de626da4e5384a0ce2d0d93678a");
    assert_eq!(c.priority, 2130706431);
    assert_eq!(c.generation, None);
    assert_eq!(m.max_message_size(), Some(262144));
}
