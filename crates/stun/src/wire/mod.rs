//! Stateless STUN codecs: header, attributes, decoding view and encoder.

pub mod address;
pub mod attributes;
pub mod encoder;
pub mod header;
pub mod message;

#[cfg(test)]
mod tests;
