//! Statistics with the W3C `RTCInboundRtpStreamStats` meanings (webrtc-stats §8.6).

/// How often each operation ran (one per `get_audio` call: the operation that produced it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationCounts {
    /// [`crate::Operation::Normal`].
    pub normal: u64,
    /// [`crate::Operation::Expand`].
    pub expand: u64,
    /// [`crate::Operation::Merge`].
    pub merge: u64,
    /// [`crate::Operation::Accelerate`].
    pub accelerate: u64,
    /// [`crate::Operation::FastAccelerate`].
    pub fast_accelerate: u64,
    /// [`crate::Operation::PreemptiveExpand`].
    pub preemptive_expand: u64,
    /// [`crate::Operation::ComfortNoise`].
    pub comfort_noise: u64,
}

/// Cumulative receive statistics.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct NetEqStats {
    /// `jitterBufferDelay`: sum over emitted samples of the time from the packet's arrival to the
    /// sample's playout, in seconds (time stretching after decoding is not reflected).
    pub jitter_buffer_delay: f64,
    /// `jitterBufferTargetDelay`: sum over emitted samples of the target delay then, in seconds.
    pub jitter_buffer_target_delay: f64,
    /// `jitterBufferEmittedCount`: decoded samples that came out of the jitter buffer.
    pub jitter_buffer_emitted_count: u64,
    /// `totalSamplesReceived`: every sample played after the first packet, concealed or not.
    pub total_samples_received: u64,
    /// `concealedSamples`: samples produced by concealment (expand, codec PLC).
    pub concealed_samples: u64,
    /// `silentConcealedSamples`: concealed samples that had faded to background noise.
    pub silent_concealed_samples: u64,
    /// `concealmentEvents`: runs of concealment (each starts after a non-concealed sample).
    pub concealment_events: u64,
    /// `insertedSamplesForDeceleration`: samples added by preemptive expand.
    pub inserted_samples_for_deceleration: u64,
    /// `removedSamplesForAcceleration`: samples removed by (fast) accelerate.
    pub removed_samples_for_acceleration: u64,
    /// `packetsDiscarded`: packets dropped because they came too late, or in a flush.
    pub packets_discarded: u64,
    /// Packets accepted into the buffer (duplicates excluded).
    pub packets_received: u64,
    /// Packets dropped as duplicates of one already buffered.
    pub duplicate_packets: u64,
    /// Packets the decoder rejected (concealed instead).
    pub decode_errors: u64,
    /// Lost packets recovered from the next packet's in-band FEC.
    pub fec_recovered_packets: u64,
    /// Times the buffer was flushed (overflow, codec switch, stream restart).
    pub buffer_flushes: u64,
    /// Operation counts.
    pub operations: OperationCounts,
}

impl NetEqStats {
    /// Mean playout delay of emitted samples in seconds (`jitterBufferDelay / jitterBufferEmittedCount`).
    pub fn mean_delay(&self) -> f64 {
        if self.jitter_buffer_emitted_count == 0 {
            0.0
        } else {
            self.jitter_buffer_delay / self.jitter_buffer_emitted_count as f64
        }
    }
}
