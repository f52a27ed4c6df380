//! Stateless TURN codecs: attributes, methods and error codes, ChannelData and stream framing.

pub mod attributes;
pub mod channel_data;
pub mod framing;
pub mod methods;
