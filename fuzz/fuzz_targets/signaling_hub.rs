#![no_main]
//! The room hub driven by arbitrary joins, leaves, relays and disconnects from
//! eight connections: no panic, rooms never exceed their limits, relayed
//! messages always carry the sender's own id.
use libfuzzer_sys::fuzz_target;
use tern_signaling::{ClientMessage, ConnectionId, Limits, PeerId, RoomHub, ServerMessage};

const ROOMS: [&str; 4] = ["a", "b", "c", "bad room"];

fuzz_target!(|data: &[u8]| {
    let mut limits = Limits::default();
    limits.max_peers_per_room = 3;
    limits.max_rooms = 2;
    let mut hub = RoomHub::with_seed(&limits, [0; 32]);
    for op in data.chunks(2) {
        let (&a, b) = match op {
            [a, b] => (a, *b),
            [a] => (a, 0),
            _ => continue,
        };
        let conn = ConnectionId(u64::from(a & 7));
        let sender_id = hub.peer_id(conn).cloned();
        let target = hub
            .peer_id(ConnectionId(u64::from(b & 7)))
            .cloned()
            .unwrap_or_else(|| PeerId::new("nobody"));
        match a >> 3 {
            0..=7 => hub.handle_message(
                conn,
                ClientMessage::Join {
                    room: ROOMS[usize::from(b >> 6)].into(),
                },
            ),
            8..=11 => hub.handle_message(conn, ClientMessage::Leave),
            12..=15 => hub.handle_message(
                conn,
                ClientMessage::Offer {
                    to: target,
                    sdp: "o".into(),
                },
            ),
            16..=19 => hub.handle_message(
                conn,
                ClientMessage::Answer {
                    to: target,
                    sdp: "a".into(),
                },
            ),
            20..=25 => hub.handle_message(
                conn,
                ClientMessage::IceCandidate {
                    to: target,
                    candidate: String::new(),
                    sdp_mid: None,
                },
            ),
            _ => hub.disconnect(conn),
        }
        while let Some((_to, msg)) = hub.poll_output() {
            if let ServerMessage::Offer { from, .. }
            | ServerMessage::Answer { from, .. }
            | ServerMessage::IceCandidate { from, .. } = msg
            {
                assert_eq!(Some(from), sender_id);
            }
        }
        let stats = hub.stats();
        assert!(stats.rooms <= 2 && stats.peers <= 6 && stats.rooms <= stats.peers);
    }
});
