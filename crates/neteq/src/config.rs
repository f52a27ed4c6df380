//! NetEq configuration.

/// Output sample rate of a [`crate::NetEq`]; every `get_audio` call returns 10 ms at this rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SampleRate {
    /// 8 kHz (narrowband).
    Hz8000,
    /// 16 kHz (wideband).
    Hz16000,
    /// 32 kHz (super-wideband).
    Hz32000,
    /// 48 kHz (fullband; Opus' native rate).
    Hz48000,
}

impl SampleRate {
    /// The rate in hertz.
    pub const fn hz(self) -> u32 {
        match self {
            SampleRate::Hz8000 => 8_000,
            SampleRate::Hz16000 => 16_000,
            SampleRate::Hz32000 => 32_000,
            SampleRate::Hz48000 => 48_000,
        }
    }

    /// Samples in one millisecond.
    pub const fn samples_per_ms(self) -> usize {
        (self.hz() / 1000) as usize
    }

    /// Samples in one 10 ms output frame.
    pub const fn samples_per_frame(self) -> usize {
        self.samples_per_ms() * 10
    }

    /// The rate for a value in hertz, if it is one NetEq supports.
    pub const fn from_hz(hz: u32) -> Option<SampleRate> {
        match hz {
            8_000 => Some(SampleRate::Hz8000),
            16_000 => Some(SampleRate::Hz16000),
            32_000 => Some(SampleRate::Hz32000),
            48_000 => Some(SampleRate::Hz48000),
            _ => None,
        }
    }
}

/// Configuration of a [`crate::NetEq`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NetEqConfig {
    /// Output sample rate.
    pub sample_rate: SampleRate,
    /// Most packets the buffer holds; inserting one more flushes the buffer (as libwebrtc does).
    pub max_packets: usize,
    /// Largest payload accepted, in bytes.
    pub max_payload_bytes: usize,
    /// Lower bound of the target delay, in milliseconds.
    pub min_delay_ms: u32,
    /// Upper bound of the target delay, in milliseconds.
    pub max_delay_ms: u32,
    /// A timestamp more than this far (in milliseconds, either way) from the playout point is a
    /// new stream: the buffer is flushed and playout restarts at that packet.
    pub max_timestamp_jump_ms: u32,
    /// Allow accelerate / preemptive expand. Without it NetEq only conceals and merges.
    pub enable_time_stretch: bool,
    /// Use a decoder's own packet-loss concealment (Opus `decode(None)`) when it has one.
    pub enable_codec_plc: bool,
    /// Seed of the noise generator (comfort noise, concealment); fixed for reproducible output.
    pub seed: u64,
}

impl NetEqConfig {
    /// Defaults for the given output rate.
    pub fn new(sample_rate: SampleRate) -> NetEqConfig {
        NetEqConfig {
            sample_rate,
            max_packets: 200,
            max_payload_bytes: 8 * 1024,
            min_delay_ms: 0,
            max_delay_ms: 2_000,
            max_timestamp_jump_ms: 10_000,
            enable_time_stretch: true,
            enable_codec_plc: true,
            seed: 0x7e57_5eed,
        }
    }
}

impl Default for NetEqConfig {
    fn default() -> NetEqConfig {
        NetEqConfig::new(SampleRate::Hz48000)
    }
}
