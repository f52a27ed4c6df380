//! Interop with an independent implementation: aiortc's RTP/RTCP codecs (Python).
//!
//! Packets Tern emits are decoded by aiortc and compared field by field; aiortc's
//! re-serialisation and packets aiortc builds itself are decoded by Tern. The peer runs as
//! a child process (`$TERN_PYTHON tests/interop/aiortc_peer.py`), no network involved.
//! Run: `TERN_PYTHON=/path/to/venv/bin/python cargo test -p tern-rtp-rtcp --test
//! interop_aiortc -- --ignored`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use tern_rtp_rtcp::wire::ext::*;
use tern_rtp_rtcp::wire::rtcp::*;
use tern_rtp_rtcp::wire::rtp::{RtpHeader, RtpPacket};

/// Kills the peer by PID when the test ends, also on failure.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ext_map() -> ExtensionMap {
    let mut m = ExtensionMap::new();
    for (id, uri) in [
        (1, URI_MID),
        (2, URI_RTP_STREAM_ID),
        (3, URI_REPAIRED_RTP_STREAM_ID),
        (4, URI_ABS_SEND_TIME),
        (5, URI_TOFFSET),
        (6, URI_AUDIO_LEVEL),
        (7, URI_TRANSPORT_WIDE_CC),
    ] {
        assert!(m.insert_uri(id, uri).unwrap());
    }
    m
}

/// Send all requests, collect all answers (one JSON value per line) within a deadline.
fn exchange(requests: &[String]) -> Vec<Value> {
    let python = std::env::var("TERN_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/aiortc_peer.py");
    let child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn $TERN_PYTHON with aiortc");
    let mut peer = Peer(child);
    let mut stdin = peer.0.stdin.take().unwrap();
    for r in requests {
        writeln!(stdin, "{r}").unwrap();
    }
    writeln!(stdin, "quit").unwrap();
    drop(stdin);
    let stdout = peer.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect();
        let _ = tx.send(lines);
    });
    let lines = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("aiortc peer answered in time");
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn tern_rtp_packets(map: &ExtensionMap) -> Vec<(RtpHeader, Vec<u8>, u8)> {
    let mut out = Vec::new();
    // one-byte form, CSRCs, padding, every typed extension aiortc knows
    let mut h = RtpHeader {
        marker: true,
        payload_type: 111,
        sequence_number: 65535,
        timestamp: 0xdead_beef,
        ssrc: 0x0102_0304,
        csrcs: vec![9, 10],
        extensions: None,
    };
    map.write(&mut h, &Mid("0".into()));
    map.write(&mut h, &RtpStreamId("lo".into()));
    map.write(&mut h, &RepairedRtpStreamId("hi".into()));
    map.write(&mut h, &AbsSendTime(0xabcdef));
    map.write(&mut h, &TransmissionOffset(-1234));
    map.write(
        &mut h,
        &AudioLevel {
            voice_activity: true,
            level: 33,
        },
    );
    map.write(&mut h, &TransportSequenceNumber(777));
    out.push((h, b"opus frame".to_vec(), 3));
    // mixed use: a 25-byte mid forces the two-byte form (RFC 8285 §4.1.2)
    let mut h2 = RtpHeader {
        payload_type: 96,
        sequence_number: 1,
        timestamp: 1,
        ssrc: 5,
        ..Default::default()
    };
    map.write(&mut h2, &Mid("a-very-long-mid-value-xyz".into()));
    map.write(&mut h2, &TransportSequenceNumber(1));
    out.push((h2, vec![0xab; 300], 0));
    out
}

fn tern_rtcp() -> Vec<RtcpPacket> {
    vec![
        RtcpPacket::SenderReport(SenderReport {
            ssrc: 1,
            ntp_time: 0xe123_4567_89ab_cdef,
            rtp_time: 9000,
            packet_count: 10,
            octet_count: 1000,
            reports: vec![ReportBlock {
                ssrc: 0x1122_3344,
                fraction_lost: 12,
                cumulative_lost: -3,
                extended_highest_seq: 70_000,
                jitter: 33,
                last_sr: 0x1234_5678,
                delay_since_last_sr: 0x10000,
            }],
            profile_extension: vec![],
        }),
        RtcpPacket::SourceDescription(SourceDescription::cname(1, "tern-cname")),
        RtcpPacket::Nack(Nack::from_sequence_numbers(
            1,
            0x1122_3344,
            &[100, 101, 105, 140],
        )),
        RtcpPacket::Pli(Pli {
            sender_ssrc: 1,
            media_ssrc: 0x1122_3344,
        }),
        RtcpPacket::Remb(Remb::new(1, 1_500_000, vec![0x1122_3344])),
        RtcpPacket::Goodbye(Goodbye {
            sources: vec![1],
            reason: None,
        }),
    ]
}

#[test]
#[ignore = "interop: run by cargo xtask test-all"]
fn interop_aiortc_rtp_rtcp() {
    let map = ext_map();
    let rtp = tern_rtp_packets(&map);
    let rtcp = tern_rtcp();
    let rtcp_bytes = RtcpPacket::compound_to_vec(&rtcp).unwrap();
    let mut requests: Vec<String> = rtp
        .iter()
        .map(|(h, p, pad)| format!("rtp {}", hex(&h.to_vec(p, *pad).unwrap())))
        .collect();
    requests.push(format!("rtcp {}", hex(&rtcp_bytes)));
    requests.push("gen".into());
    let answers = exchange(&requests);

    // 1. aiortc decodes Tern's RTP, and Tern decodes aiortc's re-serialisation
    for ((h, payload, pad), a) in rtp.iter().zip(&answers) {
        assert_eq!(a["ssrc"], h.ssrc);
        assert_eq!(a["seq"], h.sequence_number);
        assert_eq!(a["ts"], h.timestamp);
        assert_eq!(a["pt"], h.payload_type);
        assert_eq!(a["marker"], h.marker);
        assert_eq!(a["csrc"], serde_json::json!(h.csrcs));
        assert_eq!(a["payload"], hex(payload));
        assert_eq!(a["padding"], *pad);
        let ext = |id: u8| {
            h.extensions
                .as_ref()
                .and_then(|e| e.get(id))
                .map(|d| d.to_vec())
        };
        let s = |id| ext(id).map(|d| String::from_utf8(d).unwrap());
        assert_eq!(a["mid"].as_str().map(String::from), s(1));
        assert_eq!(a["rid"].as_str().map(String::from), s(2));
        assert_eq!(a["rrid"].as_str().map(String::from), s(3));
        if let Some(d) = ext(4) {
            assert_eq!(a["abs"], AbsSendTime::parse(&d).unwrap().0);
        }
        if let Some(d) = ext(5) {
            assert_eq!(a["toffset"], TransmissionOffset::parse(&d).unwrap().0);
        }
        if let Some(d) = ext(6) {
            let l = AudioLevel::parse(&d).unwrap();
            assert_eq!(a["audio"], serde_json::json!([l.voice_activity, l.level]));
        }
        assert_eq!(
            a["twcc"],
            TransportSequenceNumber::parse(&ext(7).unwrap()).unwrap().0
        );
        let reser = unhex(a["reser"].as_str().unwrap());
        let p = RtpPacket::new_checked(&reser[..]).unwrap();
        assert_eq!(
            (p.ssrc(), p.sequence_number(), p.timestamp(), p.payload()),
            (h.ssrc, h.sequence_number, h.timestamp, &payload[..])
        );
        assert_eq!(map.read::<Mid, _>(&p).map(Result::unwrap), s(1).map(Mid));
        assert_eq!(
            map.read::<TransportSequenceNumber, _>(&p).unwrap().unwrap(),
            TransportSequenceNumber::parse(&ext(7).unwrap()).unwrap()
        );
        // aiortc writes toffset as 2 bytes (it should be 3, RFC 5450 §2): Tern rejects that
        // element instead of misreading it
        if ext(5).is_some() {
            assert!(map.read::<TransmissionOffset, _>(&p).unwrap().is_err());
        }
    }

    // 2. aiortc decodes Tern's RTCP compound; Tern decodes aiortc's re-serialisation
    let a = &answers[rtp.len()];
    let ps = a["packets"].as_array().unwrap();
    assert_eq!(ps.len(), rtcp.len());
    assert_eq!(ps[0]["type"], "sr");
    assert_eq!(ps[0]["ntp"], 0xe123_4567_89ab_cdef_u64);
    assert_eq!(ps[0]["reports"][0]["packets_lost"], -3);
    assert_eq!(ps[0]["reports"][0]["highest_sequence"], 70_000);
    assert_eq!(
        ps[1]["chunks"][0]["items"][0],
        serde_json::json!([1, "tern-cname"])
    );
    assert_eq!(ps[2]["lost"], serde_json::json!([100, 101, 105, 140]));
    assert_eq!(
        (ps[3]["type"].as_str(), ps[3]["fmt"].as_u64()),
        (Some("psfb"), Some(1))
    );
    assert_eq!(ps[4]["fmt"], 15);
    assert_eq!(ps[5]["sources"], serde_json::json!([1]));
    let reser = unhex(a["reser"].as_str().unwrap());
    assert_eq!(RtcpPacket::parse_compound(&reser).unwrap(), rtcp);

    // 3. packets aiortc builds itself
    let generated = &answers[rtp.len() + 1..];
    assert_eq!(generated.last().unwrap()["kind"], "end");
    for g in &generated[..generated.len() - 1] {
        let bytes = unhex(g["hex"].as_str().unwrap());
        let e = &g["expect"];
        match g["kind"].as_str().unwrap() {
            "rtp" => {
                let p = RtpPacket::new_checked(&bytes[..]).unwrap();
                assert_eq!(p.sequence_number(), e["seq"]);
                assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![7, 8]);
                assert_eq!(hex(p.payload()), e["payload"]);
                assert_eq!(map.read::<Mid, _>(&p).unwrap().unwrap().0, e["mid"]);
                assert_eq!(map.read::<RtpStreamId, _>(&p).unwrap().unwrap().0, e["rid"]);
                assert_eq!(map.read::<AbsSendTime, _>(&p).unwrap().unwrap().0, e["abs"]);
                let al = map.read::<AudioLevel, _>(&p).unwrap().unwrap();
                assert_eq!(serde_json::json!([al.voice_activity, al.level]), e["audio"]);
                assert_eq!(
                    map.read::<TransportSequenceNumber, _>(&p)
                        .unwrap()
                        .unwrap()
                        .0,
                    e["twcc"]
                );
            }
            "rtx" => {
                // RFC 4588 §4: OSN in front of the original payload
                let p = RtpPacket::new_checked(&bytes[..]).unwrap();
                assert_eq!(p.ssrc(), 0x5566_7788);
                let osn = u16::from_be_bytes([p.payload()[0], p.payload()[1]]);
                assert_eq!(osn, e["seq"]);
                assert_eq!(hex(&p.payload()[2..]), e["payload"]);
            }
            "rtcp" => {
                let ps = RtcpPacket::parse_compound(&bytes).unwrap();
                let exp = e.as_array().unwrap();
                assert_eq!(ps.len(), exp.len());
                for (p, x) in ps.iter().zip(exp) {
                    match p {
                        RtcpPacket::SenderReport(sr) => {
                            assert_eq!(x["ntp"], sr.ntp_time);
                            assert_eq!(x["octets"], sr.octet_count);
                            assert_eq!(
                                x["reports"][0]["packets_lost"],
                                sr.reports[0].cumulative_lost
                            );
                            assert_eq!(x["reports"][0]["dlsr"], sr.reports[0].delay_since_last_sr);
                        }
                        RtcpPacket::ReceiverReport(rr) => {
                            assert_eq!(x["ssrc"], rr.ssrc);
                            assert_eq!(x["reports"][0]["jitter"], rr.reports[0].jitter);
                        }
                        RtcpPacket::SourceDescription(sd) => {
                            assert_eq!(sd.chunks[0].items[0].value, b"aiortc-cname");
                        }
                        RtcpPacket::Nack(n) => {
                            assert_eq!(
                                serde_json::json!(n.sequence_numbers().collect::<Vec<_>>()),
                                x["lost"]
                            );
                        }
                        RtcpPacket::Pli(p) => assert_eq!(x["media"], p.media_ssrc),
                        RtcpPacket::Remb(r) => {
                            assert!(
                                (1_490_000..=1_500_000).contains(&r.bitrate()),
                                "{}",
                                r.bitrate()
                            );
                            assert_eq!(r.ssrcs, vec![0x1122_3344]);
                        }
                        RtcpPacket::Goodbye(b) => {
                            assert_eq!(serde_json::json!(b.sources), x["sources"])
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
            k => panic!("unknown kind {k}"),
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}
