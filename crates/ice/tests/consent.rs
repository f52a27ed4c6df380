//! BAD_INPUT row 7: consent freshness (RFC 7675). With every response dropped after connection,
//! media stops 30 s (±1 s) after the last response, consent checks go out every 4–6 s, and
//! asymmetric or wrong-transaction responses do not refresh consent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::{Harness, config};
use tern_ice::{IceConnectionState, IceError, IceEvent};
use tern_stun::attributes::XorMappedAddress;
use tern_stun::{IntegrityKey, MessageEncoder, MessageType, TransactionId};

fn connected() -> Harness {
    let mut h = Harness::new(config(true, 1, 10), config(false, 2, 20));
    assert!(h.run_until(Duration::from_secs(5), |h| {
        h.a.agent.connection_state() == IceConnectionState::Completed
            && h.b.agent.connection_state() == IceConnectionState::Completed
    }));
    h
}

fn is_success_response(data: &[u8]) -> bool {
    data.len() > 2 && data[0] == 0x01 && data[1] == 0x01
}

fn is_request(data: &[u8]) -> bool {
    data.len() > 2 && data[0] == 0x00 && data[1] == 0x01
}

#[test]
fn bad_input_ice_7_consent_lost_after_30_seconds() {
    let mut h = connected();
    // Let consent run for a while, then drop everything.
    h.run_until(Duration::from_secs(12), |_| false);
    let cut = h.now;
    h.filter = Box::new(|_, _, _| false);
    assert!(h.run_until(Duration::from_secs(40), |h| {
        h.a.agent.connection_state() == IceConnectionState::Failed
    }));
    let failed_at = h.now;
    let last_response = h
        .delivered
        .iter()
        .filter(|(_, to_a, t)| *to_a && is_success_response(&t.data))
        .map(|(at, _, _)| *at)
        .max()
        .unwrap();
    let silence = failed_at - last_response;
    assert!(
        silence >= Duration::from_secs(29) && silence <= Duration::from_secs(31),
        "consent lost after {silence:?}"
    );
    assert!(failed_at > cut);
    assert_eq!(h.a.agent.selected_pair(), None);
    assert!(!h.a.agent.is_validated_remote(h.a.addr, h.b.addr));
    // Disconnected came first.
    let states: Vec<_> =
        h.a.events
            .iter()
            .filter_map(|e| match e {
                IceEvent::ConnectionStateChanged(s) => Some(*s),
                _ => None,
            })
            .collect();
    let d = states
        .iter()
        .position(|s| *s == IceConnectionState::Disconnected)
        .unwrap();
    let f = states
        .iter()
        .position(|s| *s == IceConnectionState::Failed)
        .unwrap();
    assert!(d < f, "{states:?}");
    // Consent checks (new transactions) every 4–6 s once connected.
    let mut starts = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (at, t) in &h.a.sent {
        if is_request(&t.data)
            && *at > h.start + Duration::from_secs(1)
            && seen.insert(t.data[8..20].to_vec())
        {
            starts.push(*at);
        }
    }
    assert!(starts.len() >= 6, "{} consent checks", starts.len());
    for w in starts.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= Duration::from_secs(4) && gap <= Duration::from_secs(6),
            "gap {gap:?}"
        );
    }
    // Nothing is sent after consent was lost.
    assert!(h.a.sent.iter().all(|(at, _)| *at <= failed_at));
}

#[test]
fn bad_input_ice_7_asymmetric_and_foreign_responses_do_not_refresh_consent() {
    let mut h = connected();
    h.filter = Box::new(|_, _, _| false);
    let key = IntegrityKey::short_term(&h.b.creds.pwd);
    let start = h.now;
    let mut answered = std::collections::HashSet::new();
    let mut rejected = 0;
    while h.now < start + Duration::from_secs(40)
        && h.a.agent.connection_state() != IceConnectionState::Failed
    {
        h.step(Duration::from_millis(50));
        let pending: Vec<_> =
            h.a.sent
                .iter()
                .filter(|(_, t)| is_request(&t.data))
                .map(|(_, t)| t.clone())
                .filter(|t| answered.insert(t.data[8..20].to_vec()))
                .collect();
        for t in pending {
            let tid: [u8; 12] = t.data[8..20].try_into().unwrap();
            for (tid, from) in [
                // Right transaction, wrong source address (asymmetric).
                (tid, "10.0.0.3:6000".parse().unwrap()),
                // Right source, a transaction a never started.
                ([0x99; 12], t.destination),
            ] {
                let mut buf = Vec::new();
                let mut e =
                    MessageEncoder::new(&mut buf, MessageType::BINDING_SUCCESS, TransactionId(tid));
                e.add(&XorMappedAddress(t.source)).unwrap();
                e.add_message_integrity(&key).unwrap();
                e.add_fingerprint().unwrap();
                let r = h.a.agent.handle_receive(h.now, t.source, from, &buf);
                assert!(
                    matches!(
                        r,
                        Err(IceError::NonSymmetricResponse | IceError::UnknownTransaction)
                    ),
                    "{r:?}"
                );
                rejected += 1;
            }
        }
    }
    assert!(rejected >= 10);
    assert_eq!(h.a.agent.connection_state(), IceConnectionState::Failed);
    let took = h.now - start;
    assert!(took <= Duration::from_secs(31), "{took:?}");
}
