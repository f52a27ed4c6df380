//! The `sdp-corpus` suite: every vector in `tests/vectors/` parses strictly without warnings,
//! round-trips byte for byte, and its typed fields read as expected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr};

use tern_sdp::{
    CandidateAddress, CandidateType, DescriptionKind, Direction, MediaKind, ParseOptions,
    SessionDescription, Setup,
};

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
    // Lenient parsing reads the same description, also without a warning.
    let (lenient, warnings) = SessionDescription::parse_with(&text, &ParseOptions::lenient())
        .unwrap_or_else(|e| panic!("{name} (lenient): {e}"));
    assert!(warnings.is_empty(), "{name} (lenient): {warnings:?}");
    assert_eq!(lenient, sdp, "{name}: lenient and strict differ");
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

#[test]
fn firefox_style_av_data() {
    let sdp = strict_round_trip("firefox-style-offer-av-data.sdp");
    assert!(sdp.origin.username.starts_with("mozilla"));
    // Session-level fingerprint and direction apply to every section.
    assert_eq!(sdp.fingerprints().count(), 1);
    assert_eq!(sdp.direction(), Some(Direction::SendRecv));
    assert!(sdp.ice_options().unwrap().contains("trickle"));
    assert_eq!(sdp.msid_semantic().unwrap().identifiers, ["*"]);
    let audio = &sdp.media[0];
    let c: Vec<_> = audio.candidates().collect();
    assert_eq!(c.len(), 3);
    assert!(c[0].address.is_mdns());
    assert_eq!(c[1].tcp_type.as_deref(), Some("active"));
    assert_eq!(c[1].port, 9);
    assert_eq!(c[2].related_port, Some(0));
    assert!(audio.end_of_candidates());
    assert_eq!(audio.ptime(), Some(20));
    let ext: Vec<_> = audio.extmaps().collect();
    assert_eq!(ext[1].direction, Some(Direction::RecvOnly));
    assert_eq!(audio.fmtp(101).unwrap().parameters[0].key, "0-15");
    assert_eq!(audio.rtpmap(9).unwrap().channels, Some(1));
    assert!(audio.msids().next().unwrap().stream_id.starts_with('{'));
    for m in &sdp.media {
        assert_eq!(sdp.fingerprints_for(m).len(), 1);
        assert_eq!(sdp.setup_for(m), Some(Setup::ActPass));
    }
    let video = &sdp.media[1];
    assert_eq!(video.port, 0);
    assert!(video.bundle_only() && !video.is_rejected());
    let rids: Vec<_> = video.rids().collect();
    assert_eq!(rids.len(), 3);
    assert_eq!(
        rids[1].restrictions[0],
        ("max-width".to_owned(), Some("640".to_owned()))
    );
    let sc = video.simulcast().unwrap();
    assert_eq!(sc.send.len(), 3);
    assert!(sc.recv.is_empty());
    assert_eq!(video.ssrc_groups().next().unwrap().semantics, "FID");
    assert_eq!(sdp.media[2].max_message_size(), Some(1073741823));
    sdp.check_webrtc(DescriptionKind::Offer).unwrap();
}

#[test]
fn pion_style_data() {
    let sdp = strict_round_trip("pion-style-offer-data.sdp");
    let m = &sdp.media[0];
    assert_eq!(m.fingerprints().count(), 0);
    assert_eq!(sdp.fingerprints_for(m).len(), 1);
    let c: Vec<_> = m.candidates().collect();
    assert_eq!(c.len(), 4);
    assert!(matches!(c[1].address, CandidateAddress::Ip(IpAddr::V6(_))));
    assert_eq!(c[2].kind, "srflx");
    assert_eq!(
        c[2].related_address,
        Some(CandidateAddress::Ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
    );
    assert!(c[3].is_tcp());
    assert!(m.end_of_candidates());
    assert_eq!(m.max_message_size(), None);
    sdp.check_webrtc(DescriptionKind::Offer).unwrap();
}

#[test]
fn libdatachannel_style_data() {
    let sdp = strict_round_trip("libdatachannel-style-offer-data.sdp");
    let groups: Vec<_> = sdp.groups().collect();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[1].semantics, "LS");
    assert_eq!(sdp.bundle_groups().count(), 1);
    let m = &sdp.media[0];
    // ICE and DTLS at session level only.
    assert_eq!(m.ice_ufrag(), None);
    assert!(sdp.ice_ufrag_for(m).is_some());
    assert_eq!(sdp.setup_for(m), Some(Setup::ActPass));
    let opts = sdp.ice_options_for(m).unwrap();
    assert!(opts.contains("trickle") && opts.contains("ice2"));
    assert_eq!(m.candidates().nth(1).unwrap().related_port, Some(47832));
    sdp.check_webrtc(DescriptionKind::Offer).unwrap();
}

#[test]
fn chrome_2013_style_legacy() {
    let sdp = strict_round_trip("chrome-2013-style-offer-legacy.sdp");
    assert_eq!(
        sdp.bundle_groups().next().unwrap().mids,
        ["audio", "video", "data"]
    );
    let audio = sdp.media_by_mid("audio").unwrap();
    assert_eq!(audio.protocol, "RTP/SAVPF");
    assert_eq!(audio.port, 1);
    assert!(audio.ice_options().unwrap().contains("google-ice"));
    let crypto: Vec<_> = audio.crypto().collect();
    assert_eq!(crypto.len(), 2);
    assert!(crypto[0].is_legacy());
    assert_eq!(crypto[1].suite, "AES_CM_128_HMAC_SHA1_80");
    assert_eq!(crypto[1].inline_key().unwrap().len(), 40);
    assert!(sdp.uses_legacy_sdes_anywhere());
    assert_eq!(audio.maxptime(), Some(60));
    assert_eq!(audio.candidates().nth(1).unwrap().component, 2);
    let labels: Vec<_> = audio.ssrcs().map(|s| s.attribute).collect();
    assert_eq!(labels, ["cname", "msid", "mslabel", "label"]);
    let video = sdp.media_by_mid("video").unwrap();
    assert_eq!(video.framerate(), Some(30.0));
    let sim = video.ssrc_groups().next().unwrap();
    assert_eq!(sim.semantics, "SIM");
    assert_eq!(sim.ssrcs.len(), 2);
    let data = sdp.media_by_mid("data").unwrap();
    assert_eq!(data.protocol, "DTLS/SCTP");
    assert_eq!(data.formats, ["5000"]);
    assert!(data.is_data_channel());
    let map = data.sctpmap().unwrap();
    assert_eq!(
        (map.port, map.protocol.as_str(), map.streams),
        (5000, "webrtc-datachannel", Some(1024))
    );
    assert_eq!(data.sctp_port(), Some(5000));
    // It still has DTLS fingerprints, so it passes the transport checks.
    sdp.check_webrtc(DescriptionKind::Offer).unwrap();
}

#[test]
fn captured_vectors_pass_webrtc_checks() {
    for name in [
        "chromium-156-offer-data.sdp",
        "chromium-156-offer-av-data.sdp",
        "aiortc-1.16-offer-data.sdp",
    ] {
        let sdp = SessionDescription::parse(&vector(name)).unwrap();
        sdp.check_webrtc(DescriptionKind::Offer)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!sdp.uses_legacy_sdes_anywhere());
    }
}

/// Every file in the folder is covered by a test above (so a new vector cannot go unchecked).
#[test]
fn every_vector_round_trips() {
    let dir = format!("{}/tests/vectors", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".sdp") {
            strict_round_trip(&name);
            n += 1;
        }
    }
    assert_eq!(n, 19);
}

#[test]
fn aiortc_1_16_audio_video_data() {
    let sdp = strict_round_trip("aiortc-1.16-offer-av-data.sdp");
    sdp.check_webrtc(DescriptionKind::Offer).unwrap();
    assert_eq!(sdp.bundle_groups().next().unwrap().mids, ["0", "1", "2"]);
    let audio = &sdp.media[0];
    assert_eq!(audio.rtpmap(96).unwrap().encoding_name, "opus");
    assert_eq!(audio.fingerprints().count(), 3);
    assert_eq!(audio.rtcp().unwrap().port, 9);
    let video = &sdp.media[1];
    assert_eq!(video.ssrc_groups().next().unwrap().semantics, "FID");
    assert_eq!(video.fmtp(98).unwrap().get("apt"), Some("97"));
    assert_eq!(video.rtcp_fb(97).count(), 3);
    assert!(sdp.media.iter().all(|m| m.end_of_candidates()));
    assert!(sdp.media[2].is_data_channel());
}

// ---- Captured from the stacks installed for interop (tests/vectors/capture/, README.md) ----

/// What every captured WebRTC description must carry: passes the WebRTC checks, one BUNDLE group
/// naming every m-section in order, per section ICE credentials, one SHA-256 fingerprint
/// (32 bytes) and the expected DTLS role (wherever each stack puts them), and an SCTP port on the
/// data section.
fn check_captured(
    name: &str,
    sdp: &SessionDescription,
    kind: DescriptionKind,
    setup: Setup,
    kinds: &[MediaKind],
) {
    sdp.check_webrtc(kind)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(!sdp.uses_legacy_sdes_anywhere(), "{name}");
    assert_eq!(
        sdp.media.iter().map(|m| m.kind.clone()).collect::<Vec<_>>(),
        kinds,
        "{name}: m-sections"
    );
    let bundle: Vec<_> = sdp.bundle_groups().collect();
    assert_eq!(bundle.len(), 1, "{name}: one BUNDLE group");
    let mids: Vec<_> = sdp.media.iter().map(|m| m.mid().unwrap()).collect();
    assert_eq!(bundle[0].mids, mids, "{name}: BUNDLE mids vs m-sections");
    for m in &sdp.media {
        let mid = m.mid().unwrap();
        let ufrag = sdp
            .ice_ufrag_for(m)
            .unwrap_or_else(|| panic!("{name} {mid}: ufrag"));
        let pwd = sdp
            .ice_pwd_for(m)
            .unwrap_or_else(|| panic!("{name} {mid}: pwd"));
        // RFC 8839 §5.4: ufrag at least 4 characters, password at least 22.
        assert!(
            ufrag.len() >= 4 && pwd.len() >= 22,
            "{name} {mid}: {ufrag} {pwd}"
        );
        let fps = sdp.fingerprints_for(m);
        assert_eq!(fps.len(), 1, "{name} {mid}: fingerprints");
        assert_eq!(fps[0].hash_function, "sha-256", "{name} {mid}");
        assert_eq!(fps[0].value.len(), 32, "{name} {mid}");
        assert_eq!(sdp.setup_for(m), Some(setup), "{name} {mid}: setup");
        if m.kind == MediaKind::Application {
            assert!(m.is_data_channel(), "{name} {mid}");
            assert_eq!(m.protocol, "UDP/DTLS/SCTP", "{name} {mid}");
            assert_eq!(m.sctp_port(), Some(5000), "{name} {mid}");
        } else {
            assert_eq!(m.protocol, "UDP/TLS/RTP/SAVPF", "{name} {mid}");
            assert!(m.rtcp_mux(), "{name} {mid}");
        }
    }
}

/// The `(encoding, clock rate, channels)` of a payload type.
fn codec(m: &tern_sdp::MediaDescription, pt: u8) -> (String, u32, Option<u32>) {
    let r = m.rtpmap(pt).unwrap_or_else(|| panic!("rtpmap {pt}"));
    (
        r.encoding_name.clone(),
        r.clock_rate,
        r.channels.map(u32::from),
    )
}

fn opus() -> (String, u32, Option<u32>) {
    ("opus".to_owned(), 48000, Some(2))
}

fn vp8() -> (String, u32, Option<u32>) {
    ("VP8".to_owned(), 90000, None)
}

const AV_DATA: [MediaKind; 3] = [MediaKind::Audio, MediaKind::Video, MediaKind::Application];

fn v4(a: u8, b: u8, c: u8, d: u8) -> CandidateAddress {
    CandidateAddress::Ip(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
}

#[test]
fn werift_0_24_data_only() {
    let name = "werift-0.24-offer-data.sdp";
    let sdp = strict_round_trip(name);
    check_captured(
        name,
        &sdp,
        DescriptionKind::Offer,
        Setup::ActPass,
        &[MediaKind::Application],
    );
    assert_eq!(sdp.origin.session_id, 35249299);
    assert_eq!(sdp.origin.unicast_address, "0.0.0.0");
    assert!(sdp.extmap_allow_mixed());
    assert_eq!(sdp.msid_semantic().unwrap().identifiers, ["*"]);
    let m = &sdp.media[0];
    // werift keeps port 9 / 0.0.0.0 on the m-line and lists the candidates below it.
    assert_eq!(m.port, 9);
    assert_eq!(m.connections[0].address, "0.0.0.0");
    assert_eq!(m.ice_ufrag(), Some("9dfc"));
    assert_eq!(m.ice_pwd(), Some("a3b6cbc07fd5b64052d85e"));
    assert!(m.ice_options().unwrap().contains("trickle"));
    assert_eq!(
        m.fingerprints().next().unwrap().value[..3],
        [0xE0, 0xF2, 0x9A]
    );
    assert_eq!(m.max_message_size(), Some(65536));
    let c: Vec<_> = m.candidates().collect();
    assert_eq!(c.len(), 2);
    // A 25-hex-digit foundation, and the ufrag repeated on every candidate.
    assert_eq!(c[0].foundation, "626da4e5384a0ce2d0d93678a");
    assert_eq!(c[0].component, 1);
    assert_eq!(c[0].transport, "udp");
    assert_eq!(c[0].priority, 2116026367);
    assert_eq!(c[0].address, v4(127, 0, 0, 1));
    assert_eq!(c[0].port, 33842);
    assert_eq!(c[0].candidate_type(), CandidateType::Host);
    assert_eq!(c[0].generation, Some(0));
    assert_eq!(c[0].ufrag.as_deref(), Some("9dfc"));
    assert_eq!(c[1].address, v4(192, 0, 2, 2));
    assert_eq!(c[1].port, 36360);
    assert!(m.end_of_candidates());
}

#[test]
fn werift_0_24_audio_video_data() {
    let name = "werift-0.24-offer-av-data.sdp";
    let sdp = strict_round_trip(name);
    check_captured(name, &sdp, DescriptionKind::Offer, Setup::ActPass, &AV_DATA);
    let audio = &sdp.media[0];
    assert_eq!(audio.formats, ["96"]);
    assert_eq!(codec(audio, 96), opus());
    assert_eq!(audio.direction(), Some(Direction::SendRecv));
    assert_eq!(audio.ssrcs().next().unwrap().ssrc, 3485066627);
    let video = &sdp.media[1];
    assert_eq!(video.formats, ["97"]);
    assert_eq!(codec(video, 97), vp8());
    let fb: Vec<_> = video.rtcp_fb(97).map(|f| f.to_string()).collect();
    assert_eq!(fb, ["97 nack", "97 nack pli"]);
    // Every section repeats ICE, DTLS and its own candidates (one socket per section).
    for (m, port) in sdp.media.iter().zip([51538, 47550, 46181]) {
        assert_eq!(m.ice_ufrag(), Some("7463"));
        assert_eq!(m.fingerprints().count(), 1);
        let c = m.candidates().next().unwrap();
        assert_eq!((c.address.clone(), c.port), (v4(127, 0, 0, 1), port));
        assert!(m.end_of_candidates());
    }
    assert_eq!(sdp.media[2].max_message_size(), Some(65536));
}

#[test]
fn werift_0_24_answer_to_chromium() {
    let name = "werift-0.24-answer-av-data.sdp";
    let sdp = strict_round_trip(name);
    check_captured(name, &sdp, DescriptionKind::Answer, Setup::Active, &AV_DATA);
    let audio = &sdp.media[0];
    // It keeps only the codecs it was configured with, at the offerer's payload types.
    assert_eq!(audio.formats, ["111"]);
    assert_eq!(codec(audio, 111), opus());
    assert_eq!(audio.fmtp(111).unwrap().get("useinbandfec"), Some("1"));
    // No local tracks: it only receives.
    assert_eq!(audio.direction(), Some(Direction::RecvOnly));
    let video = &sdp.media[1];
    assert_eq!(video.formats, ["96"]);
    assert_eq!(codec(video, 96), vp8());
    assert_eq!(video.rtcp_fb(96).count(), 5);
    assert_eq!(video.direction(), Some(Direction::RecvOnly));
    let c: Vec<_> = sdp.media[2].candidates().collect();
    assert_eq!(c[0].port, 38938);
    assert_eq!(c[0].ufrag.as_deref(), Some("5dd1"));
}

#[test]
fn libdatachannel_0_33_data_only() {
    let name = "libdatachannel-0.33-offer-data.sdp";
    let sdp = strict_round_trip(name);
    check_captured(
        name,
        &sdp,
        DescriptionKind::Offer,
        Setup::ActPass,
        &[MediaKind::Application],
    );
    assert_eq!(sdp.origin.username, "rtc");
    assert_eq!(sdp.origin.session_version, 0);
    assert_eq!(sdp.origin.unicast_address, "127.0.0.1");
    // Fingerprint and ice-options at session level; ufrag, pwd and setup per section.
    assert_eq!(sdp.fingerprints().count(), 1);
    assert_eq!(
        sdp.fingerprints().next().unwrap().value[..3],
        [0xC5, 0xB2, 0x41]
    );
    let opts = sdp.ice_options().unwrap();
    assert!(opts.contains("ice2") && opts.contains("trickle"));
    let m = &sdp.media[0];
    assert_eq!(m.fingerprints().count(), 0);
    assert_eq!(m.ice_ufrag(), Some("RBbB"));
    assert_eq!(m.ice_pwd(), Some("llTAU0cUD6vX8wYLUkvIuT"));
    assert_eq!(m.setup(), Some(Setup::ActPass));
    assert_eq!(m.port, 46884);
    assert_eq!(m.connections[0].address, "127.0.0.1");
    assert_eq!(m.max_message_size(), Some(262144));
    let c: Vec<_> = m.candidates().collect();
    assert_eq!(c.len(), 1);
    // Upper-case transport, a one-digit foundation, no extensions.
    assert_eq!(c[0].foundation, "1");
    assert_eq!(c[0].transport, "UDP");
    assert!(c[0].is_udp());
    assert_eq!(c[0].priority, 2114977791);
    assert_eq!((c[0].address.clone(), c[0].port), (v4(127, 0, 0, 1), 46884));
    assert_eq!(c[0].candidate_type(), CandidateType::Host);
    assert_eq!(c[0].generation, None);
    assert!(m.end_of_candidates());
}

#[test]
fn libdatachannel_0_33_audio_video_data() {
    let name = "libdatachannel-0.33-offer-av-data.sdp";
    let sdp = strict_round_trip(name);
    check_captured(name, &sdp, DescriptionKind::Offer, Setup::ActPass, &AV_DATA);
    let groups: Vec<_> = sdp.groups().collect();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[1].semantics, "LS");
    assert_eq!(groups[1].mids, ["0", "1"]);
    let audio = &sdp.media[0];
    assert_eq!(codec(audio, 111), opus());
    assert_eq!(
        audio.fmtp(111).unwrap().get("maxaveragebitrate"),
        Some("96000")
    );
    assert_eq!(audio.fmtp(111).unwrap().get("stereo"), Some("1"));
    let msid = audio.msids().next().unwrap();
    assert_eq!(msid.stream_id, "capture-stream");
    assert_eq!(msid.track_id.as_deref(), Some("capture-audio"));
    let ssrcs: Vec<_> = audio.ssrcs().collect();
    assert_eq!(ssrcs.len(), 2);
    assert_eq!(
        (ssrcs[0].ssrc, ssrcs[0].attribute.as_str()),
        (1111, "cname")
    );
    let video = &sdp.media[1];
    assert_eq!(codec(video, 96), vp8());
    let fb: Vec<_> = video.rtcp_fb(96).map(|f| f.to_string()).collect();
    assert_eq!(fb, ["96 nack", "96 nack pli", "96 goog-remb"]);
    // Candidates only in the first bundled section, which all share one port.
    assert_eq!(sdp.media[0].candidates().count(), 1);
    for m in &sdp.media {
        assert_eq!(m.port, 44125);
        assert_eq!(m.ice_ufrag(), Some("KhbT"));
    }
    assert_eq!(sdp.media[1].candidates().count(), 0);
    assert_eq!(sdp.media[2].max_message_size(), Some(262144));
}

#[test]
fn libdatachannel_0_33_answer_to_chromium() {
    let name = "libdatachannel-0.33-answer-av-data.sdp";
    let sdp = strict_round_trip(name);
    check_captured(name, &sdp, DescriptionKind::Answer, Setup::Active, &AV_DATA);
    let audio = &sdp.media[0];
    // It answers with the offer's media descriptions: every codec, the offerer's msid and
    // ssrc-group echoed back, and the direction unchanged.
    assert_eq!(
        audio.formats,
        ["111", "63", "9", "0", "8", "13", "110", "126"]
    );
    assert_eq!(codec(audio, 111), opus());
    assert_eq!(audio.direction(), Some(Direction::SendRecv));
    assert_eq!(
        audio.msids().next().unwrap().stream_id,
        "0e716e0b-788b-4fad-ab93-d336c8547593"
    );
    assert_eq!(audio.extmaps().count(), 4);
    let video = &sdp.media[1];
    assert_eq!(video.formats.len(), 23);
    assert_eq!(codec(video, 96), vp8());
    assert_eq!(
        video.ssrc_groups().next().unwrap().ssrcs,
        [4286807254, 3903699616]
    );
    let c: Vec<_> = audio.candidates().collect();
    assert_eq!((c[0].address.clone(), c[0].port), (v4(127, 0, 0, 1), 42864));
    assert_eq!(sdp.media[2].max_message_size(), Some(262144));
}

#[test]
fn roamhq_wrtc_0_10_data_only() {
    let name = "roamhq-wrtc-0.10-offer-data.sdp";
    let sdp = strict_round_trip(name);
    check_captured(
        name,
        &sdp,
        DescriptionKind::Offer,
        Setup::ActPass,
        &[MediaKind::Application],
    );
    assert_eq!(sdp.origin.session_version, 2);
    // libwebrtc writes "msid-semantic: WMS" with a space and no identifier.
    let ms = sdp.msid_semantic().unwrap();
    assert_eq!(ms.semantic, "WMS");
    assert!(ms.identifiers.is_empty());
    let m = &sdp.media[0];
    assert_eq!(m.ice_ufrag(), Some("2vKH"));
    assert_eq!(m.ice_pwd(), Some("JLtuaPqQR8RNFV7UC2agfQRY"));
    assert_eq!(m.max_message_size(), Some(262144));
    // No bind option: a host candidate per interface, UDP and TCP passive, IPv6 and IPv4.
    let c: Vec<_> = m.candidates().collect();
    assert_eq!(c.len(), 8);
    assert!(c.iter().all(|c| c.candidate_type() == CandidateType::Host));
    assert_eq!(c.iter().filter(|c| c.is_udp()).count(), 4);
    assert!(matches!(c[0].address, CandidateAddress::Ip(IpAddr::V6(_))));
    assert_eq!(c[2].address, CandidateAddress::Ip("::1".parse().unwrap()));
    assert_eq!(c[3].address, v4(127, 0, 0, 1));
    assert_eq!(c[3].foundation, "1510613869");
    assert_eq!(c[3].priority, 2122063615);
    assert_eq!(c[3].network_id, Some(3));
    assert_eq!(c[3].network_cost, None);
    assert!(c[7].is_tcp());
    assert_eq!(c[7].tcp_type.as_deref(), Some("passive"));
    assert_eq!(c[7].address, v4(127, 0, 0, 1));
    // The m-line carries the default candidate (the first IPv4 UDP one).
    assert_eq!(m.port, c[1].port);
    assert_eq!(m.connections[0].address, "192.0.2.2");
    assert!(!m.end_of_candidates());
}

#[test]
fn roamhq_wrtc_0_10_audio_video_data() {
    let name = "roamhq-wrtc-0.10-offer-av-data.sdp";
    let sdp = strict_round_trip(name);
    check_captured(name, &sdp, DescriptionKind::Offer, Setup::ActPass, &AV_DATA);
    let audio = &sdp.media[0];
    assert_eq!(audio.formats.len(), 15);
    assert_eq!(codec(audio, 111), opus());
    assert_eq!(codec(audio, 103), ("ISAC".to_owned(), 16000, None));
    assert_eq!(audio.fmtp(111).unwrap().get("minptime"), Some("10"));
    assert_eq!(audio.rtcp().unwrap().port, 9);
    // A transceiver without a stream: msid "-".
    let msid = audio.msids().next().unwrap();
    assert_eq!(msid.stream_id, "-");
    assert_eq!(
        msid.track_id.as_deref(),
        Some("f11b8720-4622-4e27-9338-72c36322b2ab")
    );
    assert_eq!(audio.ssrcs().next().unwrap().ssrc, 4245149941);
    let video = &sdp.media[1];
    assert_eq!(codec(video, 96), vp8());
    assert_eq!(video.fmtp(97).unwrap().get("apt"), Some("96"));
    assert!(video.rtcp_rsize());
    assert_eq!(video.ssrc_groups().next().unwrap().semantics, "FID");
    for m in &sdp.media {
        assert_eq!(m.candidates().count(), 8);
        assert_eq!(m.ice_ufrag(), Some("yLqb"));
    }
}

#[test]
fn roamhq_wrtc_0_10_answer_to_chromium() {
    let name = "roamhq-wrtc-0.10-answer-av-data.sdp";
    let sdp = strict_round_trip(name);
    check_captured(name, &sdp, DescriptionKind::Answer, Setup::Active, &AV_DATA);
    let audio = &sdp.media[0];
    assert_eq!(
        audio.formats,
        ["111", "63", "9", "0", "8", "13", "110", "126"]
    );
    assert_eq!(codec(audio, 111), opus());
    assert_eq!(audio.direction(), Some(Direction::RecvOnly));
    // Bundled answer: candidates only in the first section, the others on port 9.
    assert_eq!(audio.candidates().count(), 8);
    let video = &sdp.media[1];
    assert_eq!(video.port, 9);
    assert_eq!(video.candidates().count(), 0);
    assert_eq!(codec(video, 96), vp8());
    assert_eq!(video.direction(), Some(Direction::RecvOnly));
    assert_eq!(sdp.media[2].port, 9);
    assert_eq!(sdp.media[2].max_message_size(), Some(262144));
}

#[test]
fn pion_3_1_audio_video_data() {
    let name = "pion-3.1-offer-av-data.sdp";
    let sdp = strict_round_trip(name);
    check_captured(name, &sdp, DescriptionKind::Offer, Setup::ActPass, &AV_DATA);
    assert_eq!(sdp.origin.session_id, 5953599640837663185);
    assert!(sdp.extmap_allow_mixed());
    // Session-level fingerprint only; no msid-semantic line.
    assert_eq!(sdp.fingerprints().count(), 1);
    assert_eq!(
        sdp.fingerprints().next().unwrap().value[..3],
        [0xE5, 0x6E, 0x4E]
    );
    assert!(sdp.msid_semantic().is_none());
    let audio = &sdp.media[0];
    assert_eq!(audio.fingerprints().count(), 0);
    assert_eq!(audio.ice_ufrag(), Some("AumosdrIxCEuMVwR"));
    assert_eq!(audio.ice_pwd(), Some("grcKaGQmyfyHJVKrXwqqaJmwOgAdmMTY"));
    assert_eq!(audio.formats, ["111", "9", "0", "8"]);
    assert_eq!(codec(audio, 111), opus());
    assert_eq!(audio.direction(), Some(Direction::SendRecv));
    // Plan-B style ssrc lines next to the unified-plan msid.
    let labels: Vec<_> = audio.ssrcs().map(|s| s.attribute).collect();
    assert_eq!(labels, ["cname", "msid", "mslabel", "label"]);
    let c: Vec<_> = audio.candidates().collect();
    // RTP and RTCP components on the same loopback socket.
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].foundation, "2878742611");
    assert_eq!(c[0].priority, 2130706431);
    assert_eq!((c[0].address.clone(), c[0].port), (v4(127, 0, 0, 1), 40548));
    assert_eq!(c[0].candidate_type(), CandidateType::Host);
    assert_eq!(c[1].component, 2);
    assert!(audio.end_of_candidates());
    let video = &sdp.media[1];
    assert_eq!(video.formats.len(), 17);
    assert_eq!(codec(video, 96), vp8());
    assert_eq!(video.fmtp(97).unwrap().get("apt"), Some("96"));
    // No max-message-size on Pion's data section.
    assert_eq!(sdp.media[2].max_message_size(), None);
    assert_eq!(sdp.media[2].candidates().count(), 0);
}

#[test]
fn pion_3_1_answer_to_chromium() {
    let name = "pion-3.1-answer-av-data.sdp";
    let sdp = strict_round_trip(name);
    check_captured(name, &sdp, DescriptionKind::Answer, Setup::Active, &AV_DATA);
    let audio = &sdp.media[0];
    assert_eq!(audio.formats, ["111", "9", "0", "8"]);
    assert_eq!(codec(audio, 111), opus());
    assert_eq!(audio.direction(), Some(Direction::RecvOnly));
    // Pion writes "a=rtcp-fb:111 transport-cc " with a trailing space; it round-trips above.
    assert_eq!(
        audio
            .rtcp_fb(111)
            .map(|f| f.feedback_type)
            .collect::<Vec<_>>(),
        ["transport-cc"]
    );
    let video = &sdp.media[1];
    assert_eq!(video.formats.len(), 11);
    assert_eq!(codec(video, 96), vp8());
    assert_eq!(video.rtcp_fb(96).count(), 5);
    assert_eq!(
        video.fmtp(102).unwrap().get("profile-level-id"),
        Some("42001f")
    );
    assert_eq!(audio.candidates().next().unwrap().port, 40693);
    assert_eq!(sdp.media[2].max_message_size(), None);
}
