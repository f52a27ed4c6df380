//! Sans-IO RTP/RTCP for WebRTC (work in progress: codecs first).
pub mod error;
pub mod wire;
pub use error::Error;
