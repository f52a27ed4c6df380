//! getUserMedia-style constraints (W3C Media Capture and Streams §4.3.8, "SelectSettings")
//! resolved against what a device can do.

use crate::error::Error;
use crate::frame::{AudioFormat, PixelFormat, SampleFormat, VideoFormat};

/// A constraint on one numeric property: `exact`, `min`, `max` must hold; `ideal` steers the
/// choice among the capabilities that satisfy them (the fitness distance).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Constrain {
    /// Must be equal.
    pub exact: Option<f64>,
    /// Must be at least.
    pub min: Option<f64>,
    /// Must be at most.
    pub max: Option<f64>,
    /// Preferred value.
    pub ideal: Option<f64>,
}

impl Constrain {
    /// Only a preferred value.
    #[must_use]
    pub fn ideal(v: f64) -> Self {
        Self {
            ideal: Some(v),
            ..Self::default()
        }
    }

    /// An exact value.
    #[must_use]
    pub fn exact(v: f64) -> Self {
        Self {
            exact: Some(v),
            ..Self::default()
        }
    }

    /// A range.
    #[must_use]
    pub fn range(min: f64, max: f64) -> Self {
        Self {
            min: Some(min),
            max: Some(max),
            ..Self::default()
        }
    }

    fn satisfied(&self, v: f64) -> bool {
        const EPS: f64 = 1e-6;
        self.exact
            .is_none_or(|e| (e - v).abs() <= EPS * e.abs().max(1.0))
            && self.min.is_none_or(|m| v >= m - EPS)
            && self.max.is_none_or(|m| v <= m + EPS)
    }

    /// W3C fitness distance: |ideal − actual| / max(|ideal|, |actual|), 0 without an ideal.
    fn distance(&self, v: f64) -> f64 {
        match self.ideal {
            Some(i) if i != v => (i - v).abs() / i.abs().max(v.abs()),
            _ => 0.0,
        }
    }
}

/// Video constraints.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VideoConstraints {
    /// Width in pixels.
    pub width: Constrain,
    /// Height in pixels.
    pub height: Constrain,
    /// Frames per second.
    pub frame_rate: Constrain,
    /// Width / height.
    pub aspect_ratio: Constrain,
    /// Required pixel format, if any.
    pub pixel_format: Option<PixelFormat>,
}

/// Audio constraints.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AudioConstraints {
    /// Sample rate in Hz.
    pub sample_rate: Constrain,
    /// Channels.
    pub channel_count: Constrain,
    /// Required sample format, if any.
    pub sample_format: Option<SampleFormat>,
}

/// Picks the capability that satisfies every constraint with the least fitness distance.
///
/// # Errors
/// [`Error::Overconstrained`] naming the first constraint (in the order width, height,
/// frame rate, aspect ratio, pixel format) that no capability meets on its own, or
/// "combination" when each can be met but not together; [`Error::NoDevice`] if `caps` is
/// empty.
pub fn select_video(c: &VideoConstraints, caps: &[VideoFormat]) -> Result<VideoFormat, Error> {
    if caps.is_empty() {
        return Err(Error::NoDevice {
            kind: "video",
            name: None,
        });
    }
    type Check<'a> = (&'static str, Box<dyn Fn(&VideoFormat) -> bool + 'a>);
    let checks: [Check<'_>; 5] = [
        ("width", Box::new(|f| c.width.satisfied(f64::from(f.width)))),
        (
            "height",
            Box::new(|f| c.height.satisfied(f64::from(f.height))),
        ),
        (
            "frameRate",
            Box::new(|f| c.frame_rate.satisfied(f.frame_rate)),
        ),
        (
            "aspectRatio",
            Box::new(|f| c.aspect_ratio.satisfied(aspect(f))),
        ),
        (
            "pixelFormat",
            Box::new(|f| c.pixel_format.is_none_or(|p| p == f.pixel_format)),
        ),
    ];
    let distance = |f: &VideoFormat| {
        c.width.distance(f64::from(f.width))
            + c.height.distance(f64::from(f.height))
            + c.frame_rate.distance(f.frame_rate)
            + c.aspect_ratio.distance(aspect(f))
    };
    let best = caps
        .iter()
        .filter(|f| checks.iter().all(|(_, ok)| ok(f)))
        .min_by(|a, b| distance(a).total_cmp(&distance(b)));
    if let Some(best) = best {
        return Ok(*best);
    }
    let constraint = checks
        .iter()
        .find(|(_, ok)| !caps.iter().any(ok))
        .map_or("combination", |(name, _)| name);
    Err(Error::Overconstrained { constraint })
}

fn aspect(f: &VideoFormat) -> f64 {
    f64::from(f.width) / f64::from(f.height.max(1))
}

/// Picks the audio format that satisfies the constraints with the least fitness distance.
///
/// # Errors
/// As [`select_video`], naming "sampleRate", "channelCount" or "sampleFormat".
pub fn select_audio(c: &AudioConstraints, caps: &[AudioFormat]) -> Result<AudioFormat, Error> {
    if caps.is_empty() {
        return Err(Error::NoDevice {
            kind: "audio input",
            name: None,
        });
    }
    let rate_ok = |f: &AudioFormat| c.sample_rate.satisfied(f64::from(f.sample_rate));
    let ch_ok = |f: &AudioFormat| c.channel_count.satisfied(f64::from(f.channels));
    let sf_ok = |f: &AudioFormat| c.sample_format.is_none_or(|s| s == f.sample_format);
    let distance = |f: &AudioFormat| {
        c.sample_rate.distance(f64::from(f.sample_rate))
            + c.channel_count.distance(f64::from(f.channels))
    };
    if let Some(best) = caps
        .iter()
        .filter(|f| rate_ok(f) && ch_ok(f) && sf_ok(f))
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))
    {
        return Ok(*best);
    }
    let constraint = if !caps.iter().any(rate_ok) {
        "sampleRate"
    } else if !caps.iter().any(ch_ok) {
        "channelCount"
    } else if !caps.iter().any(sf_ok) {
        "sampleFormat"
    } else {
        "combination"
    };
    Err(Error::Overconstrained { constraint })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(w: u32, h: u32, fps: f64) -> VideoFormat {
        VideoFormat {
            pixel_format: PixelFormat::Yuyv,
            width: w,
            height: h,
            frame_rate: fps,
        }
    }

    #[test]
    fn test_ideal_picks_nearest() {
        let caps = [v(640, 480, 30.0), v(1280, 720, 30.0), v(1920, 1080, 15.0)];
        let c = VideoConstraints {
            width: Constrain::ideal(1280.0),
            height: Constrain::ideal(720.0),
            ..Default::default()
        };
        assert_eq!(select_video(&c, &caps).unwrap(), caps[1]);
        let c = VideoConstraints {
            width: Constrain::range(1000.0, 2000.0),
            frame_rate: Constrain::ideal(15.0),
            ..Default::default()
        };
        assert_eq!(select_video(&c, &caps).unwrap(), caps[2]);
    }

    #[test]
    fn test_overconstrained_names_the_constraint() {
        let caps = [v(640, 480, 30.0), v(1280, 720, 30.0)];
        let c = VideoConstraints {
            frame_rate: Constrain {
                min: Some(60.0),
                ..Default::default()
            },
            ..Default::default()
        };
        let e = select_video(&c, &caps).unwrap_err();
        assert!(matches!(
            e,
            Error::Overconstrained {
                constraint: "frameRate"
            }
        ));
        assert!(e.to_string().contains("frameRate"));
        let c = VideoConstraints {
            width: Constrain::exact(640.0),
            aspect_ratio: Constrain::exact(16.0 / 9.0),
            ..Default::default()
        };
        assert!(matches!(
            select_video(&c, &caps),
            Err(Error::Overconstrained {
                constraint: "combination"
            })
        ));
        assert!(matches!(select_video(&c, &[]), Err(Error::NoDevice { .. })));
    }

    #[test]
    fn test_audio() {
        let caps = [
            AudioFormat {
                sample_rate: 44_100,
                channels: 2,
                sample_format: SampleFormat::I16,
            },
            AudioFormat {
                sample_rate: 48_000,
                channels: 1,
                sample_format: SampleFormat::F32,
            },
        ];
        let c = AudioConstraints {
            sample_rate: Constrain::ideal(48_000.0),
            ..Default::default()
        };
        assert_eq!(select_audio(&c, &caps).unwrap(), caps[1]);
        let c = AudioConstraints {
            channel_count: Constrain::exact(6.0),
            ..Default::default()
        };
        assert!(matches!(
            select_audio(&c, &caps),
            Err(Error::Overconstrained {
                constraint: "channelCount"
            })
        ));
    }
}
