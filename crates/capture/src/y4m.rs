//! YUV4MPEG2 (Y4M) files with 4:2:0 frames, read as a source and written as a sink.

use std::io::{BufRead, Read, Write};
use std::time::Duration;

use crate::error::Error;
use crate::frame::{PixelFormat, VideoFormat, VideoFrame};
use crate::source::{VideoSink, VideoSource};

const MAX_LINE: usize = 1024;
/// Largest frame accepted, in pixels (8K UHD).
pub const MAX_PIXELS: u64 = 7680 * 4320;

fn bad(what: &'static str) -> Error {
    Error::InvalidY4m { what }
}

fn read_line<R: BufRead>(r: &mut R) -> Result<Option<Vec<u8>>, Error> {
    let mut line = Vec::new();
    let n = std::io::Read::take(&mut *r, MAX_LINE as u64).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(bad("header line too long or truncated"));
    }
    Ok(Some(line))
}

/// Reads a Y4M file frame by frame.
#[derive(Debug)]
pub struct Y4mReader<R> {
    inner: R,
    format: VideoFormat,
    rate: (u64, u64),
    index: u64,
}

impl<R: BufRead> Y4mReader<R> {
    /// Parses the stream header.
    ///
    /// # Errors
    /// [`Error::InvalidY4m`] naming the fault; [`Error::Io`].
    pub fn new(mut inner: R) -> Result<Self, Error> {
        let line = read_line(&mut inner)?.ok_or(bad("empty file"))?;
        let text = std::str::from_utf8(&line).map_err(|_| bad("header not ASCII"))?;
        let mut tokens = text.split(' ');
        if tokens.next() != Some("YUV4MPEG2") {
            return Err(bad("missing YUV4MPEG2 signature"));
        }
        let (mut w, mut h, mut rate) = (0u32, 0u32, (30u64, 1u64));
        for t in tokens.filter(|t| !t.is_empty()) {
            // A token's key is its first byte; a multibyte first character is no key.
            let (key, val) = t.split_at_checked(1).ok_or(bad("header token not ASCII"))?;
            match key {
                "W" => w = val.parse().map_err(|_| bad("bad W"))?,
                "H" => h = val.parse().map_err(|_| bad("bad H"))?,
                "F" => {
                    let (n, d) = val.split_once(':').ok_or(bad("bad F"))?;
                    rate = (
                        n.parse().map_err(|_| bad("bad F"))?,
                        d.parse().map_err(|_| bad("bad F"))?,
                    );
                }
                "C" if !val.starts_with("420") => {
                    return Err(bad("only 4:2:0 colour spaces are supported"));
                }
                "I" if val != "p" && val != "?" => return Err(bad("interlaced input")),
                _ => {} // I, A, X: ignored
            }
        }
        if w == 0 || h == 0 || u64::from(w) * u64::from(h) > MAX_PIXELS {
            return Err(bad("size zero or above 8K"));
        }
        if rate.0 == 0 || rate.1 == 0 {
            return Err(bad("zero frame rate"));
        }
        Ok(Self {
            inner,
            format: VideoFormat {
                pixel_format: PixelFormat::I420,
                width: w,
                height: h,
                frame_rate: rate.0 as f64 / rate.1 as f64,
            },
            rate,
            index: 0,
        })
    }
}

impl<R: BufRead> VideoSource for Y4mReader<R> {
    fn format(&self) -> VideoFormat {
        self.format
    }

    fn read_frame(&mut self) -> Result<Option<VideoFrame>, Error> {
        let Some(line) = read_line(&mut self.inner)? else {
            return Ok(None);
        };
        if !line.starts_with(b"FRAME") {
            return Err(bad("missing FRAME marker"));
        }
        let len = PixelFormat::I420
            .frame_len(self.format.width, self.format.height)
            .unwrap_or(0);
        // Grown as bytes arrive, so a header that promises 8K and a file that ends early
        // cost what the file holds, not a whole frame.
        let mut data = Vec::new();
        std::io::Read::take(&mut self.inner, len as u64).read_to_end(&mut data)?;
        if data.len() != len {
            return Err(bad("truncated frame"));
        }
        let nanos = u128::from(self.index) * u128::from(self.rate.1) * 1_000_000_000
            / u128::from(self.rate.0);
        let ts = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        self.index += 1;
        VideoFrame::new(
            PixelFormat::I420,
            self.format.width,
            self.format.height,
            ts,
            data,
        )
        .map(Some)
    }
}

/// Writes a Y4M file of I420 frames.
#[derive(Debug)]
pub struct Y4mWriter<W> {
    inner: W,
    width: u32,
    height: u32,
}

impl<W: Write> Y4mWriter<W> {
    /// Writes the stream header for `width`×`height` at `frame_rate`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero sizes or rates; [`Error::Io`].
    pub fn new(mut inner: W, width: u32, height: u32, frame_rate: f64) -> Result<Self, Error> {
        if width == 0 || height == 0 || !frame_rate.is_finite() || frame_rate <= 0.0 {
            return Err(Error::InvalidParameter {
                what: "size and frame rate must be positive",
            });
        }
        let (n, d) = if frame_rate.fract() == 0.0 {
            (frame_rate as u64, 1)
        } else {
            ((frame_rate * 1001.0).round() as u64, 1001)
        };
        writeln!(
            inner,
            "YUV4MPEG2 W{width} H{height} F{n}:{d} Ip A1:1 C420jpeg"
        )?;
        Ok(Self {
            inner,
            width,
            height,
        })
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> VideoSink for Y4mWriter<W> {
    fn write_frame(&mut self, frame: &VideoFrame) -> Result<(), Error> {
        let frame = if frame.format == PixelFormat::I420 {
            std::borrow::Cow::Borrowed(frame)
        } else {
            std::borrow::Cow::Owned(crate::convert::to_i420(frame)?)
        };
        if frame.width != self.width || frame.height != self.height {
            return Err(Error::InvalidParameter {
                what: "frame size differs from the Y4M header",
            });
        }
        self.inner.write_all(b"FRAME\n")?;
        self.inner.write_all(&frame.data)?;
        Ok(())
    }
}
