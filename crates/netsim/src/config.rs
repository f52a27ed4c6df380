//! Configuration values: link impairments and NAT behaviour.

use std::net::IpAddr;
use std::time::Duration;

/// Largest UDP payload an IPv4 datagram can carry (65535 − 20 − 8 bytes); the default MTU.
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// How a link loses packets.
///
/// Probabilities outside `0.0..=1.0` are clamped in effect (a value ≤ 0 never fires, ≥ 1 always
/// does); `NaN` never fires.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum Loss {
    /// No random loss.
    #[default]
    None,
    /// Each packet is lost independently with this probability.
    Uniform(f64),
    /// Two-state Gilbert-Elliott bursty loss. The chain is in the good or the bad state; each
    /// packet is lost with the probability of the current state, then the chain steps once.
    /// The bad state lasts `1 / p_bad_to_good` packets on average.
    GilbertElliott {
        /// Probability, per packet, of moving from the good to the bad state.
        p_good_to_bad: f64,
        /// Probability, per packet, of moving from the bad to the good state.
        p_bad_to_good: f64,
        /// Loss probability while in the good state (often 0).
        loss_in_good: f64,
        /// Loss probability while in the bad state (often 1).
        loss_in_bad: f64,
    },
}

impl Loss {
    /// Gilbert-Elliott loss that drops every packet in the bad state and none in the good state,
    /// with the given long-run loss rate and mean burst length (in packets, at least 1).
    ///
    /// `Loss::bursty(0.05, 3.0)` loses 5 % of packets in bursts of 3 on average.
    #[must_use]
    pub fn bursty(loss_rate: f64, mean_burst_len: f64) -> Self {
        let loss_rate = if loss_rate.is_nan() {
            0.0
        } else {
            loss_rate.clamp(0.0, 1.0)
        };
        let burst = if mean_burst_len.is_nan() {
            1.0
        } else {
            mean_burst_len.max(1.0)
        };
        let p_bad_to_good = 1.0 / burst;
        // Stationary probability of the bad state is p / (p + r); solve it for p.
        let p_good_to_bad = if loss_rate >= 1.0 {
            1.0
        } else {
            (loss_rate * p_bad_to_good / (1.0 - loss_rate)).min(1.0)
        };
        let p_bad_to_good = if loss_rate >= 1.0 { 0.0 } else { p_bad_to_good };
        Self::GilbertElliott {
            p_good_to_bad,
            p_bad_to_good,
            loss_in_good: 0.0,
            loss_in_bad: 1.0,
        }
    }

    /// The long-run fraction of packets this model loses.
    #[must_use]
    pub fn mean_loss_rate(&self) -> f64 {
        match *self {
            Self::None => 0.0,
            Self::Uniform(p) => clamp_probability(p),
            Self::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_in_good,
                loss_in_bad,
            } => {
                let p = clamp_probability(p_good_to_bad);
                let r = clamp_probability(p_bad_to_good);
                let bad = if p + r > 0.0 { p / (p + r) } else { 0.0 };
                bad * clamp_probability(loss_in_bad) + (1.0 - bad) * clamp_probability(loss_in_good)
            }
        }
    }
}

pub(crate) fn clamp_probability(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

/// A bandwidth cap: a token bucket feeding a byte-limited FIFO queue with tail drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth {
    /// Sustained rate in bits per second. Zero means nothing gets through (every packet is
    /// dropped as [`DropReason::QueueFull`](crate::DropReason::QueueFull)).
    pub bits_per_second: u64,
    /// Bucket depth in bytes: how much may leave back to back after an idle period. A packet
    /// larger than the bucket still passes once the bucket is full.
    pub burst_bytes: usize,
    /// Bytes that may wait for tokens; a packet that would overflow the queue is tail-dropped.
    pub queue_bytes: usize,
}

impl Bandwidth {
    /// A cap at `bits_per_second` with a 1500-byte burst and a 64 KiB queue.
    #[must_use]
    pub const fn new(bits_per_second: u64) -> Self {
        Self {
            bits_per_second,
            burst_bytes: 1500,
            queue_bytes: 64 * 1024,
        }
    }

    /// A cap in kilobits (1000 bits) per second, with the defaults of [`Bandwidth::new`].
    #[must_use]
    pub const fn kbps(kbps: u64) -> Self {
        Self::new(kbps.saturating_mul(1000))
    }

    /// A cap in megabits (10⁶ bits) per second, with the defaults of [`Bandwidth::new`].
    #[must_use]
    pub const fn mbps(mbps: u64) -> Self {
        Self::new(mbps.saturating_mul(1_000_000))
    }
}

/// Impairments of one direction of a link. `LinkConfig::default()` is a perfect link: no loss,
/// no delay, unlimited bandwidth, MTU [`MAX_UDP_PAYLOAD`].
///
/// A packet crossing the link goes through, in order: the MTU check, the bandwidth queue, random
/// loss, then it is delayed by `delay` plus a uniform draw in `0..=jitter` (plus `reorder_delay`
/// for the packets picked for reordering), and may be duplicated (the copy draws its own delay).
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// Random loss.
    pub loss: Loss,
    /// Fixed one-way delay: the least time any packet takes.
    pub delay: Duration,
    /// Extra delay drawn uniformly in `0..=jitter` per packet. Non-zero jitter reorders packets
    /// sent closer together than the jitter.
    pub jitter: Duration,
    /// Probability that a packet is held back by `reorder_delay`, so later packets overtake it.
    pub reorder: f64,
    /// How long a packet picked for reordering is held back (default 20 ms).
    pub reorder_delay: Duration,
    /// Probability that a delivered packet is delivered twice.
    pub duplicate: f64,
    /// Bandwidth cap, or `None` for unlimited.
    pub bandwidth: Option<Bandwidth>,
    /// Largest UDP payload (bytes, IP and UDP headers not counted) the link carries; larger
    /// datagrams are dropped as [`DropReason::Mtu`](crate::DropReason::Mtu).
    pub mtu: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            loss: Loss::None,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(20),
            duplicate: 0.0,
            bandwidth: None,
            mtu: MAX_UDP_PAYLOAD,
        }
    }
}

impl LinkConfig {
    /// A perfect link with a fixed one-way delay.
    #[must_use]
    pub fn with_delay(delay: Duration) -> Self {
        Self {
            delay,
            ..Self::default()
        }
    }
}

/// RFC 4787 §4.1 mapping behaviour: when the NAT reuses an external address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum MappingBehavior {
    /// One mapping per internal endpoint, reused for every destination.
    EndpointIndependent,
    /// One mapping per internal endpoint and destination IP address.
    AddressDependent,
    /// One mapping per internal endpoint and destination IP address and port.
    AddressAndPortDependent,
}

/// RFC 4787 §5 filtering behaviour: which inbound packets reach a mapped internal endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FilteringBehavior {
    /// Any external endpoint may send to the mapping.
    EndpointIndependent,
    /// Only external IP addresses the internal endpoint has sent to (through this mapping).
    AddressDependent,
    /// Only external IP address and port pairs the internal endpoint has sent to.
    AddressAndPortDependent,
}

/// RFC 4787 §4.2.1 port assignment: how a new mapping's external port is picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum PortAllocation {
    /// Use the internal port when it is free and in range, else fall back to `Random`.
    Preserve,
    /// The next free port after the last one allocated, wrapping within the range.
    Sequential,
    /// A uniformly random free port from the seeded RNG.
    Random,
}

/// Configuration of one NAT box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatConfig {
    /// The NAT's address on its external side.
    pub public_ip: IpAddr,
    /// Mapping behaviour (RFC 4787 §4.1).
    pub mapping: MappingBehavior,
    /// Filtering behaviour (RFC 4787 §5).
    pub filtering: FilteringBehavior,
    /// Idle time after which a mapping (and each filter permission) expires. Outbound packets
    /// refresh it (RFC 4787 §4.3 REQ-6); inbound ones too if `inbound_refresh`. Default 300 s,
    /// the §4.3 recommendation; REQ-5's two-minute floor is not enforced so tests can shorten it.
    pub mapping_timeout: Duration,
    /// Whether admitted inbound packets refresh the mapping timer (default false).
    pub inbound_refresh: bool,
    /// External port assignment.
    pub port_allocation: PortAllocation,
    /// Lowest external port the NAT allocates (default 1024).
    pub port_min: u16,
    /// Highest external port the NAT allocates (default 65535).
    pub port_max: u16,
    /// Whether a packet from the inside to the NAT's own external address is looped back
    /// inside (RFC 4787 §6). Default true.
    pub hairpinning: bool,
}

impl NatConfig {
    /// A NAT with the given behaviours, port preservation, hairpinning on, a 300 s timeout.
    #[must_use]
    pub fn new(public_ip: IpAddr, mapping: MappingBehavior, filtering: FilteringBehavior) -> Self {
        Self {
            public_ip,
            mapping,
            filtering,
            mapping_timeout: Duration::from_secs(300),
            inbound_refresh: false,
            port_allocation: PortAllocation::Preserve,
            port_min: 1024,
            port_max: u16::MAX,
            hairpinning: true,
        }
    }

    /// "Full cone": endpoint-independent mapping and filtering.
    #[must_use]
    pub fn full_cone(public_ip: IpAddr) -> Self {
        Self::new(
            public_ip,
            MappingBehavior::EndpointIndependent,
            FilteringBehavior::EndpointIndependent,
        )
    }

    /// "Restricted cone": endpoint-independent mapping, address-dependent filtering.
    #[must_use]
    pub fn restricted_cone(public_ip: IpAddr) -> Self {
        Self::new(
            public_ip,
            MappingBehavior::EndpointIndependent,
            FilteringBehavior::AddressDependent,
        )
    }

    /// "Port-restricted cone": endpoint-independent mapping, address-and-port-dependent filtering.
    #[must_use]
    pub fn port_restricted_cone(public_ip: IpAddr) -> Self {
        Self::new(
            public_ip,
            MappingBehavior::EndpointIndependent,
            FilteringBehavior::AddressAndPortDependent,
        )
    }

    /// "Symmetric": address-and-port-dependent mapping and filtering, random port allocation.
    #[must_use]
    pub fn symmetric(public_ip: IpAddr) -> Self {
        Self {
            port_allocation: PortAllocation::Random,
            ..Self::new(
                public_ip,
                MappingBehavior::AddressAndPortDependent,
                FilteringBehavior::AddressAndPortDependent,
            )
        }
    }
}
