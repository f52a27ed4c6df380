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
    /// Unfiltered delay level now (the playout delay beyond the fastest transit, plus a packet).
    pub current: usize,
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

/// Longest concealment while a later packet is already buffered, in 10 ms frames.
const MAX_WAIT_FRAMES: usize = 10;

/// Lower and upper buffer-level thresholds around the target (libwebrtc's rule: the lower one
/// 3/4 of the target but no more than 85 ms below it, the upper one at least 20 ms above the
/// lower one).
pub(crate) fn thresholds(target: usize, frame: usize) -> (usize, usize) {
    let low = (target * 3 / 4).max(target.saturating_sub(85 * frame / 10));
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
        // Lost or late? Conceal at least once; then keep concealing only while the concealment
        // has not yet covered the gap up to that packet, the buffer is under its target (a late
        // packet may still come, and the wait builds the delay the network needs) and the wait
        // is short. Otherwise merge into the next packet. Concealing beyond the gap would stretch
        // a 20 ms loss into a long concealment; libwebrtc's decision logic stops there as well.
        if i.prev != Operation::Expand && i.expanded == 0 {
            return Operation::Expand;
        }
        let gap_covered = i.expanded as i64 >= next.offset;
        // Above the accelerate threshold, skipping the rest of the gap is the cheapest way down.
        let (low, high) = thresholds(i.target, i.frame);
        let under_target = i.level < high;
        let waited_too_long = i.expanded >= MAX_WAIT_FRAMES * i.frame;
        // Far below target (the network's delay grew, or packets keep arriving out of order):
        // conceal on past the gap so the delay builds now, while the listener hears concealment
        // anyway, rather than by stretching speech later — but only until the delay level
        // (which grows with every concealed sample while the media stands still) reaches the
        // lower threshold. Concealing on for a fixed time instead turned 20-40 ms losses into
        // 100 ms concealments inside speech whenever a stall had drained the buffer.
        let build_delay = i.current < low;
        return if ((!gap_covered && under_target) || build_delay) && !waited_too_long {
            Operation::Expand
        } else {
            Operation::Merge
        };
    }
    // The due packet (or an overdue one) is here.
    if i.expanded > 0 && !i.in_comfort_noise {
        return Operation::Merge;
    }
    if i.time_stretch && !i.in_comfort_noise && i.since_stretch >= 5 * i.frame {
        let (low, high) = thresholds(i.target, i.frame);
        // The filtered level says whether the buffer is persistently off target; the current
        // level vetoes a stretch the moment has already undone (a burst just drained, or a
        // late bunch just arrived), which would only be paid back with concealment.
        let above = i.level.min(i.current);
        let below = i.level.max(i.current);
        if above >= 4 * high {
            return Operation::FastAccelerate;
        }
        if above >= high {
            return Operation::Accelerate;
        }
        if below < low {
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
            current: 960,
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
                current: 1300,
                ..base()
            }),
            Operation::Accelerate
        );
        assert_eq!(
            decide(&DecisionInput {
                level: 4 * 1300,
                current: 4 * 1300,
                ..base()
            }),
            Operation::FastAccelerate
        );
        assert_eq!(
            decide(&DecisionInput {
                level: 1300,
                current: 900,
                ..base()
            }),
            Operation::Normal,
            "the buffer has already drained: no accelerate"
        );
    }

    #[test]
    fn low_level_preemptively_expands() {
        assert_eq!(
            decide(&DecisionInput {
                level: 700,
                current: 700,
                ..base()
            }),
            Operation::PreemptiveExpand
        );
        assert_eq!(
            decide(&DecisionInput {
                level: 720,
                current: 720,
                ..base()
            }),
            Operation::Normal
        );
        assert_eq!(
            decide(&DecisionInput {
                level: 700,
                current: 1000,
                ..base()
            }),
            Operation::Normal,
            "packets just arrived: no preemptive expand"
        );
    }

    #[test]
    fn no_time_stretch_too_soon_or_when_disabled() {
        assert_eq!(
            decide(&DecisionInput {
                level: 2000,
                current: 2000,
                since_stretch: 320,
                ..base()
            }),
            Operation::Normal
        );
        assert_eq!(
            decide(&DecisionInput {
                level: 2000,
                current: 2000,
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
            level: 700,
            packet_level: 800,
            ..base()
        };
        assert_eq!(decide(&fresh), Operation::Expand, "always conceal first");
        let half = DecisionInput {
            prev: Operation::Expand,
            expanded: 160,
            ..fresh
        };
        assert_eq!(
            decide(&half),
            Operation::Expand,
            "gap not covered, under target"
        );
        let covered = DecisionInput {
            expanded: 320,
            ..half
        };
        assert_eq!(
            decide(&covered),
            Operation::Merge,
            "never conceal past the gap"
        );
        let filled = DecisionInput {
            level: 1300,
            ..half
        };
        assert_eq!(
            decide(&filled),
            Operation::Merge,
            "above the accelerate threshold: skip the rest of the gap"
        );
        let long_gap = DecisionInput {
            next: Some(NextPacket {
                offset: 4000,
                comfort_noise: false,
            }),
            expanded: 10 * 160,
            ..half
        };
        assert_eq!(decide(&long_gap), Operation::Merge, "waited 100 ms");
        // Far below target (low = 720 here): conceal past the gap to build delay, but only while
        // the delay level is under the lower threshold.
        let starved = DecisionInput {
            current: 400,
            ..covered
        };
        assert_eq!(
            decide(&starved),
            Operation::Expand,
            "far below target: conceal on to build delay"
        );
        assert_eq!(
            decide(&DecisionInput {
                current: 719,
                ..starved
            }),
            Operation::Expand,
            "deficit not yet built"
        );
        assert_eq!(
            decide(&DecisionInput {
                current: 720,
                ..starved
            }),
            Operation::Merge,
            "deficit built: no concealment beyond it"
        );
        assert_eq!(
            decide(&DecisionInput {
                expanded: 10 * 160,
                ..starved
            }),
            Operation::Merge,
            "never longer than the longest wait"
        );
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
