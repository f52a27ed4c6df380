//! The source and sink traits, and device events.

use crate::error::Error;
use crate::frame::{AudioFormat, AudioFrame, VideoFormat, VideoFrame};

/// Something that happened to a device, reported instead of failing or panicking.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DeviceEvent {
    /// The device was unplugged or stopped; reads now fail with [`Error::DeviceGone`].
    Unplugged {
        /// Device name.
        name: String,
    },
    /// The device now delivers a different format.
    AudioFormatChanged(AudioFormat),
    /// The device now delivers a different format.
    VideoFormatChanged(VideoFormat),
    /// A recoverable stream error (an overrun, an xrun), as the host reported it.
    StreamError(String),
}

/// A source of interleaved audio.
pub trait AudioSource {
    /// The format of the frames this source produces.
    fn format(&self) -> AudioFormat;
    /// The next block: `Ok(None)` at the end of a file (devices wait for data).
    ///
    /// # Errors
    /// I/O or device errors; [`Error::DeviceGone`] after an unplug.
    fn read_frame(&mut self) -> Result<Option<AudioFrame>, Error>;
    /// The next device event, if any.
    fn poll_event(&mut self) -> Option<DeviceEvent> {
        None
    }
}

/// A source of video frames.
pub trait VideoSource {
    /// The format of the frames this source produces.
    fn format(&self) -> VideoFormat;
    /// The next frame: `Ok(None)` at the end of a file (devices wait for data).
    ///
    /// # Errors
    /// I/O or device errors; [`Error::DeviceGone`] after an unplug.
    fn read_frame(&mut self) -> Result<Option<VideoFrame>, Error>;
    /// The next device event, if any.
    fn poll_event(&mut self) -> Option<DeviceEvent> {
        None
    }
}

/// A consumer of audio (a speaker, a WAV file).
pub trait AudioSink {
    /// Writes one block.
    ///
    /// # Errors
    /// I/O or device errors, or a block whose format does not match the sink.
    fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), Error>;
}

/// A consumer of video (a Y4M file).
pub trait VideoSink {
    /// Writes one frame.
    ///
    /// # Errors
    /// I/O errors, or a frame whose format does not match the sink.
    fn write_frame(&mut self, frame: &VideoFrame) -> Result<(), Error>;
}
