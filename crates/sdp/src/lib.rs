//! SDP for WebRTC: a typed model of RFC 8866 session descriptions, a fast lenient or strict
//! parser, a lossless serializer and builders for offers and answers. Pure Rust, no I/O.
//!
//! # What is implemented
//!
//! - **RFC 8866** (SDP): every line type (`v o s i u e p c b t r z k a m`), the §5 line order
//!   (enforced in strict mode, warned about in lenient mode), CRLF or bare-LF input, CRLF
//!   output. `a=` lines are stored verbatim, so unknown attributes and the exact spelling of
//!   known ones survive a round trip; typed accessors parse them on demand. Not implemented:
//!   the §5.2 "o=" uniqueness semantics and any SAP/RTSP-specific meaning of `u= e= p=`
//!   (kept as text), `k=` (obsolete, kept verbatim).
//! - **Typed attributes**: `candidate`, `ice-ufrag`, `ice-pwd`, `ice-options`, `ice-lite`,
//!   `end-of-candidates` (RFC 8839, RFC 8840, RFC 6544 tcptype, libwebrtc extensions);
//!   `fingerprint` (RFC 8122), `setup`/`connection` (RFC 4145), `tls-id` (RFC 8842);
//!   `group`/`mid` (RFC 5888, BUNDLE RFC 8843), `msid` (RFC 8830), `msid-semantic`;
//!   `rtpmap`, `fmtp`, direction, `ptime`, `maxptime`, `framerate` (RFC 8866 §6),
//!   `rtcp-fb` (RFC 4585), `extmap` + `extmap-allow-mixed` (RFC 8285), `rtcp` (RFC 3605),
//!   `rtcp-mux` (RFC 5761), `rtcp-mux-only` (RFC 8858), `rtcp-rsize` (RFC 5506), `ssrc` and
//!   `ssrc-group` (RFC 5576), `rid` (RFC 8851), `simulcast` (RFC 8853); `sctp-port`,
//!   `max-message-size` (RFC 8841) and the legacy `sctpmap`; `crypto` (RFC 4568, legacy
//!   SDES, flagged as such: WebRTC forbids it).
//! - **JSEP** (RFC 8829, now RFC 9429) is not implemented here (no offer/answer state machine); the
//!   builders write sections the way JSEP implementations do, for `tern-peerconnection`.
//!
//! # Using it
//!
//! 1. Parse a remote description with [`SessionDescription::parse`] (lenient) or
//!    [`SessionDescription::parse_with`] to get the [`Warning`]s too; bytes from the network
//!    go through [`SessionDescription::parse_bytes`], which checks the size bound and UTF-8.
//!    Bounds ([`ParseOptions`]) reject huge inputs before they cost memory.
//! 2. Read it through typed accessors: [`SessionDescription::bundle_groups`],
//!    [`MediaDescription::mid`], [`MediaDescription::candidates`],
//!    [`SessionDescription::fingerprints_for`], …
//! 3. Parse trickled candidates with [`Candidate::parse`].
//! 4. Before acting on a remote description, [`SessionDescription::check_webrtc`] checks what
//!    WebRTC needs beyond the grammar (ICE credentials, fingerprint, setup role, unique mids,
//!    BUNDLE mids), naming the section at fault.
//! 5. Build local descriptions with [`SessionBuilder`] and [`MediaBuilder`] and send
//!    `to_string()`.
//!
//! [`SessionDescription::parse`] skips the typed-attribute checks in lenient mode, since their
//! only effect there would be the warnings it drops; `parse_with` runs them.
//!
//! ```
//! use tern_sdp::{SessionDescription, Setup};
//! let text = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
//!     m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
//!     a=candidate:1 1 udp 2122260223 192.0.2.1 54413 typ host generation 0\r\n\
//!     a=ice-ufrag:n+Ie\r\na=ice-pwd:QcN80Nx4SN9XeypFhikzz4Zm\r\n\
//!     a=fingerprint:sha-256 50:86:C0:DE:77:D1:D9:17:66:15:43:A2:91:E8:ED:25:F7:E4:85:CF:15:E0:05:8C:63:43:5B:51:8E:7C:F6:B9\r\n\
//!     a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n";
//! let sdp = SessionDescription::parse(text)?;
//! let m = &sdp.media[0];
//! assert_eq!(m.mid(), Some("0"));
//! assert_eq!(m.setup(), Some(Setup::ActPass));
//! assert_eq!(m.sctp_port(), Some(5000));
//! assert_eq!(m.candidates().next().map(|c| c.port), Some(54413));
//! assert_eq!(sdp.to_string(), text);
//! # Ok::<(), tern_sdp::ParseError>(())
//! ```

#![forbid(unsafe_code)]

mod accessors;
mod attr;
mod attribute;
mod builder;
mod config;
mod error;
mod lines;
mod media;
mod parse;
mod session;
mod webrtc;

pub use attr::dtls::{ConnectionMode, Fingerprint, Setup};
pub use attr::group::{Group, Msid, MsidSemantic};
pub use attr::ice::{Candidate, CandidateAddress, CandidateType, IceOptions};
pub use attr::legacy::{Crypto, SctpMap};
pub use attr::rtp::{
    Direction, Extmap, Fmtp, FmtpParameter, Rtcp, RtcpFb, RtpMap, Ssrc, SsrcGroup,
};
pub use attr::simulcast::{Rid, RidDirection, Simulcast, SimulcastId};
pub use attribute::{Attribute, AttributeValue};
pub use builder::{MediaBuilder, SessionBuilder};
pub use config::{ParseMode, ParseOptions};
pub use error::{
    AttributeError, BuildError, LineFault, MAX_ERROR_TEXT, ParseError, Warning, WarningKind,
};
pub use lines::{
    Bandwidth, Connection, Origin, Repeat, TimeUnit, TimeZoneAdjustment, Timing, TypedTime,
};
pub use media::{MediaDescription, MediaKind};
pub use session::SessionDescription;
pub use webrtc::{DescriptionKind, WebRtcError};
