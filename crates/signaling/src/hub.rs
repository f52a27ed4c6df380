//! The room hub: which connection is which peer in which room, and who gets
//! which message. Sans-IO: no sockets, tasks or clocks, so it is tested
//! deterministically and fuzzed directly; the tokio server runs one of these in
//! a single task that owns it (no locks).

use std::collections::{HashMap, VecDeque};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::Limits;
use crate::message::{ClientMessage, ErrorCode, PeerId, RoomName, ServerMessage};

/// Identifies one client connection to the hub. Chosen by the caller (the
/// tokio server numbers its connections); never sent on the wire, where peers
/// are known only by their random [`PeerId`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// Counts of what the hub holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Rooms with at least one peer (empty rooms are removed at once).
    pub rooms: usize,
    /// Connections that are in a room.
    pub peers: usize,
}

#[derive(Clone, Debug)]
struct Member {
    id: PeerId,
    room: RoomName,
}

/// Room membership and message routing for every connection.
///
/// # Run loop
/// 1. For each message a connection sends, call [`RoomHub::handle_message`];
///    when a connection ends (or must be dropped), call [`RoomHub::disconnect`].
/// 2. After every call, drain [`RoomHub::poll_output`] and deliver each
///    `(connection, message)` in order.
///
/// One input queues at most [`Limits::max_peers_per_room`] outputs, so the
/// output queue stays bounded as long as it is drained after every input.
#[derive(Debug)]
pub struct RoomHub {
    max_peers_per_room: usize,
    max_rooms: usize,
    rng: StdRng,
    members: HashMap<ConnectionId, Member>,
    peers: HashMap<PeerId, ConnectionId>,
    /// Members of each room in join order.
    rooms: HashMap<RoomName, Vec<ConnectionId>>,
    outputs: VecDeque<(ConnectionId, ServerMessage)>,
}

impl RoomHub {
    /// A hub whose peer ids come from an RNG seeded by the operating system.
    pub fn new(limits: &Limits) -> Self {
        Self::with_rng(limits, StdRng::from_entropy())
    }

    /// A hub with a fixed RNG seed, for reproducible tests.
    pub fn with_seed(limits: &Limits, seed: [u8; 32]) -> Self {
        Self::with_rng(limits, StdRng::from_seed(seed))
    }

    fn with_rng(limits: &Limits, rng: StdRng) -> Self {
        Self {
            max_peers_per_room: limits.max_peers_per_room,
            max_rooms: limits.max_rooms,
            rng,
            members: HashMap::new(),
            peers: HashMap::new(),
            rooms: HashMap::new(),
            outputs: VecDeque::new(),
        }
    }

    /// Handles one message from `conn`. Refusals are queued as `error`
    /// messages to `conn` and change nothing.
    pub fn handle_message(&mut self, conn: ConnectionId, msg: ClientMessage) {
        match msg {
            ClientMessage::Join { room } => self.join(conn, &room),
            ClientMessage::Leave => {
                if self.members.contains_key(&conn) {
                    self.leave(conn);
                } else {
                    self.refuse(conn, ErrorCode::NotJoined, "leave before join");
                }
            }
            ClientMessage::Offer { to, sdp } => {
                self.relay(conn, &to, |from| ServerMessage::Offer { from, sdp });
            }
            ClientMessage::Answer { to, sdp } => {
                self.relay(conn, &to, |from| ServerMessage::Answer { from, sdp });
            }
            ClientMessage::IceCandidate {
                to,
                candidate,
                sdp_mid,
            } => {
                self.relay(conn, &to, |from| ServerMessage::IceCandidate {
                    from,
                    candidate,
                    sdp_mid,
                });
            }
        }
    }

    /// `conn` is gone: it leaves its room (the others get `remove_peer`).
    /// Unknown or never-joined connections are ignored.
    pub fn disconnect(&mut self, conn: ConnectionId) {
        if self.members.contains_key(&conn) {
            self.leave(conn);
        }
    }

    /// The next message to deliver.
    pub fn poll_output(&mut self) -> Option<(ConnectionId, ServerMessage)> {
        self.outputs.pop_front()
    }

    /// Current counts.
    pub fn stats(&self) -> HubStats {
        HubStats {
            rooms: self.rooms.len(),
            peers: self.members.len(),
        }
    }

    /// The peer id `conn` has in its current room, if it joined one.
    pub fn peer_id(&self, conn: ConnectionId) -> Option<&PeerId> {
        self.members.get(&conn).map(|m| &m.id)
    }

    fn refuse(&mut self, conn: ConnectionId, code: ErrorCode, message: impl Into<String>) {
        self.outputs
            .push_back((conn, ServerMessage::error(code, message)));
    }

    fn join(&mut self, conn: ConnectionId, room: &str) {
        if let Some(member) = self.members.get(&conn) {
            let message = format!("already in room {}; send leave first", member.room);
            self.refuse(conn, ErrorCode::AlreadyJoined, message);
            return;
        }
        let room = match RoomName::new(room) {
            Ok(room) => room,
            Err(e) => return self.refuse(conn, ErrorCode::InvalidRoom, e.to_string()),
        };
        let occupants = self.rooms.get(&room).map_or(0, Vec::len);
        if occupants == 0 && self.rooms.len() >= self.max_rooms {
            let message = format!("the server holds its maximum of {} rooms", self.max_rooms);
            return self.refuse(conn, ErrorCode::TooManyRooms, message);
        }
        if occupants >= self.max_peers_per_room {
            let message = format!(
                "room {room} holds its maximum of {} peers",
                self.max_peers_per_room
            );
            return self.refuse(conn, ErrorCode::RoomFull, message);
        }

        let id = self.fresh_peer_id();
        let others = self.rooms.entry(room.clone()).or_default();
        let mut ids = Vec::with_capacity(others.len());
        for &other in others.iter() {
            if let Some(member) = self.members.get(&other) {
                ids.push(member.id.clone());
                self.outputs
                    .push_back((other, ServerMessage::NewPeer { id: id.clone() }));
            }
        }
        others.push(conn);
        self.outputs.push_back((
            conn,
            ServerMessage::Peers {
                you: id.clone(),
                ids,
            },
        ));
        self.peers.insert(id.clone(), conn);
        self.members.insert(conn, Member { id, room });
    }

    /// Removes a member that is known to exist, telling the rest of its room.
    fn leave(&mut self, conn: ConnectionId) {
        let Some(member) = self.members.remove(&conn) else {
            return;
        };
        self.peers.remove(&member.id);
        let now_empty = match self.rooms.get_mut(&member.room) {
            Some(occupants) => {
                occupants.retain(|&c| c != conn);
                for &other in occupants.iter() {
                    self.outputs.push_back((
                        other,
                        ServerMessage::RemovePeer {
                            id: member.id.clone(),
                        },
                    ));
                }
                occupants.is_empty()
            }
            None => false,
        };
        if now_empty {
            self.rooms.remove(&member.room);
        }
    }

    fn relay(
        &mut self,
        conn: ConnectionId,
        to: &PeerId,
        build: impl FnOnce(PeerId) -> ServerMessage,
    ) {
        let Some(sender) = self.members.get(&conn) else {
            return self.refuse(conn, ErrorCode::NotJoined, "join a room before signaling");
        };
        // Only peers of the sender's own room are addressable; anything else,
        // including the sender itself, is unknown.
        let target = self
            .peers
            .get(to)
            .copied()
            .filter(|&target| target != conn)
            .filter(|target| {
                self.members
                    .get(target)
                    .is_some_and(|m| m.room == sender.room)
            });
        match target {
            Some(target) => {
                let msg = build(sender.id.clone());
                self.outputs.push_back((target, msg));
            }
            None => {
                let message = format!("no peer {to} in room {}", sender.room);
                self.refuse(conn, ErrorCode::UnknownPeer, message);
            }
        }
    }

    /// 64 random bits as 16 hex digits: not guessable, and unique among the
    /// peers present (a collision is redrawn).
    fn fresh_peer_id(&mut self) -> PeerId {
        loop {
            let id = PeerId::new(format!("{:016x}", self.rng.r#gen::<u64>()));
            if !self.peers.contains_key(&id) {
                return id;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ConnectionId = ConnectionId(1);
    const B: ConnectionId = ConnectionId(2);
    const C: ConnectionId = ConnectionId(3);
    const D: ConnectionId = ConnectionId(4);

    fn hub() -> RoomHub {
        RoomHub::with_seed(&Limits::default(), [7; 32])
    }

    fn drain(hub: &mut RoomHub) -> Vec<(ConnectionId, ServerMessage)> {
        std::iter::from_fn(|| hub.poll_output()).collect()
    }

    fn join(hub: &mut RoomHub, conn: ConnectionId, room: &str) -> PeerId {
        hub.handle_message(conn, ClientMessage::Join { room: room.into() });
        hub.peer_id(conn).cloned().expect("joined")
    }

    fn error_code(output: &[(ConnectionId, ServerMessage)]) -> Option<(ConnectionId, ErrorCode)> {
        match output {
            [(conn, ServerMessage::Error { code, .. })] => Some((*conn, *code)),
            _ => None,
        }
    }

    #[test]
    fn join_announces_both_ways_in_join_order() {
        let mut hub = hub();
        let a = join(&mut hub, A, "r1");
        assert_eq!(
            drain(&mut hub),
            [(
                A,
                ServerMessage::Peers {
                    you: a.clone(),
                    ids: vec![]
                }
            )]
        );
        let b = join(&mut hub, B, "r1");
        drain(&mut hub);
        let c = join(&mut hub, C, "r1");
        assert_eq!(
            drain(&mut hub),
            [
                (A, ServerMessage::NewPeer { id: c.clone() }),
                (B, ServerMessage::NewPeer { id: c.clone() }),
                (
                    C,
                    ServerMessage::Peers {
                        you: c,
                        ids: vec![a, b]
                    }
                ),
            ]
        );
        assert_eq!(hub.stats(), HubStats { rooms: 1, peers: 3 });
    }

    #[test]
    fn peer_ids_are_random_hex_and_distinct() {
        let mut hub = hub();
        let ids: Vec<PeerId> = (0..50)
            .map(|i| join(&mut hub, ConnectionId(i), &format!("room{}", i % 5)))
            .collect();
        for id in &ids {
            assert_eq!(id.as_str().len(), 16);
            assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        // Different seeds give different ids: nothing sequential.
        let mut other = RoomHub::with_seed(&Limits::default(), [8; 32]);
        assert_ne!(join(&mut other, A, "r"), ids[0]);
    }

    #[test]
    fn leave_and_disconnect_remove_the_peer_and_empty_rooms() {
        let mut hub = hub();
        let a = join(&mut hub, A, "r1");
        let b = join(&mut hub, B, "r1");
        join(&mut hub, C, "r2");
        drain(&mut hub);
        hub.handle_message(A, ClientMessage::Leave);
        assert_eq!(drain(&mut hub), [(B, ServerMessage::RemovePeer { id: a })]);
        assert_eq!(hub.stats(), HubStats { rooms: 2, peers: 2 });
        hub.disconnect(B);
        assert_eq!(drain(&mut hub), []);
        assert_eq!(hub.stats(), HubStats { rooms: 1, peers: 1 });
        // B's id is no longer addressable, and a rejoin gets a fresh id.
        let a2 = join(&mut hub, A, "r2");
        assert_ne!(a2, b);
        drain(&mut hub);
        hub.handle_message(
            A,
            ClientMessage::Offer {
                to: b,
                sdp: "v=0".into(),
            },
        );
        assert_eq!(
            error_code(&drain(&mut hub)),
            Some((A, ErrorCode::UnknownPeer))
        );
        hub.disconnect(C);
        hub.disconnect(A);
        hub.disconnect(D); // never joined: ignored
        assert_eq!(hub.stats(), HubStats::default());
    }

    #[test]
    fn relay_goes_only_to_the_addressee_with_from_set() {
        let mut hub = hub();
        let a = join(&mut hub, A, "r1");
        let b = join(&mut hub, B, "r1");
        join(&mut hub, C, "r1");
        drain(&mut hub);
        hub.handle_message(
            A,
            ClientMessage::Offer {
                to: b.clone(),
                sdp: "offer".into(),
            },
        );
        hub.handle_message(
            B,
            ClientMessage::Answer {
                to: a.clone(),
                sdp: "answer".into(),
            },
        );
        hub.handle_message(
            A,
            ClientMessage::IceCandidate {
                to: b.clone(),
                candidate: String::new(),
                sdp_mid: Some("0".into()),
            },
        );
        assert_eq!(
            drain(&mut hub),
            [
                (
                    B,
                    ServerMessage::Offer {
                        from: a.clone(),
                        sdp: "offer".into()
                    }
                ),
                (
                    A,
                    ServerMessage::Answer {
                        from: b,
                        sdp: "answer".into()
                    }
                ),
                (
                    B,
                    ServerMessage::IceCandidate {
                        from: a,
                        candidate: String::new(),
                        sdp_mid: Some("0".into())
                    }
                ),
            ]
        );
    }

    #[test]
    fn peers_of_other_rooms_and_oneself_are_unknown() {
        let mut hub = hub();
        let a = join(&mut hub, A, "r1");
        let b = join(&mut hub, B, "r2");
        drain(&mut hub);
        for to in [b, a, PeerId::new("nobody")] {
            hub.handle_message(
                A,
                ClientMessage::Offer {
                    to,
                    sdp: "x".into(),
                },
            );
            assert_eq!(
                error_code(&drain(&mut hub)),
                Some((A, ErrorCode::UnknownPeer))
            );
        }
    }

    #[test]
    fn requests_before_join_are_refused() {
        let mut hub = hub();
        let b = join(&mut hub, B, "r1");
        drain(&mut hub);
        for msg in [
            ClientMessage::Leave,
            ClientMessage::Offer {
                to: b.clone(),
                sdp: "x".into(),
            },
            ClientMessage::Answer {
                to: b.clone(),
                sdp: "x".into(),
            },
            ClientMessage::IceCandidate {
                to: b.clone(),
                candidate: String::new(),
                sdp_mid: None,
            },
        ] {
            hub.handle_message(A, msg);
            assert_eq!(
                error_code(&drain(&mut hub)),
                Some((A, ErrorCode::NotJoined))
            );
        }
        assert_eq!(hub.stats(), HubStats { rooms: 1, peers: 1 });
    }

    #[test]
    fn join_refusals_change_nothing() {
        let limits = Limits {
            max_peers_per_room: 2,
            max_rooms: 2,
            ..Limits::default()
        };
        let mut hub = RoomHub::with_seed(&limits, [1; 32]);
        join(&mut hub, A, "r1");
        drain(&mut hub);
        hub.handle_message(A, ClientMessage::Join { room: "r2".into() });
        assert_eq!(
            error_code(&drain(&mut hub)),
            Some((A, ErrorCode::AlreadyJoined))
        );
        for bad in ["", "a b", "x/y", &"a".repeat(65)] {
            hub.handle_message(B, ClientMessage::Join { room: bad.into() });
            assert_eq!(
                error_code(&drain(&mut hub)),
                Some((B, ErrorCode::InvalidRoom))
            );
        }
        join(&mut hub, B, "r1");
        join(&mut hub, C, "r2");
        drain(&mut hub);
        hub.handle_message(D, ClientMessage::Join { room: "r1".into() });
        assert_eq!(error_code(&drain(&mut hub)), Some((D, ErrorCode::RoomFull)));
        hub.handle_message(D, ClientMessage::Join { room: "r3".into() });
        assert_eq!(
            error_code(&drain(&mut hub)),
            Some((D, ErrorCode::TooManyRooms))
        );
        assert_eq!(hub.stats(), HubStats { rooms: 2, peers: 3 });
        // An existing room with space is still joinable at the room limit.
        hub.disconnect(A);
        drain(&mut hub);
        join(&mut hub, D, "r1");
        assert_eq!(hub.stats(), HubStats { rooms: 2, peers: 3 });
    }
}
