//! Microphone capture and speaker playout through cpal's ALSA host (feature `alsa`).
//!
//! cpal runs its own callback thread; samples cross to the caller through a bounded channel,
//! so a slow reader loses blocks (reported as [`DeviceEvent::StreamError`]) instead of
//! growing memory. Unplugging is reported as [`DeviceEvent::Unplugged`] and later reads fail
//! with [`Error::DeviceGone`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use crate::constraints::{AudioConstraints, select_audio};
use crate::error::Error;
use crate::frame::{AudioFormat, AudioFrame, SampleFormat, Samples};
use crate::source::{AudioSink, AudioSource, DeviceEvent};

/// Blocks held between the device callback and the reader.
const QUEUE_BLOCKS: usize = 64;
/// How long `read_frame` waits for the device before returning `Ok(None)`.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
const COMMON_RATES: [u32; 6] = [8_000, 16_000, 24_000, 32_000, 44_100, 48_000];

enum Msg {
    Data(Samples),
    Dropped,
    Error(cpal::StreamError),
}

fn host() -> Result<cpal::Host, Error> {
    cpal::host_from_id(cpal::HostId::Alsa).map_err(|e| Error::Device(e.to_string()))
}

fn dev_err(e: impl std::fmt::Display) -> Error {
    Error::Device(e.to_string())
}

/// cpal's "device not available" while opening means there is no such device (no card
/// behind `default`, a name that does not resolve): say so with [`Error::NoDevice`].
fn open_err(kind: &'static str, name: Option<&str>) -> impl Fn(String, bool) -> Error {
    move |message, not_available| {
        if not_available {
            Error::NoDevice {
                kind,
                name: Some(name.unwrap_or("default").to_owned()),
            }
        } else {
            Error::Device(message)
        }
    }
}

fn configs_err(e: cpal::SupportedStreamConfigsError, map: impl Fn(String, bool) -> Error) -> Error {
    let gone = matches!(e, cpal::SupportedStreamConfigsError::DeviceNotAvailable);
    map(e.to_string(), gone)
}

fn build_err(e: cpal::BuildStreamError, map: impl Fn(String, bool) -> Error) -> Error {
    let gone = matches!(e, cpal::BuildStreamError::DeviceNotAvailable);
    map(e.to_string(), gone)
}

fn sample_format(f: cpal::SampleFormat) -> Option<SampleFormat> {
    match f {
        cpal::SampleFormat::I16 => Some(SampleFormat::I16),
        cpal::SampleFormat::F32 => Some(SampleFormat::F32),
        _ => None,
    }
}

fn formats(ranges: impl Iterator<Item = cpal::SupportedStreamConfigRange>) -> Vec<AudioFormat> {
    let mut out = Vec::new();
    for r in ranges {
        let Some(sf) = sample_format(r.sample_format()) else {
            continue;
        };
        for rate in COMMON_RATES {
            if (r.min_sample_rate().0..=r.max_sample_rate().0).contains(&rate) {
                out.push(AudioFormat {
                    sample_rate: rate,
                    channels: r.channels(),
                    sample_format: sf,
                });
            }
        }
    }
    out
}

/// An audio device found by enumeration.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioDeviceInfo {
    /// The ALSA name (`default`, `null`, `hw:CARD=…`).
    pub name: String,
    /// Formats it accepts (I16/F32 at common rates).
    pub formats: Vec<AudioFormat>,
}

/// Capture devices of the ALSA host.
///
/// # Errors
/// [`Error::Device`] if ALSA cannot be queried.
pub fn list_input_devices() -> Result<Vec<AudioDeviceInfo>, Error> {
    let mut out = Vec::new();
    for d in host()?.input_devices().map_err(dev_err)? {
        let Ok(name) = d.name() else { continue };
        let formats = d.supported_input_configs().map(formats).unwrap_or_default();
        out.push(AudioDeviceInfo { name, formats });
    }
    Ok(out)
}

/// Playback devices of the ALSA host.
///
/// # Errors
/// [`Error::Device`] if ALSA cannot be queried.
pub fn list_output_devices() -> Result<Vec<AudioDeviceInfo>, Error> {
    let mut out = Vec::new();
    for d in host()?.output_devices().map_err(dev_err)? {
        let Ok(name) = d.name() else { continue };
        let formats = d
            .supported_output_configs()
            .map(formats)
            .unwrap_or_default();
        out.push(AudioDeviceInfo { name, formats });
    }
    Ok(out)
}

fn find(input: bool, name: Option<&str>) -> Result<cpal::Device, Error> {
    let h = host()?;
    let kind = if input { "audio input" } else { "audio output" };
    let none = || Error::NoDevice {
        kind,
        name: name.map(str::to_owned),
    };
    match name {
        None if input => h.default_input_device().ok_or_else(none),
        None => h.default_output_device().ok_or_else(none),
        Some(n) => {
            let mut devs: Box<dyn Iterator<Item = cpal::Device>> = if input {
                Box::new(h.input_devices().map_err(dev_err)?)
            } else {
                Box::new(h.output_devices().map_err(dev_err)?)
            };
            devs.find(|d| d.name().is_ok_and(|x| x == n))
                .ok_or_else(none)
        }
    }
}

/// A microphone.
pub struct Microphone {
    _stream: cpal::Stream,
    rx: Receiver<Msg>,
    name: String,
    format: AudioFormat,
    position: u64,
    events: VecDeque<DeviceEvent>,
    gone: bool,
}

impl std::fmt::Debug for Microphone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Microphone")
            .field("name", &self.name)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

fn forward<T: Copy>(tx: &SyncSender<Msg>, wrap: fn(Vec<T>) -> Samples, data: &[T]) {
    if let Err(TrySendError::Full(_)) = tx.try_send(Msg::Data(wrap(data.to_vec()))) {
        let _ = tx.try_send(Msg::Dropped);
    }
}

impl Microphone {
    /// Opens the named capture device (or the default one) in the format that best fits
    /// `constraints`, and starts it.
    ///
    /// # Errors
    /// [`Error::NoDevice`], [`Error::Overconstrained`] or [`Error::Device`].
    pub fn open(name: Option<&str>, constraints: &AudioConstraints) -> Result<Self, Error> {
        let device = find(true, name)?;
        let map = open_err("audio input", name);
        let caps = formats(
            device
                .supported_input_configs()
                .map_err(|e| configs_err(e, &map))?,
        );
        let format = select_audio(constraints, &caps)?;
        let config = cpal::StreamConfig {
            channels: format.channels,
            sample_rate: cpal::SampleRate(format.sample_rate),
            buffer_size: cpal::BufferSize::Default,
        };
        let (tx, rx) = sync_channel(QUEUE_BLOCKS);
        let etx = tx.clone();
        let on_error = move |e| {
            let _ = etx.try_send(Msg::Error(e));
        };
        let stream = match format.sample_format {
            SampleFormat::I16 => device.build_input_stream(
                &config,
                move |d: &[i16], _: &cpal::InputCallbackInfo| forward(&tx, Samples::I16, d),
                on_error,
                None,
            ),
            SampleFormat::F32 => device.build_input_stream(
                &config,
                move |d: &[f32], _: &cpal::InputCallbackInfo| forward(&tx, Samples::F32, d),
                on_error,
                None,
            ),
        }
        .map_err(|e| build_err(e, &map))?;
        stream.play().map_err(dev_err)?;
        Ok(Self {
            _stream: stream,
            rx,
            name: device.name().unwrap_or_default(),
            format,
            position: 0,
            events: VecDeque::new(),
            gone: false,
        })
    }

    fn unplugged(&mut self) -> Error {
        if !self.gone {
            self.gone = true;
            self.events.push_back(DeviceEvent::Unplugged {
                name: self.name.clone(),
            });
        }
        Error::DeviceGone {
            name: self.name.clone(),
        }
    }
}

impl AudioSource for Microphone {
    fn format(&self) -> AudioFormat {
        self.format
    }

    /// The next block from the device; `Ok(None)` if none arrived within 2 s.
    fn read_frame(&mut self) -> Result<Option<AudioFrame>, Error> {
        if self.gone {
            return Err(self.unplugged());
        }
        loop {
            match self.rx.recv_timeout(READ_TIMEOUT) {
                Ok(Msg::Data(samples)) => {
                    let frame = AudioFrame {
                        sample_rate: self.format.sample_rate,
                        channels: self.format.channels,
                        first_sample: self.position,
                        samples,
                    };
                    self.position += frame.frames() as u64;
                    return Ok(Some(frame));
                }
                Ok(Msg::Dropped) => self.events.push_back(DeviceEvent::StreamError(
                    "reader too slow: block dropped".into(),
                )),
                Ok(Msg::Error(cpal::StreamError::DeviceNotAvailable))
                | Err(RecvTimeoutError::Disconnected) => return Err(self.unplugged()),
                Ok(Msg::Error(e)) => self
                    .events
                    .push_back(DeviceEvent::StreamError(e.to_string())),
                Err(RecvTimeoutError::Timeout) => return Ok(None),
            }
        }
    }

    fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.events.pop_front()
    }
}

/// A speaker: blocks written are played in order; `write_frame` waits while the queue is
/// full, so the device paces the writer.
pub struct Speaker {
    _stream: cpal::Stream,
    tx: SyncSender<Vec<f32>>,
    errors: Receiver<cpal::StreamError>,
    played: Arc<AtomicU64>,
    name: String,
    format: AudioFormat,
    events: VecDeque<DeviceEvent>,
}

impl std::fmt::Debug for Speaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Speaker")
            .field("name", &self.name)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Speaker {
    /// Opens the named playback device (or the default one) for float samples at the rate and
    /// channel count that best fit `constraints`.
    ///
    /// # Errors
    /// [`Error::NoDevice`], [`Error::Overconstrained`] or [`Error::Device`].
    pub fn open(name: Option<&str>, constraints: &AudioConstraints) -> Result<Self, Error> {
        let device = find(false, name)?;
        let map = open_err("audio output", name);
        let caps: Vec<AudioFormat> = formats(
            device
                .supported_output_configs()
                .map_err(|e| configs_err(e, &map))?,
        )
        .into_iter()
        .filter(|f| f.sample_format == SampleFormat::F32)
        .collect();
        let format = select_audio(constraints, &caps)?;
        let config = cpal::StreamConfig {
            channels: format.channels,
            sample_rate: cpal::SampleRate(format.sample_rate),
            buffer_size: cpal::BufferSize::Default,
        };
        let (tx, rx) = sync_channel::<Vec<f32>>(QUEUE_BLOCKS);
        let (etx, errors) = sync_channel(16);
        let mut pending: VecDeque<f32> = VecDeque::new();
        // Counts written samples handed to the device (not the silence played on underrun):
        // the playout position, for A/V sync and echo-canceller delay estimates.
        let played = Arc::new(AtomicU64::new(0));
        let played_cb = Arc::clone(&played);
        let stream = device
            .build_output_stream(
                &config,
                move |out: &mut [f32], _: &cpal::OutputCallbackInfo| {
                    let mut real = 0u64;
                    for s in out.iter_mut() {
                        if pending.is_empty()
                            && let Ok(block) = rx.try_recv()
                        {
                            pending.extend(block);
                        }
                        // Underrun: play silence.
                        *s = match pending.pop_front() {
                            Some(v) => {
                                real += 1;
                                v
                            }
                            None => 0.0,
                        };
                    }
                    played_cb.fetch_add(real, Ordering::Relaxed);
                },
                move |e| {
                    let _ = etx.try_send(e);
                },
                None,
            )
            .map_err(|e| build_err(e, &map))?;
        stream.play().map_err(dev_err)?;
        Ok(Self {
            _stream: stream,
            tx,
            errors,
            played,
            name: device.name().unwrap_or_default(),
            format,
            events: VecDeque::new(),
        })
    }

    /// The format being played.
    #[must_use]
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// Samples (all channels) of written blocks the device has consumed so far; silence
    /// played on underrun is not counted. When it equals the samples written, the queue has
    /// drained.
    #[must_use]
    pub fn samples_played(&self) -> u64 {
        self.played.load(Ordering::Relaxed)
    }

    /// The next device event, if any.
    pub fn poll_event(&mut self) -> Option<DeviceEvent> {
        while let Ok(e) = self.errors.try_recv() {
            self.events.push_back(match e {
                cpal::StreamError::DeviceNotAvailable => DeviceEvent::Unplugged {
                    name: self.name.clone(),
                },
                e => DeviceEvent::StreamError(e.to_string()),
            });
        }
        self.events.pop_front()
    }
}

impl AudioSink for Speaker {
    fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), Error> {
        if frame.sample_rate != self.format.sample_rate || frame.channels != self.format.channels {
            return Err(Error::InvalidParameter {
                what: "frame rate or channels differ from the speaker's",
            });
        }
        self.tx
            .send(frame.samples.to_f32())
            .map_err(|_| Error::DeviceGone {
                name: self.name.clone(),
            })
    }
}
