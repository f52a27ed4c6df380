//! V4L2 camera capture (feature `v4l`): enumeration, format negotiation against
//! [`VideoConstraints`], memory-mapped streaming, unplug and format changes as events.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use v4l::buffer::Type;
use v4l::capability::Flags;
use v4l::frameinterval::FrameIntervalEnum;
use v4l::framesize::FrameSizeEnum;
use v4l::io::traits::CaptureStream;
use v4l::prelude::MmapStream;
use v4l::video::Capture;
use v4l::{Device, FourCC};

use crate::constraints::{VideoConstraints, select_video};
use crate::error::Error;
use crate::frame::{PixelFormat, VideoFormat, VideoFrame};
use crate::source::{DeviceEvent, VideoSource};

/// ENODEV: the device was unplugged.
const ENODEV: i32 = 19;
/// ENOTTY: the file does not understand V4L2 ioctls.
const ENOTTY: i32 = 25;

fn pixel_format(f: FourCC) -> Option<PixelFormat> {
    match &f.repr {
        b"YUYV" => Some(PixelFormat::Yuyv),
        b"NV12" => Some(PixelFormat::Nv12),
        b"YU12" => Some(PixelFormat::I420),
        b"MJPG" => Some(PixelFormat::Mjpeg),
        _ => None,
    }
}

fn fourcc(p: PixelFormat) -> FourCC {
    FourCC::new(match p {
        PixelFormat::Yuyv => b"YUYV",
        PixelFormat::Nv12 => b"NV12",
        PixelFormat::I420 => b"YU12",
        PixelFormat::Mjpeg => b"MJPG",
    })
}

fn open_device(path: &Path) -> Result<Device, Error> {
    let dev = Device::with_path(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NoDevice {
            kind: "video",
            name: Some(path.display().to_string()),
        },
        _ => Error::Io(e),
    })?;
    let not_capture = || Error::NotACaptureDevice {
        kind: "video",
        name: path.display().to_string(),
    };
    match query_caps(&dev) {
        Ok(caps) if caps.capabilities.contains(Flags::VIDEO_CAPTURE) => Ok(dev),
        Ok(_) => Err(not_capture()),
        // ENOTTY: not a V4L2 node at all (a tty, /dev/null, a file).
        Err(e) if e.raw_os_error() == Some(ENOTTY) => Err(not_capture()),
        Err(e) => Err(Error::Io(e)),
    }
}

/// `VIDIOC_QUERYCAP`, isolated: v4l 0.14 unwraps `from_utf8` on the driver's 32-byte card
/// and bus names, and a name cut inside a multibyte character would otherwise panic here.
fn query_caps(dev: &Device) -> std::io::Result<v4l::Capabilities> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dev.query_caps())).unwrap_or_else(
        |_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "driver reported a capability name that is not UTF-8",
            ))
        },
    )
}

/// What a frame of `data_len` bytes says about the stream: `None` if it fits `current`;
/// otherwise the format the driver now reports (`driver`, re-read after the mismatch) when
/// that differs from `current` — the driver switched formats under us (a resolution change
/// on a capture card, a UVC camera renegotiating).
fn format_after_mismatch(
    current: VideoFormat,
    data_len: usize,
    driver: Option<(PixelFormat, u32, u32)>,
) -> Option<VideoFormat> {
    let expected = current
        .pixel_format
        .frame_len(current.width, current.height)?;
    if expected == data_len {
        return None;
    }
    let (pixel_format, width, height) = driver?;
    let next = VideoFormat {
        pixel_format,
        width,
        height,
        frame_rate: current.frame_rate,
    };
    (next != current).then_some(next)
}

/// A camera found by [`list_video_devices`].
#[derive(Debug, Clone, PartialEq)]
pub struct VideoDeviceInfo {
    /// `/dev/videoN`.
    pub path: PathBuf,
    /// The driver's card name.
    pub name: String,
    /// Discrete formats it offers (supported pixel formats only).
    pub formats: Vec<VideoFormat>,
}

/// The discrete formats a device offers in pixel formats this crate handles.
///
/// # Errors
/// [`Error::NoDevice`] if `path` does not exist; [`Error::Io`].
pub fn capabilities(path: &Path) -> Result<Vec<VideoFormat>, Error> {
    let dev = open_device(path)?;
    let mut out = Vec::new();
    for desc in dev.enum_formats()? {
        let Some(pf) = pixel_format(desc.fourcc) else {
            continue;
        };
        for size in dev.enum_framesizes(desc.fourcc)? {
            let sizes = match size.size {
                FrameSizeEnum::Discrete(d) => vec![(d.width, d.height)],
                FrameSizeEnum::Stepwise(s) => vec![(s.max_width, s.max_height)],
            };
            for (w, h) in sizes {
                for iv in dev.enum_frameintervals(desc.fourcc, w, h)? {
                    let fps = match iv.interval {
                        FrameIntervalEnum::Discrete(f) if f.numerator > 0 => {
                            f64::from(f.denominator) / f64::from(f.numerator)
                        }
                        FrameIntervalEnum::Stepwise(s) if s.min.numerator > 0 => {
                            f64::from(s.min.denominator) / f64::from(s.min.numerator)
                        }
                        _ => continue,
                    };
                    out.push(VideoFormat {
                        pixel_format: pf,
                        width: w,
                        height: h,
                        frame_rate: fps,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Cameras at `/dev/video0` … `/dev/video63` that can capture.
#[must_use]
pub fn list_video_devices() -> Vec<VideoDeviceInfo> {
    (0..64)
        .map(|i| PathBuf::from(format!("/dev/video{i}")))
        .filter(|p| p.exists())
        .filter_map(|path| {
            let dev = open_device(&path).ok()?;
            let caps = query_caps(&dev).ok()?;
            let formats = capabilities(&path).ok()?;
            (!formats.is_empty()).then_some(VideoDeviceInfo {
                path,
                name: caps.card,
                formats,
            })
        })
        .collect()
}

/// A V4L2 camera streaming through memory-mapped buffers.
pub struct V4lCamera {
    // Field order matters: the stream unmaps its buffers before the device closes.
    stream: MmapStream<'static>,
    device: Device,
    name: String,
    format: VideoFormat,
    events: VecDeque<DeviceEvent>,
    gone: bool,
}

impl std::fmt::Debug for V4lCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V4lCamera")
            .field("name", &self.name)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl V4lCamera {
    /// Opens the camera at `path` in the format that best fits `constraints`.
    ///
    /// # Errors
    /// [`Error::NoDevice`] if there is no such device; [`Error::Overconstrained`] if no format
    /// fits; [`Error::Io`] from the driver.
    pub fn open(path: &Path, constraints: &VideoConstraints) -> Result<Self, Error> {
        let caps = capabilities(path)?;
        let chosen = select_video(constraints, &caps)?;
        let device = open_device(path)?;
        let mut fmt = device.format()?;
        fmt.width = chosen.width;
        fmt.height = chosen.height;
        fmt.fourcc = fourcc(chosen.pixel_format);
        let got = device.set_format(&fmt)?;
        let pixel_format = pixel_format(got.fourcc).ok_or(Error::Overconstrained {
            constraint: "pixelFormat",
        })?;
        let fps = chosen.frame_rate.round().max(1.0) as u32;
        let params = device.set_params(&v4l::video::capture::Parameters::with_fps(fps))?;
        let frame_rate = if params.interval.numerator > 0 {
            f64::from(params.interval.denominator) / f64::from(params.interval.numerator)
        } else {
            chosen.frame_rate
        };
        let stream = MmapStream::with_buffers(&device, Type::VideoCapture, 4)?;
        let name = query_caps(&device)
            .map(|c| c.card)
            .unwrap_or_else(|_| path.display().to_string());
        Ok(Self {
            stream,
            device,
            name,
            format: VideoFormat {
                pixel_format,
                width: got.width,
                height: got.height,
                frame_rate,
            },
            events: VecDeque::new(),
            gone: false,
        })
    }
}

impl VideoSource for V4lCamera {
    fn format(&self) -> VideoFormat {
        self.format
    }

    fn read_frame(&mut self) -> Result<Option<VideoFrame>, Error> {
        if self.gone {
            return Err(Error::DeviceGone {
                name: self.name.clone(),
            });
        }
        let (buf, meta) = match self.stream.next() {
            Ok(x) => x,
            Err(e) if e.raw_os_error() == Some(ENODEV) => {
                self.gone = true;
                self.events.push_back(DeviceEvent::Unplugged {
                    name: self.name.clone(),
                });
                return Err(Error::DeviceGone {
                    name: self.name.clone(),
                });
            }
            Err(e) => return Err(Error::Io(e)),
        };
        let used = (meta.bytesused as usize).min(buf.len());
        let data = buf.get(..used).unwrap_or_default().to_vec();
        let ts = Duration::from_secs(u64::try_from(meta.timestamp.sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(meta.timestamp.usec).unwrap_or(0));
        let driver = || {
            let now = self.device.format().ok()?;
            Some((pixel_format(now.fourcc)?, now.width, now.height))
        };
        if let Some(next) = format_after_mismatch(self.format, data.len(), driver()) {
            self.format = next;
            self.events.push_back(DeviceEvent::VideoFormatChanged(next));
        }
        let f = self.format;
        VideoFrame::new(f.pixel_format, f.width, f.height, ts, data).map(Some)
    }

    fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VGA_YUYV: VideoFormat = VideoFormat {
        pixel_format: PixelFormat::Yuyv,
        width: 640,
        height: 480,
        frame_rate: 30.0,
    };

    #[test]
    fn test_frame_of_the_expected_size_changes_nothing() {
        let driver = Some((PixelFormat::Yuyv, 1280, 720));
        assert_eq!(format_after_mismatch(VGA_YUYV, 640 * 480 * 2, driver), None);
    }

    #[test]
    fn test_driver_switch_is_reported_as_the_new_format() {
        let next = format_after_mismatch(
            VGA_YUYV,
            1280 * 720 * 2,
            Some((PixelFormat::Yuyv, 1280, 720)),
        )
        .unwrap();
        assert_eq!(
            (next.width, next.height, next.frame_rate),
            (1280, 720, 30.0)
        );
        let mjpeg = format_after_mismatch(VGA_YUYV, 5000, Some((PixelFormat::Mjpeg, 640, 480)));
        assert_eq!(mjpeg.unwrap().pixel_format, PixelFormat::Mjpeg);
    }

    #[test]
    fn test_short_frame_without_a_new_format_is_no_change() {
        // A short buffer (a torn frame) while the driver still reports the old format, or a
        // format the crate cannot name: no event; the frame itself fails its size check.
        assert_eq!(
            format_after_mismatch(VGA_YUYV, 1000, Some((PixelFormat::Yuyv, 640, 480))),
            None
        );
        assert_eq!(format_after_mismatch(VGA_YUYV, 1000, None), None);
        let mjpeg = VideoFormat {
            pixel_format: PixelFormat::Mjpeg,
            ..VGA_YUYV
        };
        assert_eq!(format_after_mismatch(mjpeg, 1234, None), None);
    }

    #[test]
    fn test_fourcc_mapping_round_trips() {
        for p in [
            PixelFormat::Yuyv,
            PixelFormat::Nv12,
            PixelFormat::I420,
            PixelFormat::Mjpeg,
        ] {
            assert_eq!(pixel_format(fourcc(p)), Some(p));
        }
        assert_eq!(pixel_format(FourCC::new(b"RGB3")), None);
    }
}
