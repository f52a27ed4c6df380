//! VP8 for WebRTC (in progress).

pub mod error;
pub mod packetizer;
pub mod wire;

pub use error::Error;
pub use packetizer::{FrameToSend, PacketizerConfig, PictureIdMode, Vp8Packetizer};
pub use wire::{PictureId, TemporalInfo, Vp8Descriptor, Vp8Packet, Vp8PayloadHeader};
