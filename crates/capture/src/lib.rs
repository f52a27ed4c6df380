//! Audio and video capture and playout for Tern: the [`AudioSource`] / [`VideoSource`] traits
//! and their sinks, with
//!
//! * synthetic sources ([`ToneSource`]: sine or speech-like; [`ColourBarsSource`]: moving
//!   bars with a frame counter),
//! * WAV ([`WavReader`], [`WavWriter`]) and Y4M ([`Y4mReader`], [`Y4mWriter`]) files,
//! * YUYV, NV12 and MJPEG → I420 conversion ([`convert::to_i420`]; MJPEG through the pure-Rust
//!   `jpeg-decoder`, including UVC frames without Huffman tables),
//! * getUserMedia-style constraints resolved against capabilities
//!   ([`constraints::select_video`], [`constraints::select_audio`]) with an error naming the
//!   constraint that cannot be met,
//! * devices behind features: `alsa` (cpal microphone capture and speaker playout) and `v4l`
//!   (V4L2 camera capture). Unplug and format changes are [`DeviceEvent`]s, never panics.
//!
//! Everything is sample-clocked: a source's timestamps count samples or frames, never the
//! wall clock, so files and synthetic sources give identical results on every run.
//!
//! # Use
//!
//! 1. Build constraints, list a device's capabilities, and pick a format with
//!    [`constraints::select_video`] / [`constraints::select_audio`].
//! 2. Open the source and call `read_frame` in a loop; drain `poll_event` after each call.
//! 3. Convert video to I420 with [`convert::to_i420`] before encoding.
//!
//! # Example
//!
//! ```
//! use tern_capture::{ColourBarsSource, VideoSource, Y4mReader, Y4mWriter, VideoSink};
//!
//! let mut bars = ColourBarsSource::new(64, 48, 30.0)?.with_length(3);
//! let mut file = Y4mWriter::new(Vec::new(), 64, 48, 30.0)?;
//! while let Some(frame) = bars.read_frame()? {
//!     file.write_frame(&frame)?;
//! }
//! let bytes = file.into_inner();
//! let mut back = Y4mReader::new(&bytes[..])?;
//! let second = (back.read_frame()?, back.read_frame()?).1.unwrap();
//! assert_eq!(ColourBarsSource::read_counter(&second), Some(1));
//! # Ok::<(), tern_capture::Error>(())
//! ```

#[cfg(feature = "alsa")]
pub mod alsa;
pub mod constraints;
pub mod convert;
pub mod error;
pub mod frame;
pub mod source;
pub mod synthetic;
#[cfg(feature = "v4l")]
pub mod v4l2;
pub mod wav;
pub mod y4m;

pub use error::Error;
pub use frame::{
    AudioFormat, AudioFrame, PixelFormat, SampleFormat, Samples, VideoFormat, VideoFrame,
};
pub use source::{AudioSink, AudioSource, DeviceEvent, VideoSink, VideoSource};
pub use synthetic::{ColourBarsSource, Tone, ToneSource};
pub use wav::{WavReader, WavWriter};
pub use y4m::{Y4mReader, Y4mWriter};
