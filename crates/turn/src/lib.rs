//! # tern-turn: TURN for Tern (sans-IO)
//!
//! In progress.

pub mod client;
pub mod config;
pub mod error;
pub mod policy;
#[cfg(feature = "server")]
pub mod runner;
pub mod server;
pub mod transport;
pub mod wire;

pub use client::{Client, Event, Transmit};
pub use config::{BandwidthLimit, ClientConfig, ServerConfig};
pub use error::{ChannelDataError, ClientError, FramingError, ServerError};
pub use policy::{DenyReason, IpNet, PeerPolicy, canonical_ip};
#[cfg(feature = "server")]
pub use runner::ServerRunner;
pub use server::{
    FiveTuple, Server, ServerEvent, ServerStats, Transmit as ServerTransmit, rest_password,
};
pub use transport::Transport;
pub use wire::channel_data::ChannelData;
pub use wire::framing::StreamFramer;
