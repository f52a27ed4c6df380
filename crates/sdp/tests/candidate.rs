//! Trickled candidates: `candidate:` strings with and without `a=`, the full RFC 8839 grammar.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::IpAddr;

use tern_sdp::{AttributeError, Candidate, CandidateAddress, CandidateType, ParseError};

#[test]
fn prefixes_accepted() {
    let v = "842163049 1 udp 1677729535 198.51.100.7 46154 typ srflx raddr 10.0.0.2 rport 46154 generation 0 ufrag EsAw network-id 1 network-cost 10";
    let a = Candidate::parse(&format!("candidate:{v}")).unwrap();
    let b = Candidate::parse(&format!("a=candidate:{v}\r\n")).unwrap();
    let c = Candidate::parse(v).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(a.candidate_type(), CandidateType::ServerReflexive);
    assert_eq!(
        a.related_address,
        Some(CandidateAddress::Ip("10.0.0.2".parse().unwrap()))
    );
    assert_eq!(a.related_port, Some(46154));
    assert_eq!(a.ufrag.as_deref(), Some("EsAw"));
    assert_eq!(a.network_cost, Some(10));
    assert_eq!(a.to_trickle_string(), format!("candidate:{v}"));
}

#[test]
fn mdns_tcp_and_ipv6() {
    let c = Candidate::parse("candidate:1467250027 1 tcp 1518280447 3b5a4c4e-8f1e-4b0c-9c3a-1a2b3c4d5e6f.local 9 typ host tcptype active generation 0").unwrap();
    assert!(c.address.is_mdns());
    assert!(c.is_tcp());
    assert_eq!(c.tcp_type.as_deref(), Some("active"));
    let c = Candidate::parse("candidate:2 1 UDP 2122262783 2001:db8::1 52000 typ host").unwrap();
    assert_eq!(
        c.address.ip(),
        Some("2001:db8::1".parse::<IpAddr>().unwrap())
    );
    assert!(c.is_udp());
    let c = Candidate::parse(
        "candidate:3 1 udp 41885695 203.0.113.5 3478 typ relay raddr 0.0.0.0 rport 0 x-custom 7",
    )
    .unwrap();
    assert_eq!(c.extensions, [("x-custom".to_owned(), "7".to_owned())]);
    assert_eq!(c.candidate_type(), CandidateType::Relay);
}

fn err(s: &str) -> AttributeError {
    match Candidate::parse(s) {
        Err(ParseError::InvalidAttribute { error, .. }) => error,
        other => panic!("{s}: {other:?}"),
    }
}

#[test]
fn malformed_candidates() {
    assert_eq!(
        err("candidate:1 1 udp 1 192.0.2.1 0 typ host"),
        AttributeError::BadPort("port")
    );
    assert_eq!(
        err("candidate:1 1 udp 1 192.0.2.1 65536 typ host"),
        AttributeError::BadPort("port")
    );
    assert_eq!(
        err("candidate:1 1 udp 1 192.0.2.1 -1 typ host"),
        AttributeError::BadPort("port")
    );
    assert_eq!(
        err("candidate:1 0 udp 1 192.0.2.1 9 typ host"),
        AttributeError::BadNumber("component-id")
    );
    assert_eq!(
        err("candidate:1 1 udp 4294967296 192.0.2.1 9 typ host"),
        AttributeError::BadNumber("priority")
    );
    assert_eq!(
        err("candidate:1 1 udp 1 192.0.2.1 9 host"),
        AttributeError::MissingField("typ")
    );
    assert_eq!(
        err("candidate:1 1 udp 1 192.0.2.1 9 typ host generation"),
        AttributeError::DanglingExtension
    );
    assert_eq!(
        err("candidate:1 1 udp 1 bad$host 9 typ host"),
        AttributeError::BadValue("connection-address")
    );
    assert_eq!(
        err("candidate:1 1 tcp 1 192.0.2.1 9 typ host tcptype both"),
        AttributeError::BadValue("tcptype")
    );
    assert_eq!(
        err(&format!(
            "candidate:{} 1 udp 1 192.0.2.1 9 typ host",
            "a".repeat(33)
        )),
        AttributeError::BadValue("foundation")
    );
    assert_eq!(
        err("candidate:"),
        AttributeError::MissingField("foundation")
    );
    let e = Candidate::parse("candidate:1 1 udp 1 192.0.2.1 70000 typ host").unwrap_err();
    assert!(e.to_string().contains("port"), "{e}");
}
