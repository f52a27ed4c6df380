//! The decision logic: one operation per step, from the buffer level and the next packet.

/// What NetEq did to produce audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Operation {
    /// Decoded the due packet and played it as it is.
    #[default]
    Normal,
    /// No packet was due: concealed (codec PLC or pitch-repeating expansion fading to noise).
    Expand,
    /// Decoded the first packet after a concealment and cross-faded it with the concealment.
    Merge,
    /// Buffer above target: decoded and removed one pitch period.
    Accelerate,
    /// Buffer far above target: decoded and removed several pitch periods.
    FastAccelerate,
    /// Buffer below target: decoded and inserted one pitch period.
    PreemptiveExpand,
    /// Sender is in DTX / comfort noise: generated noise at the signalled level.
    ComfortNoise,
}

/// The next packet, as the decision logic sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NextPacket {
    /// Packet timestamp minus the playout timestamp, in samples (negative: overdue).
    pub offset: i64,
    /// A comfort-noise / DTX packet.
    pub comfort_noise: bool,
}

/// Everything the decision depends on. All levels in output samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecisionInput {
    pub next: Option<NextPacket>,
    /// Filtered buffer level (packets + decoded audio not yet played).
    pub level: usize,
    /// Unfiltered buffered packet samples (for leaving DTX).
    pub packet_level: usize,
    pub target: usize,
    pub prev: Operation,
    /// Samples concealed since the last decoded packet.
    pub expanded: usize,
    /// The last thing played was comfort noise.
    pub in_comfort_noise: bool,
    /// Samples played since the last time-stretch.
    pub since_stretch: usize,
    /// Samples per 10 ms.
    pub frame: usize,
    pub time_stretch: bool,
}

/// Lower and upper buffer-level thresholds around the target (libwebrtc's rule: 3/4 of target,
/// and at least 20 ms above the lower one).
pub(crate) fn thresholds(target: usize, frame: usize) -> (usize, usize) {
    let low = target * 3 / 4;
    let high = target.max(low + 2 * frame);
    (low, high)
}

/// Chooses the next operation.
pub(crate) fn decide(i: &DecisionInput) -> Operation {
    let Some(next) = i.next else {
        return if i.in_comfort_noise {
            Operation::ComfortNoise
        } else {
            Operation::Expand
        };
    };
    if next.comfort_noise {
        // A CN packet that is due switches to comfort noise; one in the future waits.
        return if next.offset <= 0 || i.in_comfort_noise {
            Operation::ComfortNoise
        } else {
            Operation::Expand
        };
    }
    if next.offset > 0 {
        // The due packet is missing but a later one is here.
        if i.in_comfort_noise {
            // Leaving DTX: start speech once it is due or enough is buffered to reach the target.
            return if i.packet_level >= i.target {
                Operation::Normal
            } else {
                Operation::ComfortNoise
            };
        }
        // Lost or late? Keep concealing while the buffer fills up to the target (a late packet
        // arrives before then, and the wait builds the delay the network needs); once the target
        // is buffered, treat the packet as lost and jump to the next one. A cap on the wait
        // guarantees progress whatever the target.
        let filled = i.packet_level >= i.target;
        let waited_too_long = i.expanded as i64 >= next.offset.saturating_add(i.target as i64);
        return if (i.prev == Operation::Expand || i.expanded > 0) && (filled || waited_too_long) {
            Operation::Merge
        } else {
            Operation::Expand
        };
    }
    // The due packet (or an overdue one) is here.
    if i.expanded > 0 && !i.in_comfort_noise {
        return Operation::Merge;
    }
    if i.time_stretch && !i.in_comfort_noise && i.since_stretch >= 5 * i.frame {
        let (low, high) = thresholds(i.target, i.frame);
        if i.level >= 4 * high {
            return Operation::FastAccelerate;
        }
        if i.level >= high {
            return Operation::Accelerate;
        }
        if i.level < low {
            return Operation::PreemptiveExpand;
        }
    }
    Operation::Normal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> DecisionInput {
        DecisionInput {
            next: Some(NextPacket {
                offset: 0,
                comfort_noise: false,
            }),
            level: 960,
            packet_level: 640,
            target: 960,
            prev: Operation::Normal,
            expanded: 0,
            in_comfort_noise: false,
            since_stretch: 10_000,
            frame: 160,
            time_stretch: true,
        }
    }

    #[test]
    fn level_at_target_is_normal() {
        assert_eq!(decide(&base()), Operation::Normal);
    }

    #[test]
    fn empty_buffer_expands() {
        assert_eq!(
            decide(&DecisionInput {
                next: None,
                ..base()
            }),
            Operation::Expand
        );
    }

    #[test]
    fn high_level_accelerates_and_very_high_fast_accelerates() {
        assert_eq!(
            decide(&DecisionInput {
                level: 1300,
                ..base()
            }),
            Operation::Accelerate
        );
        assert_eq!(
            decide(&DecisionInput {
                level: 4 * 1300,
                ..base()
            }),
            Operation::FastAccelerate
        );
    }

    #[test]
    fn low_level_preemptively_expands() {
        assert_eq!(
            decide(&DecisionInput {
                level: 700,
                ..base()
            }),
            Operation::PreemptiveExpand
        );
        assert_eq!(
            decide(&DecisionInput {
                level: 720,
                ..base()
            }),
            Operation::Normal
        );
    }

    #[test]
    fn no_time_stretch_too_soon_or_when_disabled() {
        assert_eq!(
            decide(&DecisionInput {
                level: 2000,
                since_stretch: 320,
                ..base()
            }),
            Operation::Normal
        );
        assert_eq!(
            decide(&DecisionInput {
                level: 2000,
                time_stretch: false,
                ..base()
            }),
            Operation::Normal
        );
    }

    #[test]
    fn due_packet_after_expand_merges() {
        let i = DecisionInput {
            prev: Operation::Expand,
            expanded: 160,
            ..base()
        };
        assert_eq!(decide(&i), Operation::Merge);
    }

    #[test]
    fn future_packet_waits_for_the_gap_then_merges() {
        let gap = Some(NextPacket {
            offset: 320,
            comfort_noise: false,
        });
        let fresh = DecisionInput {
            next: gap,
            packet_level: 320,
            ..base()
        };
        assert_eq!(decide(&fresh), Operation::Expand);
        let waited = DecisionInput {
            prev: Operation::Expand,
            expanded: 320,
            ..fresh
        };
        assert_eq!(
            decide(&waited),
            Operation::Expand,
            "gap waited, target not buffered"
        );
        let filled = DecisionInput {
            packet_level: 960,
            ..waited
        };
        assert_eq!(decide(&filled), Operation::Merge);
        let too_long = DecisionInput {
            expanded: 320 + 960,
            ..waited
        };
        assert_eq!(decide(&too_long), Operation::Merge);
    }

    #[test]
    fn dtx_plays_comfort_noise_until_speech_is_buffered() {
        let cn = DecisionInput {
            in_comfort_noise: true,
            prev: Operation::ComfortNoise,
            ..base()
        };
        assert_eq!(
            decide(&DecisionInput { next: None, ..cn }),
            Operation::ComfortNoise
        );
        let future = Some(NextPacket {
            offset: 4800,
            comfort_noise: false,
        });
        assert_eq!(
            decide(&DecisionInput {
                next: future,
                packet_level: 320,
                ..cn
            }),
            Operation::ComfortNoise
        );
        assert_eq!(
            decide(&DecisionInput {
                next: future,
                packet_level: 960,
                ..cn
            }),
            Operation::Normal
        );
        assert_eq!(
            decide(&cn),
            Operation::Normal,
            "a due speech packet ends DTX without merge"
        );
        let cn_packet = Some(NextPacket {
            offset: 0,
            comfort_noise: true,
        });
        assert_eq!(
            decide(&DecisionInput {
                next: cn_packet,
                ..base()
            }),
            Operation::ComfortNoise
        );
    }
}
