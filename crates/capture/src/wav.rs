//! WAV (RIFF) files: 16-bit PCM and 32-bit float, read as a source and written as a sink.

use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};

use crate::error::Error;
use crate::frame::{AudioFormat, AudioFrame, SampleFormat, Samples};
use crate::source::{AudioSink, AudioSource};

const MAX_SKIPPED_CHUNK: u32 = 1 << 20;

fn bad(what: &'static str) -> Error {
    Error::InvalidWav { what }
}

fn read_exact_or<R: Read>(r: &mut R, buf: &mut [u8], what: &'static str) -> Result<(), Error> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == ErrorKind::UnexpectedEof {
            bad(what)
        } else {
            Error::Io(e)
        }
    })
}

/// Reads a WAV file in blocks of 10 ms.
#[derive(Debug)]
pub struct WavReader<R> {
    inner: R,
    format: AudioFormat,
    remaining: Option<u64>,
    position: u64,
}

impl<R: Read> WavReader<R> {
    /// Parses the header up to the start of the `data` chunk.
    ///
    /// # Errors
    /// [`Error::InvalidWav`] naming the fault; [`Error::Io`].
    pub fn new(mut inner: R) -> Result<Self, Error> {
        let mut riff = [0u8; 12];
        read_exact_or(&mut inner, &mut riff, "shorter than the RIFF header")?;
        if riff.get(..4) != Some(b"RIFF") || riff.get(8..12) != Some(b"WAVE") {
            return Err(bad("not RIFF/WAVE"));
        }
        let mut format = None;
        loop {
            let mut hdr = [0u8; 8];
            read_exact_or(&mut inner, &mut hdr, "no data chunk")?;
            let [a, b, c, d, s0, s1, s2, s3] = hdr;
            let size = u32::from_le_bytes([s0, s1, s2, s3]);
            match &[a, b, c, d] {
                b"fmt " => {
                    if !(16..=64).contains(&size) {
                        return Err(bad("fmt chunk size outside 16..=64"));
                    }
                    let mut buf = vec![0u8; size as usize + (size as usize & 1)];
                    read_exact_or(&mut inner, &mut buf, "truncated fmt chunk")?;
                    format = Some(parse_fmt(&buf)?);
                }
                b"data" => {
                    let format = format.ok_or(bad("data before fmt"))?;
                    // 0 and 0xFFFFFFFF are used by streaming writers: read to the end.
                    let remaining = (size != 0 && size != u32::MAX).then_some(u64::from(size));
                    return Ok(Self {
                        inner,
                        format,
                        remaining,
                        position: 0,
                    });
                }
                _ => {
                    if size > MAX_SKIPPED_CHUNK {
                        return Err(bad("unknown chunk larger than 1 MiB"));
                    }
                    let skip = u64::from(size) + u64::from(size & 1);
                    let copied = std::io::copy(&mut (&mut inner).take(skip), &mut std::io::sink())?;
                    if copied != skip {
                        return Err(bad("truncated chunk"));
                    }
                }
            }
        }
    }
}

fn parse_fmt(buf: &[u8]) -> Result<AudioFormat, Error> {
    let u16_at = |i: usize| {
        buf.get(i..i + 2)
            .and_then(|s| s.try_into().ok())
            .map(u16::from_le_bytes)
    };
    let u32_at = |i: usize| {
        buf.get(i..i + 4)
            .and_then(|s| s.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let mut tag = u16_at(0).ok_or(bad("fmt"))?;
    let channels = u16_at(2).ok_or(bad("fmt"))?;
    let sample_rate = u32_at(4).ok_or(bad("fmt"))?;
    let bits = u16_at(14).ok_or(bad("fmt"))?;
    if tag == 0xfffe {
        // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the real tag.
        tag = u16_at(24).ok_or(bad("extensible fmt without sub-format"))?;
    }
    let sample_format = match (tag, bits) {
        (1, 16) => SampleFormat::I16,
        (3, 32) => SampleFormat::F32,
        _ => return Err(bad("only 16-bit PCM and 32-bit float are supported")),
    };
    if !(1..=32).contains(&channels) || !(1..=768_000).contains(&sample_rate) {
        return Err(bad("channels or sample rate out of range"));
    }
    Ok(AudioFormat {
        sample_rate,
        channels,
        sample_format,
    })
}

impl<R: Read> AudioSource for WavReader<R> {
    fn format(&self) -> AudioFormat {
        self.format
    }

    fn read_frame(&mut self) -> Result<Option<AudioFrame>, Error> {
        let bytes_per = match self.format.sample_format {
            SampleFormat::I16 => 2,
            SampleFormat::F32 => 4,
        } * usize::from(self.format.channels);
        let block = (self.format.sample_rate / 100).max(1) as usize;
        let mut want = (block * bytes_per) as u64;
        if let Some(r) = self.remaining {
            want = want.min(r);
        }
        let mut buf = Vec::with_capacity(want as usize);
        (&mut self.inner).take(want).read_to_end(&mut buf)?;
        // A trailing partial sample frame is dropped.
        buf.truncate(buf.len() / bytes_per * bytes_per);
        if buf.is_empty() {
            return Ok(None);
        }
        if let Some(r) = self.remaining.as_mut() {
            *r -= buf.len() as u64;
        }
        let samples = match self.format.sample_format {
            SampleFormat::I16 => Samples::I16(
                buf.as_chunks::<2>()
                    .0
                    .iter()
                    .map(|c| i16::from_le_bytes(*c))
                    .collect(),
            ),
            SampleFormat::F32 => Samples::F32(
                buf.as_chunks::<4>()
                    .0
                    .iter()
                    .map(|c| f32::from_le_bytes(*c))
                    .collect(),
            ),
        };
        let frame = AudioFrame {
            sample_rate: self.format.sample_rate,
            channels: self.format.channels,
            first_sample: self.position,
            samples,
        };
        self.position += frame.frames() as u64;
        Ok(Some(frame))
    }
}

/// Writes a WAV file; call [`finish`](Self::finish) to fix up the chunk sizes.
#[derive(Debug)]
pub struct WavWriter<W: Write + Seek> {
    inner: W,
    format: AudioFormat,
    data_bytes: u64,
}

impl<W: Write + Seek> WavWriter<W> {
    /// Writes the header for `format`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for zero rate or channels; [`Error::Io`].
    pub fn new(mut inner: W, format: AudioFormat) -> Result<Self, Error> {
        if format.sample_rate == 0 || format.channels == 0 {
            return Err(Error::InvalidParameter {
                what: "sample rate and channels must be positive",
            });
        }
        let (tag, bits) = match format.sample_format {
            SampleFormat::I16 => (1u16, 16u16),
            SampleFormat::F32 => (3, 32),
        };
        let block_align = format.channels * bits / 8;
        let mut h = Vec::with_capacity(44);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&36u32.to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&tag.to_le_bytes());
        h.extend_from_slice(&format.channels.to_le_bytes());
        h.extend_from_slice(&format.sample_rate.to_le_bytes());
        h.extend_from_slice(&(format.sample_rate * u32::from(block_align)).to_le_bytes());
        h.extend_from_slice(&block_align.to_le_bytes());
        h.extend_from_slice(&bits.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&0u32.to_le_bytes());
        inner.write_all(&h)?;
        Ok(Self {
            inner,
            format,
            data_bytes: 0,
        })
    }

    /// Patches the RIFF and data sizes and returns the writer.
    ///
    /// # Errors
    /// [`Error::InvalidWav`] past 4 GiB; [`Error::Io`].
    pub fn finish(mut self) -> Result<W, Error> {
        let data = u32::try_from(self.data_bytes).map_err(|_| bad("data over 4 GiB"))?;
        self.inner.seek(SeekFrom::Start(4))?;
        self.inner
            .write_all(&(data.saturating_add(36)).to_le_bytes())?;
        self.inner.seek(SeekFrom::Start(40))?;
        self.inner.write_all(&data.to_le_bytes())?;
        self.inner.seek(SeekFrom::End(0))?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write + Seek> AudioSink for WavWriter<W> {
    fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), Error> {
        if frame.sample_rate != self.format.sample_rate || frame.channels != self.format.channels {
            return Err(Error::InvalidParameter {
                what: "frame rate or channels differ from the WAV header",
            });
        }
        let bytes: Vec<u8> = match self.format.sample_format {
            SampleFormat::I16 => frame
                .samples
                .to_i16()
                .iter()
                .flat_map(|s| s.to_le_bytes())
                .collect(),
            SampleFormat::F32 => frame
                .samples
                .to_f32()
                .iter()
                .flat_map(|s| s.to_le_bytes())
                .collect(),
        };
        self.inner.write_all(&bytes)?;
        self.data_bytes += bytes.len() as u64;
        Ok(())
    }
}
