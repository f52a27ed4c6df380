//! Property tests: `parse(emit(x)) == x` for generated descriptions and for every typed
//! attribute value.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use tern_sdp::*;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9_.!#$%&'*+^`{|}~-]{0,11}"
}
fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,9}"
}
/// Text without CR, LF or NUL; may hold spaces and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    "[^\r\n\u{0}]{0,24}"
}
fn ice_chars(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9+/]{{{min},{max}}}")).unwrap()
}

fn cand_address() -> impl Strategy<Value = CandidateAddress> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| CandidateAddress::Ip(IpAddr::V4(Ipv4Addr::from(b)))),
        any::<[u16; 8]>().prop_map(|s| CandidateAddress::Ip(IpAddr::V6(Ipv6Addr::from(s)))),
        "[a-f0-9]{8}-[a-f0-9]{4}\\.local".prop_map(CandidateAddress::Hostname),
    ]
}

prop_compose! {
    fn candidate()(
        foundation in ice_chars(1, 32), component in 1u16..=256, transport in prop_oneof![Just("udp"), Just("tcp"), Just("UDP")],
        priority in any::<u32>(), address in cand_address(), port in 1u16..,
        kind in prop_oneof![Just("host"), Just("srflx"), Just("prflx"), Just("relay")],
        related in option::of((cand_address(), any::<u16>())),
        tcp_type in option::of(prop_oneof![Just("active"), Just("passive"), Just("so")]),
        generation in option::of(any::<u32>()), ufrag in option::of(ice_chars(4, 8)),
        network_id in option::of(any::<u32>()), network_cost in option::of(any::<u32>()),
        extensions in vec(("x-[a-z]{1,6}", "[a-z0-9]{1,6}"), 0..3),
    ) -> Candidate {
        Candidate {
            foundation, component, transport: transport.into(), priority, address, port, kind: kind.into(),
            related_address: related.as_ref().map(|r| r.0.clone()), related_port: related.map(|r| r.1),
            tcp_type: tcp_type.map(Into::into), generation, ufrag, network_id, network_cost, extensions,
        }
    }
}

fn fingerprint() -> impl Strategy<Value = Fingerprint> {
    prop_oneof![
        vec(any::<u8>(), 32).prop_map(|v| Fingerprint {
            hash_function: "sha-256".into(),
            value: v
        }),
        vec(any::<u8>(), 48).prop_map(|v| Fingerprint {
            hash_function: "sha-384".into(),
            value: v
        }),
        vec(any::<u8>(), 64).prop_map(|v| Fingerprint {
            hash_function: "sha-512".into(),
            value: v
        }),
        vec(any::<u8>(), 20).prop_map(|v| Fingerprint {
            hash_function: "sha-1".into(),
            value: v
        }),
        vec(any::<u8>(), 1..40).prop_map(|v| Fingerprint {
            hash_function: "x-hash".into(),
            value: v
        }),
    ]
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ]
}

fn rtpmap() -> impl Strategy<Value = RtpMap> {
    (
        0u8..=127,
        "[A-Za-z][A-Za-z0-9-]{0,8}",
        any::<u32>(),
        option::of(any::<u16>()),
    )
        .prop_map(
            |(payload_type, encoding_name, clock_rate, channels)| RtpMap {
                payload_type,
                encoding_name,
                clock_rate,
                channels,
            },
        )
}

fn fmtp() -> impl Strategy<Value = Fmtp> {
    (
        0u8..=127,
        vec((word(), option::of("[A-Za-z0-9/.-]{0,8}")), 1..5),
    )
        .prop_map(|(pt, params)| Fmtp {
            format: pt.to_string(),
            parameters: params
                .into_iter()
                .map(|(key, value)| FmtpParameter { key, value })
                .collect(),
        })
}

fn rtcp_fb() -> impl Strategy<Value = RtcpFb> {
    (
        option::of(0u8..=127),
        word(),
        option::of("[a-z0-9]{1,5}( [a-z0-9]{1,5})?"),
    )
        .prop_map(|(payload_type, feedback_type, parameter)| RtcpFb {
            payload_type,
            feedback_type,
            parameter,
        })
}

fn extmap() -> impl Strategy<Value = Extmap> {
    (
        1u16..=255,
        option::of(direction()),
        "urn:[a-z:-]{1,20}",
        option::of("[a-z0-9]{1,6}"),
    )
        .prop_map(|(id, direction, uri, attributes)| Extmap {
            id,
            direction,
            uri,
            attributes,
        })
}

fn rid() -> impl Strategy<Value = Rid> {
    (
        "[A-Za-z0-9_-]{1,8}",
        prop_oneof![Just(RidDirection::Send), Just(RidDirection::Recv)],
        vec(0u8..=127, 0..3),
        vec(("[a-z][a-z0-9-]{0,8}", option::of("[0-9]{1,5}")), 0..3),
    )
        .prop_map(|(id, direction, payload_types, restrictions)| Rid {
            id,
            direction,
            payload_types,
            restrictions,
        })
}

fn sim_streams() -> impl Strategy<Value = Vec<Vec<SimulcastId>>> {
    vec(
        vec(
            ("[A-Za-z0-9_-]{1,4}", any::<bool>())
                .prop_map(|(rid, paused)| SimulcastId { rid, paused }),
            1..3,
        ),
        0..3,
    )
}

fn simulcast() -> impl Strategy<Value = Simulcast> {
    (sim_streams(), sim_streams())
        .prop_filter("one direction", |(s, r)| !s.is_empty() || !r.is_empty())
        .prop_map(|(send, recv)| Simulcast { send, recv })
}

/// Any attribute, typed or not.
fn attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        candidate().prop_map(|c| Attribute::from_value(&c).unwrap()),
        fingerprint().prop_map(|f| Attribute::from_value(&f).unwrap()),
        rtpmap().prop_map(|v| Attribute::from_value(&v).unwrap()),
        fmtp().prop_map(|v| Attribute::from_value(&v).unwrap()),
        rtcp_fb().prop_map(|v| Attribute::from_value(&v).unwrap()),
        extmap().prop_map(|v| Attribute::from_value(&v).unwrap()),
        rid().prop_map(|v| Attribute::from_value(&v).unwrap()),
        simulcast().prop_map(|v| Attribute::from_value(&v).unwrap()),
        direction().prop_map(|d| Attribute::flag(d.as_str()).unwrap()),
        prop_oneof![
            Just("rtcp-mux"),
            Just("rtcp-rsize"),
            Just("ice-lite"),
            Just("end-of-candidates")
        ]
        .prop_map(|n| Attribute::flag(n).unwrap()),
        (token(), option::of(text())).prop_map(|(n, v)| Attribute::new(
            &format!("x-{n}"),
            v.as_deref()
        )
        .unwrap()),
    ]
}

fn connection() -> impl Strategy<Value = Connection> {
    prop_oneof![
        (
            any::<[u8; 4]>(),
            option::of(any::<u8>()),
            option::of(any::<u32>())
        )
            .prop_map(|(a, ttl, n)| Connection {
                network_type: "IN".into(),
                address_type: "IP4".into(),
                address: Ipv4Addr::from(a).to_string(),
                ttl,
                number_of_addresses: if ttl.is_some() { n } else { None },
            }),
        (any::<[u16; 8]>(), option::of(any::<u32>())).prop_map(|(a, n)| Connection {
            network_type: "IN".into(),
            address_type: "IP6".into(),
            address: Ipv6Addr::from(a).to_string(),
            ttl: None,
            number_of_addresses: n,
        }),
    ]
}

fn bandwidth() -> impl Strategy<Value = Bandwidth> {
    (
        prop_oneof![Just("AS"), Just("CT"), Just("TIAS")],
        any::<u64>(),
    )
        .prop_map(|(t, b)| Bandwidth {
            bwtype: t.into(),
            bandwidth: b,
        })
}

fn typed_time(signed: bool) -> impl Strategy<Value = TypedTime> {
    let unit = option::of(prop_oneof![
        Just(TimeUnit::Days),
        Just(TimeUnit::Hours),
        Just(TimeUnit::Minutes),
        Just(TimeUnit::Seconds)
    ]);
    let range = if signed {
        -100_000i64..100_000
    } else {
        0i64..100_000
    };
    (range, unit).prop_map(|(value, unit)| TypedTime { value, unit })
}

fn timing() -> impl Strategy<Value = Timing> {
    (
        any::<u64>(),
        any::<u64>(),
        vec(
            (
                typed_time(false),
                typed_time(false),
                vec(typed_time(false), 1..3),
            ),
            0..2,
        ),
    )
        .prop_map(|(start, stop, reps)| Timing {
            start,
            stop,
            repeats: reps
                .into_iter()
                .map(|(interval, active_duration, offsets)| Repeat {
                    interval,
                    active_duration,
                    offsets,
                })
                .collect(),
        })
}

fn media() -> impl Strategy<Value = MediaDescription> {
    (
        prop_oneof![
            Just(MediaKind::Audio),
            Just(MediaKind::Video),
            Just(MediaKind::Application),
            Just(MediaKind::Text),
            Just(MediaKind::Message),
            "x[a-z]{1,5}".prop_map(MediaKind::Other)
        ],
        any::<u16>(),
        option::of(any::<u16>()),
        prop_oneof![
            Just("UDP/TLS/RTP/SAVPF"),
            Just("UDP/DTLS/SCTP"),
            Just("RTP/AVP"),
            Just("DTLS/SCTP")
        ],
        vec(token(), 1..6),
        option::of(text()),
        vec(connection(), 0..2),
        vec(bandwidth(), 0..2),
        option::of(text()),
        vec(attribute(), 0..12),
    )
        .prop_map(
            |(
                kind,
                port,
                port_count,
                protocol,
                formats,
                information,
                connections,
                bandwidths,
                key,
                attributes,
            )| {
                let mut m = MediaDescription::new(kind, port, protocol, formats);
                m.port_count = port_count;
                m.information = information;
                m.connections = connections;
                m.bandwidths = bandwidths;
                m.encryption_key = key;
                m.attributes = attributes;
                m
            },
        )
}

fn session() -> impl Strategy<Value = SessionDescription> {
    (
        ("[a-z-]{1,8}", any::<u64>(), any::<u64>(), "[0-9.]{1,15}"),
        text(),
        (
            option::of(text()),
            option::of(text()),
            vec(text(), 0..2),
            vec(text(), 0..2),
        ),
        option::of(connection()),
        vec(bandwidth(), 0..2),
        vec(timing(), 1..3),
        vec(
            (any::<u64>(), typed_time(true))
                .prop_map(|(time, offset)| TimeZoneAdjustment { time, offset }),
            0..3,
        ),
        option::of(text()),
        vec(attribute(), 0..8),
        vec(media(), 0..4),
    )
        .prop_map(
            |(
                o,
                name,
                (info, uri, emails, phones),
                connection,
                bandwidths,
                timings,
                time_zones,
                key,
                attributes,
                media,
            )| {
                let mut origin = Origin::new(o.1, o.2);
                origin.username = o.0;
                origin.unicast_address = o.3;
                let mut s = SessionDescription::new(origin);
                s.session_name = name;
                s.information = info;
                s.uri = uri;
                s.emails = emails;
                s.phones = phones;
                s.connection = connection;
                s.bandwidths = bandwidths;
                s.timings = timings;
                s.time_zones = time_zones;
                s.encryption_key = key;
                s.attributes = attributes;
                s.media = media;
                s
            },
        )
}

fn typed_round_trip<T: AttributeValue + PartialEq + std::fmt::Debug>(
    v: &T,
) -> Result<(), TestCaseError> {
    let text = v.to_string();
    prop_assert_eq!(&T::parse_value(&text).unwrap(), v, "{}", text);
    let a = Attribute::from_value(v).unwrap();
    prop_assert_eq!(a.check(), Ok(()));
    prop_assert_eq!(&a.parse_as::<T>().unwrap().unwrap(), v);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn session_parse_emit(s in session()) {
        let text = s.to_string();
        let (back, warnings) = SessionDescription::parse_with(&text, &ParseOptions::strict()).unwrap();
        prop_assert!(warnings.is_empty());
        prop_assert_eq!(&back, &s);
        prop_assert_eq!(back.to_string(), text);
    }

    #[test]
    fn candidate_round_trip(c in candidate()) {
        typed_round_trip(&c)?;
        prop_assert_eq!(Candidate::parse(&c.to_trickle_string()).unwrap(), c.clone());
        prop_assert_eq!(Candidate::parse(&format!("a={}\r\n", c.to_trickle_string())).unwrap(), c);
    }

    #[test]
    fn typed_values_round_trip(
        f in fingerprint(), r in rtpmap(), p in fmtp(), fb in rtcp_fb(), e in extmap(), rid in rid(), sc in simulcast(),
        ssrc in (any::<u32>(), word(), option::of("[a-z0-9 ]{0,12}")).prop_map(|(ssrc, attribute, value)| Ssrc { ssrc, attribute, value }),
        group in ("[A-Z-]{1,6}", vec(any::<u32>(), 1..4)).prop_map(|(semantics, ssrcs)| SsrcGroup { semantics, ssrcs }),
        bundle in vec(token(), 0..4).prop_map(|mids| Group { semantics: "BUNDLE".into(), mids }),
        msid in (token(), option::of(token())).prop_map(|(stream_id, track_id)| Msid { stream_id, track_id }),
        sctpmap in (any::<u16>(), word(), option::of(any::<u32>())).prop_map(|(port, protocol, streams)| SctpMap { port, protocol, streams }),
        rtcp in (any::<u16>(), option::of(any::<[u8; 4]>())).prop_map(|(port, a)| Rtcp {
            port, address: a.map(|a| ("IN".into(), "IP4".into(), Ipv4Addr::from(a).to_string())),
        }),
        crypto in (0u32..1_000_000_000, "[A-Z0-9_]{4,24}", vec("inline:[A-Za-z0-9+/]{4,40}(\\|2\\^20)?", 1..3), vec("[A-Z_=0-9]{1,8}", 0..2))
            .prop_map(|(tag, suite, key_params, session_params)| Crypto { tag, suite, key_params, session_params }),
        setup in prop_oneof![Just(Setup::ActPass), Just(Setup::Active), Just(Setup::Passive), Just(Setup::HoldConn)],
        options in vec(word(), 1..3).prop_map(IceOptions),
    ) {
        typed_round_trip(&f)?;
        typed_round_trip(&r)?;
        typed_round_trip(&p)?;
        typed_round_trip(&fb)?;
        typed_round_trip(&e)?;
        typed_round_trip(&rid)?;
        typed_round_trip(&sc)?;
        typed_round_trip(&ssrc)?;
        typed_round_trip(&group)?;
        typed_round_trip(&bundle)?;
        typed_round_trip(&msid)?;
        typed_round_trip(&sctpmap)?;
        typed_round_trip(&rtcp)?;
        typed_round_trip(&crypto)?;
        typed_round_trip(&setup)?;
        typed_round_trip(&options)?;
    }

    /// Arbitrary text never panics, in either mode; what parses re-parses to itself.
    #[test]
    fn arbitrary_text_never_panics(body in "(([a-z]=[^\r\n]{0,30})?\r?\n){0,12}") {
        let text = format!("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n{body}");
        for opts in [ParseOptions::default(), ParseOptions::strict()] {
            if let Ok((s, _)) = SessionDescription::parse_with(&text, &opts) {
                let again = SessionDescription::parse(&s.to_string()).unwrap();
                prop_assert_eq!(again, s);
            }
        }
    }
}
