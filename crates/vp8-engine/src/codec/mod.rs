//! A safe VP8 encoder and decoder over libvpx, configured for real-time video as libwebrtc
//! configures it: one-pass CBR, no lag, error resilience, realtime deadline, token partitions,
//! undershoot 100 % / overshoot 15 %, a 1 s buffer, key frames capped in size, optional
//! temporal layers (L1T2, L1T3).

mod ffi;

use crate::error::Error;
use crate::image::I420Image;
use crate::packetizer::FrameToSend;
use crate::wire::{TemporalInfo, Vp8PayloadHeader};
use ffi::{DecCtx, EncCtx, EncParams};

/// Encoder settings. [`EncoderConfig::new`] gives libwebrtc's real-time defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Target bitrate, kbit/s.
    pub bitrate_kbps: u32,
    /// Frame rate the rate control assumes, frames per second.
    pub frame_rate: u32,
    /// libvpx speed (`VP8E_SET_CPUUSED`): negative values are real-time speeds; libwebrtc
    /// uses −6 on desktop.
    pub cpu_used: i32,
    /// log2 of the number of DCT token partitions (0..=3).
    pub token_partitions: u8,
    /// Encoder threads.
    pub threads: u32,
    /// Error-resilient mode (entropy contexts reset per frame, so a loss does not spread).
    pub error_resilient: bool,
    /// Quantizer range.
    pub min_quantizer: u32,
    /// Quantizer range.
    pub max_quantizer: u32,
    /// Let the rate control undershoot by this percentage.
    pub undershoot_pct: u32,
    /// Let the rate control overshoot by this percentage.
    pub overshoot_pct: u32,
    /// Decoder buffer model, in ms of data: initial, optimal and total size.
    pub buffer_initial_ms: u32,
    /// See `buffer_initial_ms`.
    pub buffer_optimal_ms: u32,
    /// See `buffer_initial_ms`.
    pub buffer_size_ms: u32,
    /// Let the encoder drop frames to hold the rate.
    pub frame_dropping: bool,
    /// Longest distance between automatic key frames, in frames (`None`: only forced ones).
    pub keyframe_max_distance: Option<u32>,
    /// Temporal layers: 1, 2 or 3.
    pub temporal_layers: u8,
}

impl EncoderConfig {
    /// libwebrtc's real-time CBR defaults for `width`×`height` at `bitrate_kbps` and 30 fps.
    #[must_use]
    pub fn new(width: u32, height: u32, bitrate_kbps: u32) -> Self {
        Self {
            width,
            height,
            bitrate_kbps,
            frame_rate: 30,
            cpu_used: -6,
            token_partitions: 0,
            threads: 1,
            error_resilient: true,
            min_quantizer: 2,
            max_quantizer: 56,
            undershoot_pct: 100,
            overshoot_pct: 15,
            buffer_initial_ms: 500,
            buffer_optimal_ms: 600,
            buffer_size_ms: 1000,
            frame_dropping: true,
            keyframe_max_distance: Some(3000),
            temporal_layers: 1,
        }
    }

    fn params(&self) -> Result<EncParams, Error> {
        let bad = |what| Err(Error::InvalidConfig { what });
        if self.width == 0 || self.height == 0 || self.width > 16383 || self.height > 16383 {
            return bad("width and height must be 1..=16383");
        }
        if self.bitrate_kbps == 0 || self.frame_rate == 0 {
            return bad("bitrate and frame rate must be positive");
        }
        if !(1..=3).contains(&self.temporal_layers) {
            return bad("temporal layers must be 1, 2 or 3");
        }
        if self.min_quantizer > self.max_quantizer || self.max_quantizer > 63 {
            return bad("quantizers must satisfy min <= max <= 63");
        }
        Ok(EncParams {
            width: self.width,
            height: self.height,
            bitrate_kbps: self.bitrate_kbps,
            threads: self.threads.max(1),
            error_resilient: self.error_resilient,
            min_quantizer: self.min_quantizer,
            max_quantizer: self.max_quantizer,
            undershoot_pct: self.undershoot_pct,
            overshoot_pct: self.overshoot_pct,
            buffer_initial_ms: self.buffer_initial_ms,
            buffer_optimal_ms: self.buffer_optimal_ms,
            buffer_size_ms: self.buffer_size_ms,
            frame_dropping: self.frame_dropping,
            keyframe_max_distance: self.keyframe_max_distance,
            temporal_layers: self.temporal_layers,
        })
    }
}

/// One encoded frame, ready for [`crate::Vp8Packetizer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The VP8 frame.
    pub data: Vec<u8>,
    /// Start offsets of its partitions (libvpx partition-output mode).
    pub partitions: Vec<usize>,
    /// Whether it is a key frame.
    pub key_frame: bool,
    /// Presentation time in 90 kHz units (the RTP timestamp before the random offset).
    pub pts: u64,
    /// Temporal layer, when temporal layers are on.
    pub temporal: Option<TemporalInfo>,
    /// No later frame references this one.
    pub non_reference: bool,
}

impl EncodedFrame {
    /// The packetizer's view of this frame.
    #[must_use]
    pub fn to_send(&self) -> FrameToSend<'_> {
        FrameToSend {
            data: &self.data,
            partitions: &self.partitions,
            non_reference: self.non_reference,
            temporal: self.temporal,
            key_idx: None,
        }
    }
}

/// Flags of one position in a temporal pattern.
#[derive(Debug, Clone, Copy)]
struct LayerStep {
    tid: u8,
    sync: bool,
    non_reference: bool,
    flags: u32,
}

use vpx_sys::{
    VP8_EFLAG_NO_REF_ARF as NO_REF_ARF, VP8_EFLAG_NO_REF_GF as NO_REF_GF,
    VP8_EFLAG_NO_UPD_ARF as NO_UPD_ARF, VP8_EFLAG_NO_UPD_GF as NO_UPD_GF,
    VP8_EFLAG_NO_UPD_LAST as NO_UPD_LAST,
};

/// Reference structure per position: TL0 uses and updates LAST only; TL1 references LAST and
/// (in L1T3) updates GOLDEN; TL2 updates nothing.
fn pattern(layers: u8) -> &'static [LayerStep] {
    const BASE: LayerStep = LayerStep {
        tid: 0,
        sync: false,
        non_reference: false,
        flags: NO_REF_GF | NO_REF_ARF | NO_UPD_GF | NO_UPD_ARF,
    };
    const T2: [LayerStep; 2] = [
        BASE,
        LayerStep {
            tid: 1,
            sync: true,
            non_reference: true,
            flags: NO_REF_GF | NO_REF_ARF | NO_UPD_LAST | NO_UPD_GF | NO_UPD_ARF,
        },
    ];
    const T3: [LayerStep; 4] = [
        BASE,
        LayerStep {
            tid: 2,
            sync: true,
            non_reference: true,
            flags: NO_REF_GF | NO_REF_ARF | NO_UPD_LAST | NO_UPD_GF | NO_UPD_ARF,
        },
        LayerStep {
            tid: 1,
            sync: true,
            non_reference: false,
            flags: NO_REF_GF | NO_REF_ARF | NO_UPD_LAST | NO_UPD_ARF,
        },
        LayerStep {
            tid: 2,
            sync: false,
            non_reference: true,
            flags: NO_REF_ARF | NO_UPD_LAST | NO_UPD_GF | NO_UPD_ARF,
        },
    ];
    match layers {
        2 => &T2,
        3 => &T3,
        _ => &[],
    }
}

/// A real-time VP8 encoder.
#[derive(Debug)]
pub struct Vp8Encoder {
    cfg: EncoderConfig,
    ctx: EncCtx,
    position: usize,
    force_key: bool,
}

impl Vp8Encoder {
    /// An encoder configured with `cfg`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] or [`Error::Codec`] if libvpx refuses the configuration.
    pub fn new(cfg: EncoderConfig) -> Result<Self, Error> {
        let ctx = EncCtx::new(&cfg.params()?, cfg.token_partitions, cfg.cpu_used)?;
        let mut enc = Self {
            cfg,
            ctx,
            position: 0,
            force_key: false,
        };
        enc.ctx
            .set_max_intra(cfg.buffer_optimal_ms, cfg.frame_rate)?;
        Ok(enc)
    }

    /// The current configuration.
    #[must_use]
    pub fn config(&self) -> &EncoderConfig {
        &self.cfg
    }

    /// Changes the target bitrate and frame rate (driven by the bandwidth estimate).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for zero values; [`Error::Codec`] if libvpx refuses.
    pub fn set_rates(&mut self, bitrate_kbps: u32, frame_rate: u32) -> Result<(), Error> {
        let next = EncoderConfig {
            bitrate_kbps,
            frame_rate,
            ..self.cfg
        };
        self.ctx.reconfigure(&next.params()?)?;
        self.ctx.set_max_intra(next.buffer_optimal_ms, frame_rate)?;
        self.cfg = next;
        Ok(())
    }

    /// Makes the next encoded frame a key frame (on a PLI or FIR).
    pub fn request_keyframe(&mut self) {
        self.force_key = true;
    }

    /// Encodes `image` shown at `pts` (90 kHz). A different size from the configured one
    /// re-creates the encoder at that size (and so starts with a key frame). Returns no frame
    /// when the rate control drops this one.
    ///
    /// # Errors
    /// [`Error::Codec`] if libvpx fails; the encoder stays usable.
    pub fn encode(&mut self, image: &I420Image, pts: u64) -> Result<Vec<EncodedFrame>, Error> {
        if image.width() != self.cfg.width || image.height() != self.cfg.height {
            let next = EncoderConfig {
                width: image.width(),
                height: image.height(),
                ..self.cfg
            };
            let ctx = EncCtx::new(&next.params()?, next.token_partitions, next.cpu_used)?;
            self.ctx = ctx;
            self.cfg = next;
            self.position = 0;
        }
        let steps = pattern(self.cfg.temporal_layers);
        let mut flags = 0u32;
        if self.force_key {
            flags |= vpx_sys::VPX_EFLAG_FORCE_KF;
            self.position = 0;
        }
        let step = steps.get(self.position % steps.len().max(1)).copied();
        if let Some(s) = step {
            flags |= s.flags;
            self.ctx.control(
                vpx_sys::vp8e_enc_control_id::VP8E_SET_TEMPORAL_LAYER_ID,
                i32::from(s.tid),
            )?;
        }
        let duration = u64::from(90_000 / self.cfg.frame_rate.max(1));
        let pts_i = i64::try_from(pts).map_err(|_| Error::InvalidConfig {
            what: "pts beyond i64",
        })?;
        let raw = self.ctx.encode(image, pts_i, duration, flags)?;
        self.force_key = false;
        self.position = self.position.wrapping_add(1);
        Ok(raw
            .into_iter()
            .map(|r| EncodedFrame {
                key_frame: r.key_frame,
                pts: u64::try_from(r.pts).unwrap_or(pts),
                temporal: step.map(|s| TemporalInfo {
                    tid: s.tid,
                    layer_sync: s.sync,
                }),
                non_reference: step.is_some_and(|s| s.non_reference) && !r.key_frame,
                data: r.data,
                partitions: r.partitions,
            })
            .collect())
    }
}

/// A VP8 decoder producing I420 images.
#[derive(Debug)]
pub struct Vp8Decoder {
    ctx: DecCtx,
    max_pixels: u32,
}

impl Vp8Decoder {
    /// A decoder with `threads` threads that refuses key frames above 4096×2304 pixels (the
    /// [`ReceiverConfig`](crate::ReceiverConfig) default).
    ///
    /// # Errors
    /// [`Error::Codec`] if libvpx fails to initialise.
    pub fn new(threads: u32) -> Result<Self, Error> {
        Self::with_max_pixels(threads, 4096 * 2304)
    }

    /// A decoder that refuses key frames of more than `max_pixels` pixels before libvpx sees
    /// them: a 14-bit VP8 header can ask for 16383×16383, and libvpx would allocate the frame
    /// buffers for it.
    ///
    /// # Errors
    /// [`Error::Codec`] if libvpx fails to initialise.
    pub fn with_max_pixels(threads: u32, max_pixels: u32) -> Result<Self, Error> {
        Ok(Self {
            ctx: DecCtx::new(threads.max(1))?,
            max_pixels,
        })
    }

    /// Decodes one complete frame; returns the image to show, if any.
    ///
    /// # Errors
    /// The header errors of [`Vp8PayloadHeader::parse_frame`] (truncated header, bad start
    /// code, [`Error::FrameTooLarge`], partition past the end) before libvpx is called;
    /// [`Error::Codec`] on corrupt data (report it with
    /// [`Vp8Receiver::handle_decoder_error`](crate::Vp8Receiver::handle_decoder_error)).
    pub fn decode(&mut self, frame: &[u8]) -> Result<Option<I420Image>, Error> {
        Vp8PayloadHeader::parse_frame(frame, self.max_pixels)?;
        Ok(self.ctx.decode(frame)?.pop())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_encode_decode_roundtrip() {
        let mut enc = Vp8Encoder::new(EncoderConfig::new(160, 120, 300)).unwrap();
        let mut dec = Vp8Decoder::new(1).unwrap();
        let mut psnr = Vec::new();
        for i in 0..10u64 {
            let img = I420Image::colour_bars(160, 120, i);
            for f in enc.encode(&img, i * 3000).unwrap() {
                assert_eq!(f.key_frame, i == 0);
                let out = dec.decode(&f.data).unwrap().unwrap();
                psnr.push(img.psnr_y(&out).unwrap());
            }
        }
        assert!(psnr.len() >= 8);
        assert!(psnr.iter().all(|p| *p > 30.0), "{psnr:?}");
    }

    #[test]
    fn test_forced_keyframe_and_partitions() {
        let mut cfg = EncoderConfig::new(320, 240, 500);
        cfg.token_partitions = 2;
        let mut enc = Vp8Encoder::new(cfg).unwrap();
        let mut keys = Vec::new();
        for i in 0..6u64 {
            if i == 4 {
                enc.request_keyframe();
            }
            for f in enc
                .encode(&I420Image::colour_bars(320, 240, i), i * 3000)
                .unwrap()
            {
                assert!(f.partitions.len() >= 2, "{:?}", f.partitions);
                keys.push(f.key_frame);
            }
        }
        assert!(keys[0] && keys.iter().filter(|k| **k).count() == 2);
    }

    #[test]
    fn test_invalid_config() {
        assert!(Vp8Encoder::new(EncoderConfig::new(0, 10, 100)).is_err());
        assert!(Vp8Encoder::new(EncoderConfig::new(16384, 10, 100)).is_err());
        let mut c = EncoderConfig::new(64, 64, 100);
        c.temporal_layers = 4;
        assert!(Vp8Encoder::new(c).is_err());
    }

    #[test]
    fn test_decoder_rejects_garbage() {
        let mut dec = Vp8Decoder::new(1).unwrap();
        assert!(dec.decode(&[0xff; 3]).is_err());
    }
}
