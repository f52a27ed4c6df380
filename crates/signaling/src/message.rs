//! The wire protocol: JSON text frames with a `type` tag in snake_case.
//!
//! Each direction has its own enum, so a message that only the server may send
//! (`peers`, `new_peer`, ...) cannot be sent by a client and relayed messages
//! carry `to` going up and `from` coming down:
//!
//! | direction        | `type`            | fields                                   |
//! |------------------|-------------------|------------------------------------------|
//! | client → server  | `join`            | `room`                                   |
//! | client → server  | `offer`, `answer` | `to`, `sdp`                              |
//! | client → server  | `ice_candidate`   | `to`, `candidate`, `sdp_mid` (optional)  |
//! | client → server  | `leave`           |                                          |
//! | server → client  | `peers`           | `you`, `ids` (the others, in join order) |
//! | server → client  | `new_peer`        | `id`                                     |
//! | server → client  | `remove_peer`     | `id`                                     |
//! | server → client  | `offer`, `answer` | `from`, `sdp`                            |
//! | server → client  | `ice_candidate`   | `from`, `candidate`, `sdp_mid`           |
//! | server → client  | `error`           | `code`, `message`                        |
//!
//! An empty `candidate` means "end of candidates" and is relayed like any other.
//! Unknown fields are ignored; an unknown `type` is malformed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::RoomNameError;

/// A peer's identifier inside a room, chosen by the server at random (see
/// [`crate::Limits`]); clients only echo ids they were given.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(String);

impl PeerId {
    /// Wraps an id received from the server (or written by hand in a test).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for PeerId {
    fn from(id: &str) -> Self {
        Self(id.to_owned())
    }
}

/// A validated room name: 1 to [`RoomName::MAX_LEN`] bytes of ASCII letters,
/// digits, `-`, `_` and `.`.
///
/// The charset keeps names safe to print, log and put in a URL without escaping.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomName(String);

impl RoomName {
    /// Longest accepted room name, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Validates `name`.
    ///
    /// # Errors
    /// [`RoomNameError::Empty`], [`RoomNameError::TooLong`] or
    /// [`RoomNameError::InvalidChar`] (with the byte offset of the first bad character).
    pub fn new(name: &str) -> Result<Self, RoomNameError> {
        if name.is_empty() {
            return Err(RoomNameError::Empty);
        }
        if name.len() > Self::MAX_LEN {
            return Err(RoomNameError::TooLong {
                len: name.len(),
                max: Self::MAX_LEN,
            });
        }
        if let Some((at, _)) = name
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(RoomNameError::InvalidChar { at });
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A message a client sends to the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientMessage {
    /// Join `room` (created if it does not exist). Answered with
    /// [`ServerMessage::Peers`] or [`ServerMessage::Error`].
    Join {
        /// The room's name; must satisfy [`RoomName::new`].
        room: String,
    },
    /// An SDP offer for the peer `to` in the same room.
    Offer {
        /// Recipient.
        to: PeerId,
        /// The SDP text, relayed untouched.
        sdp: String,
    },
    /// An SDP answer for the peer `to` in the same room.
    Answer {
        /// Recipient.
        to: PeerId,
        /// The SDP text, relayed untouched.
        sdp: String,
    },
    /// A trickled ICE candidate for the peer `to`; an empty `candidate`
    /// means end of candidates.
    IceCandidate {
        /// Recipient.
        to: PeerId,
        /// The `candidate:...` attribute value, or `""` for end of candidates.
        candidate: String,
        /// The media stream identification the candidate belongs to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
    },
    /// Leave the current room; the connection stays open and may join again.
    Leave,
}

/// A message the server sends to a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerMessage {
    /// Reply to a successful join: your id and the ids of the peers already in
    /// the room, oldest first.
    Peers {
        /// The id the server gave this connection for this room.
        you: PeerId,
        /// The others in the room.
        ids: Vec<PeerId>,
    },
    /// A peer joined your room.
    NewPeer {
        /// The newcomer.
        id: PeerId,
    },
    /// A peer left your room or disconnected.
    RemovePeer {
        /// The peer that is gone.
        id: PeerId,
    },
    /// An SDP offer relayed from `from`.
    Offer {
        /// Sender.
        from: PeerId,
        /// The SDP text.
        sdp: String,
    },
    /// An SDP answer relayed from `from`.
    Answer {
        /// Sender.
        from: PeerId,
        /// The SDP text.
        sdp: String,
    },
    /// An ICE candidate relayed from `from`; empty `candidate` = end of candidates.
    IceCandidate {
        /// Sender.
        from: PeerId,
        /// The `candidate:...` attribute value, or `""`.
        candidate: String,
        /// The media stream identification the candidate belongs to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
    },
    /// The server refused a request; the connection stays open unless the
    /// code says otherwise ([`ErrorCode::TooLarge`], sustained [`ErrorCode::RateLimited`]).
    Error {
        /// Machine-readable reason.
        #[serde(default)]
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
}

/// Why the server refused a request (the `code` of an `error` message).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Not valid JSON, an unknown `type`, a missing field, or a binary frame.
    Malformed,
    /// The message exceeded [`crate::Limits::max_message_size`]; the server closes the connection.
    TooLarge,
    /// The connection sent faster than [`crate::Limits::messages_per_second`]; the message was dropped.
    RateLimited,
    /// The `to` peer is not in your room.
    UnknownPeer,
    /// `offer`/`answer`/`ice_candidate`/`leave` before `join`.
    NotJoined,
    /// `join` while already in a room (send `leave` first).
    AlreadyJoined,
    /// The room name failed [`RoomName::new`].
    InvalidRoom,
    /// The room already holds [`crate::Limits::max_peers_per_room`] peers.
    RoomFull,
    /// The server already holds [`crate::Limits::max_rooms`] rooms.
    TooManyRooms,
    /// A code this version does not know (sent by a newer server).
    #[default]
    #[serde(other)]
    Other,
}

impl ErrorCode {
    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::UnknownPeer => "unknown_peer",
            Self::NotJoined => "not_joined",
            Self::AlreadyJoined => "already_joined",
            Self::InvalidRoom => "invalid_room",
            Self::RoomFull => "room_full",
            Self::TooManyRooms => "too_many_rooms",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ClientMessage {
    /// Parses one text frame.
    ///
    /// # Errors
    /// The `serde_json` error when the text is not a well-formed client message.
    pub fn from_json(text: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(text)
    }

    /// Serializes to the JSON text sent on the wire.
    pub fn to_json(&self) -> String {
        to_json_string(self)
    }
}

impl ServerMessage {
    /// Parses one text frame.
    ///
    /// # Errors
    /// The `serde_json` error when the text is not a well-formed server message.
    pub fn from_json(text: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(text)
    }

    /// Serializes to the JSON text sent on the wire.
    pub fn to_json(&self) -> String {
        to_json_string(self)
    }

    /// Shorthand for an [`ServerMessage::Error`].
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
        }
    }
}

/// Serializing these enums cannot fail (string keys, no non-finite floats, no
/// fallible `Serialize` impls); the fallback keeps the function total anyway.
fn to_json_string<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        format!(
            r#"{{"type":"error","code":"other","message":{}}}"#,
            serde_json::Value::String(e.to_string())
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn as_value(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn client_messages_have_the_documented_shape() {
        let cases = [
            (
                ClientMessage::Join { room: "r1".into() },
                json!({"type":"join","room":"r1"}),
            ),
            (
                ClientMessage::Offer {
                    to: "a".into(),
                    sdp: "v=0".into(),
                },
                json!({"type":"offer","to":"a","sdp":"v=0"}),
            ),
            (
                ClientMessage::Answer {
                    to: "a".into(),
                    sdp: "v=0".into(),
                },
                json!({"type":"answer","to":"a","sdp":"v=0"}),
            ),
            (
                ClientMessage::IceCandidate {
                    to: "a".into(),
                    candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host".into(),
                    sdp_mid: Some("0".into()),
                },
                json!({"type":"ice_candidate","to":"a",
                       "candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdp_mid":"0"}),
            ),
            (ClientMessage::Leave, json!({"type":"leave"})),
        ];
        for (msg, expected) in cases {
            assert_eq!(as_value(&msg.to_json()), expected, "{msg:?}");
            assert_eq!(
                ClientMessage::from_json(expected.to_string().as_bytes()).unwrap(),
                msg
            );
        }
    }

    #[test]
    fn server_messages_have_the_documented_shape() {
        let cases = [
            (
                ServerMessage::Peers {
                    you: "c".into(),
                    ids: vec!["a".into(), "b".into()],
                },
                json!({"type":"peers","you":"c","ids":["a","b"]}),
            ),
            (
                ServerMessage::NewPeer { id: "a".into() },
                json!({"type":"new_peer","id":"a"}),
            ),
            (
                ServerMessage::RemovePeer { id: "a".into() },
                json!({"type":"remove_peer","id":"a"}),
            ),
            (
                ServerMessage::Offer {
                    from: "a".into(),
                    sdp: "v=0".into(),
                },
                json!({"type":"offer","from":"a","sdp":"v=0"}),
            ),
            (
                ServerMessage::Answer {
                    from: "a".into(),
                    sdp: "v=0".into(),
                },
                json!({"type":"answer","from":"a","sdp":"v=0"}),
            ),
            (
                ServerMessage::IceCandidate {
                    from: "a".into(),
                    candidate: String::new(),
                    sdp_mid: Some("0".into()),
                },
                json!({"type":"ice_candidate","from":"a","candidate":"","sdp_mid":"0"}),
            ),
            (
                ServerMessage::error(ErrorCode::UnknownPeer, "no such peer"),
                json!({"type":"error","code":"unknown_peer","message":"no such peer"}),
            ),
        ];
        for (msg, expected) in cases {
            assert_eq!(as_value(&msg.to_json()), expected, "{msg:?}");
            assert_eq!(
                ServerMessage::from_json(expected.to_string().as_bytes()).unwrap(),
                msg
            );
        }
    }

    #[test]
    fn optional_and_unknown_fields_are_tolerated() {
        let msg = ClientMessage::from_json(br#"{"type":"ice_candidate","to":"a","candidate":""}"#)
            .unwrap();
        assert_eq!(
            msg,
            ClientMessage::IceCandidate {
                to: "a".into(),
                candidate: String::new(),
                sdp_mid: None
            }
        );
        // A null sdpMid from a browser is accepted too.
        let msg = ClientMessage::from_json(
            br#"{"type":"ice_candidate","to":"a","candidate":"","sdp_mid":null,"x":1}"#,
        )
        .unwrap();
        assert!(matches!(
            msg,
            ClientMessage::IceCandidate { sdp_mid: None, .. }
        ));
        // A server without codes, or with a newer code, still parses.
        let msg = ServerMessage::from_json(br#"{"type":"error","message":"m"}"#).unwrap();
        assert_eq!(msg, ServerMessage::error(ErrorCode::Other, "m"));
        let msg = ServerMessage::from_json(br#"{"type":"error","code":"brand_new","message":"m"}"#)
            .unwrap();
        assert_eq!(msg, ServerMessage::error(ErrorCode::Other, "m"));
    }

    #[test]
    fn malformed_client_messages_are_rejected() {
        for text in [
            &b""[..],
            b"{",
            b"[]",
            b"null",
            b"{}",
            br#"{"type":"peers","you":"a","ids":[]}"#,
            br#"{"type":"join"}"#,
            br#"{"type":"join","room":5}"#,
            br#"{"type":"offer","sdp":"v=0"}"#,
            br#"{"type":"offer","from":"a","sdp":"v=0"}"#,
            br#"{"type":"ice_candidate","to":"a"}"#,
            br#"{"type":"JOIN","room":"r"}"#,
            b"\xff\xfe",
        ] {
            assert!(
                ClientMessage::from_json(text).is_err(),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn error_codes_serialize_as_their_names() {
        for code in [
            ErrorCode::Malformed,
            ErrorCode::TooLarge,
            ErrorCode::RateLimited,
            ErrorCode::UnknownPeer,
            ErrorCode::NotJoined,
            ErrorCode::AlreadyJoined,
            ErrorCode::InvalidRoom,
            ErrorCode::RoomFull,
            ErrorCode::TooManyRooms,
            ErrorCode::Other,
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                Value::String(code.as_str().into())
            );
        }
    }

    #[test]
    fn room_names_are_validated() {
        assert_eq!(RoomName::new("r1").unwrap().as_str(), "r1");
        assert!(RoomName::new("Team-7_a.b").is_ok());
        assert!(RoomName::new(&"a".repeat(RoomName::MAX_LEN)).is_ok());
        assert_eq!(RoomName::new(""), Err(RoomNameError::Empty));
        assert_eq!(
            RoomName::new(&"a".repeat(65)),
            Err(RoomNameError::TooLong { len: 65, max: 64 })
        );
        assert_eq!(
            RoomName::new("a b"),
            Err(RoomNameError::InvalidChar { at: 1 })
        );
        assert_eq!(
            RoomName::new("ab/"),
            Err(RoomNameError::InvalidChar { at: 2 })
        );
        assert_eq!(
            RoomName::new("é"),
            Err(RoomNameError::InvalidChar { at: 0 })
        );
        assert_eq!(
            RoomName::new("a\0"),
            Err(RoomNameError::InvalidChar { at: 1 })
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn peer() -> impl Strategy<Value = PeerId> {
            ".{0,20}".prop_map(PeerId::new)
        }

        fn client_message() -> impl Strategy<Value = ClientMessage> {
            prop_oneof![
                ".{0,40}".prop_map(|room| ClientMessage::Join { room }),
                (peer(), ".{0,200}").prop_map(|(to, sdp)| ClientMessage::Offer { to, sdp }),
                (peer(), ".{0,200}").prop_map(|(to, sdp)| ClientMessage::Answer { to, sdp }),
                (peer(), ".{0,80}", proptest::option::of(".{0,4}")).prop_map(
                    |(to, candidate, sdp_mid)| ClientMessage::IceCandidate {
                        to,
                        candidate,
                        sdp_mid
                    }
                ),
                Just(ClientMessage::Leave),
            ]
        }

        fn server_message() -> impl Strategy<Value = ServerMessage> {
            prop_oneof![
                (peer(), proptest::collection::vec(peer(), 0..5))
                    .prop_map(|(you, ids)| ServerMessage::Peers { you, ids }),
                peer().prop_map(|id| ServerMessage::NewPeer { id }),
                peer().prop_map(|id| ServerMessage::RemovePeer { id }),
                (peer(), ".{0,200}").prop_map(|(from, sdp)| ServerMessage::Offer { from, sdp }),
                (peer(), ".{0,200}").prop_map(|(from, sdp)| ServerMessage::Answer { from, sdp }),
                (peer(), ".{0,80}", proptest::option::of(".{0,4}")).prop_map(
                    |(from, candidate, sdp_mid)| ServerMessage::IceCandidate {
                        from,
                        candidate,
                        sdp_mid
                    }
                ),
                ".{0,80}".prop_map(|m| ServerMessage::error(ErrorCode::RoomFull, m)),
            ]
        }

        proptest! {
            #[test]
            fn client_message_round_trips(msg in client_message()) {
                prop_assert_eq!(ClientMessage::from_json(msg.to_json().as_bytes()).unwrap(), msg);
            }

            #[test]
            fn server_message_round_trips(msg in server_message()) {
                prop_assert_eq!(ServerMessage::from_json(msg.to_json().as_bytes()).unwrap(), msg);
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
                let _ = ClientMessage::from_json(&bytes);
                let _ = ServerMessage::from_json(&bytes);
            }

            #[test]
            fn valid_room_names_are_accepted(name in "[A-Za-z0-9._-]{1,64}") {
                let room = RoomName::new(&name).unwrap();
                prop_assert_eq!(room.as_str(), name.as_str());
            }
        }
    }
}
