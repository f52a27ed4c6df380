//! Sans-IO RTP/RTCP (work in progress).
pub mod bwe;
pub mod config;
pub mod error;
pub mod interval;
pub mod pacer;
pub mod receive;
pub mod send;
pub mod session;
pub mod time;
pub mod twcc;
pub mod wire;

#[cfg(test)]
mod test_util;

pub use config::{BweConfig, NackConfig, ReceiveStreamConfig, SendStreamConfig, SessionConfig};
pub use error::Error;
pub use session::{Event, KeyframeRequestKind, ReceivedRtp, RtpSession, Transmit, TransmitKind};
