//! The only module that calls libvpx. Every `unsafe` block says why it is sound.
//!
//! Invariants kept by the two context types:
//! * the `vpx_codec_ctx_t` lives in a `Box` (a stable address) from a successful
//!   `*_init_ver` until `vpx_codec_destroy` in `Drop`, and is used by one thread at a time
//!   (`&mut self`);
//! * every pointer libvpx returns (compressed packets, decoded images) is read before the next
//!   call on the same context, which is when libvpx may reuse it.
#![allow(unsafe_code)]

use std::os::raw::{c_int, c_long, c_uint, c_ulong};
use std::ptr;

use vpx_sys as vpx;

use crate::error::Error;
use crate::image::I420Image;

fn check(op: &'static str, code: vpx::vpx_codec_err_t) -> Result<(), Error> {
    if code == vpx::vpx_codec_err_t::VPX_CODEC_OK {
        Ok(())
    } else {
        Err(Error::Codec {
            op,
            code: code as i32,
        })
    }
}

/// Encoder settings that map onto `vpx_codec_enc_cfg_t` and controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EncParams {
    pub width: u32,
    pub height: u32,
    pub bitrate_kbps: u32,
    pub threads: u32,
    pub error_resilient: bool,
    pub min_quantizer: u32,
    pub max_quantizer: u32,
    pub undershoot_pct: u32,
    pub overshoot_pct: u32,
    pub buffer_initial_ms: u32,
    pub buffer_optimal_ms: u32,
    pub buffer_size_ms: u32,
    pub frame_dropping: bool,
    pub keyframe_max_distance: Option<u32>,
    pub temporal_layers: u8,
}

/// One compressed frame as libvpx produced it (partitions concatenated).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RawFrame {
    pub data: Vec<u8>,
    pub partitions: Vec<usize>,
    pub key_frame: bool,
    pub pts: i64,
}

fn fill_config(cfg: &mut vpx::vpx_codec_enc_cfg_t, p: &EncParams) {
    cfg.g_w = p.width;
    cfg.g_h = p.height;
    cfg.g_threads = p.threads;
    // RTP video clock: timestamps are in 1/90000 s.
    cfg.g_timebase = vpx::vpx_rational {
        num: 1,
        den: 90_000,
    };
    cfg.g_lag_in_frames = 0;
    cfg.g_pass = vpx::vpx_enc_pass::VPX_RC_ONE_PASS;
    cfg.g_error_resilient = if p.error_resilient {
        vpx::VPX_ERROR_RESILIENT_DEFAULT
    } else {
        0
    };
    cfg.rc_end_usage = vpx::vpx_rc_mode::VPX_CBR;
    cfg.rc_target_bitrate = p.bitrate_kbps;
    cfg.rc_min_quantizer = p.min_quantizer;
    cfg.rc_max_quantizer = p.max_quantizer;
    cfg.rc_undershoot_pct = p.undershoot_pct;
    cfg.rc_overshoot_pct = p.overshoot_pct;
    cfg.rc_buf_initial_sz = p.buffer_initial_ms;
    cfg.rc_buf_optimal_sz = p.buffer_optimal_ms;
    cfg.rc_buf_sz = p.buffer_size_ms;
    cfg.rc_dropframe_thresh = if p.frame_dropping { 30 } else { 0 };
    cfg.rc_resize_allowed = 0;
    match p.keyframe_max_distance {
        Some(d) => {
            cfg.kf_mode = vpx::vpx_kf_mode::VPX_KF_AUTO;
            cfg.kf_min_dist = 0;
            cfg.kf_max_dist = d;
        }
        None => cfg.kf_mode = vpx::vpx_kf_mode::VPX_KF_DISABLED,
    }
    let b = p.bitrate_kbps;
    match p.temporal_layers {
        2 => {
            cfg.ts_number_layers = 2;
            cfg.ts_target_bitrate = [b * 6 / 10, b, 0, 0, 0];
            cfg.ts_rate_decimator = [2, 1, 0, 0, 0];
            cfg.ts_periodicity = 2;
            cfg.ts_layer_id = [0; 16];
            cfg.ts_layer_id[1] = 1;
        }
        3 => {
            cfg.ts_number_layers = 3;
            cfg.ts_target_bitrate = [b * 4 / 10, b * 6 / 10, b, 0, 0];
            cfg.ts_rate_decimator = [4, 2, 1, 0, 0];
            cfg.ts_periodicity = 4;
            cfg.ts_layer_id = [0; 16];
            cfg.ts_layer_id[1] = 2;
            cfg.ts_layer_id[2] = 1;
            cfg.ts_layer_id[3] = 2;
        }
        _ => {
            cfg.ts_number_layers = 1;
            cfg.ts_target_bitrate = [b, 0, 0, 0, 0];
            cfg.ts_rate_decimator = [1, 0, 0, 0, 0];
            cfg.ts_periodicity = 1;
            cfg.ts_layer_id = [0; 16];
        }
    }
}

/// An initialised libvpx VP8 encoder.
pub(crate) struct EncCtx {
    ctx: Box<vpx::vpx_codec_ctx_t>,
    cfg: Box<vpx::vpx_codec_enc_cfg_t>,
}

impl std::fmt::Debug for EncCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncCtx")
            .field("width", &self.cfg.g_w)
            .field("height", &self.cfg.g_h)
            .field("kbps", &self.cfg.rc_target_bitrate)
            .finish()
    }
}

impl EncCtx {
    pub(crate) fn new(p: &EncParams, token_partitions: u8, cpu_used: i32) -> Result<Self, Error> {
        let mut raw = std::mem::MaybeUninit::<vpx::vpx_codec_enc_cfg_t>::uninit();
        // SAFETY: the interface pointer is a static libvpx owns; `raw` is writable memory of the
        // right size and alignment, which libvpx fills completely on success.
        let code = unsafe {
            vpx::vpx_codec_enc_config_default(vpx::vpx_codec_vp8_cx(), raw.as_mut_ptr(), 0)
        };
        check("vpx_codec_enc_config_default", code)?;
        // SAFETY: vpx_codec_enc_config_default returned OK, so every field is initialised.
        let mut cfg = Box::new(unsafe { raw.assume_init() });
        fill_config(&mut cfg, p);
        // SAFETY: zeroed bytes are the documented "not yet initialised" state of a context.
        let mut ctx: Box<vpx::vpx_codec_ctx_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `ctx` and `cfg` are valid boxed structs that outlive the encoder (both are
        // stored in `Self`); the ABI version is the one the bindings were generated for.
        let code = unsafe {
            vpx::vpx_codec_enc_init_ver(
                &mut *ctx,
                vpx::vpx_codec_vp8_cx(),
                &*cfg,
                vpx::VPX_CODEC_USE_OUTPUT_PARTITION as c_long,
                vpx::VPX_ENCODER_ABI_VERSION as c_int,
            )
        };
        check("vpx_codec_enc_init", code)?;
        let mut enc = Self { ctx, cfg };
        // libwebrtc's realtime settings.
        enc.control(vpx::vp8e_enc_control_id::VP8E_SET_CPUUSED, cpu_used)?;
        enc.control(
            vpx::vp8e_enc_control_id::VP8E_SET_TOKEN_PARTITIONS,
            c_int::from(token_partitions.min(3)),
        )?;
        enc.control(vpx::vp8e_enc_control_id::VP8E_SET_NOISE_SENSITIVITY, 0)?;
        enc.control(vpx::vp8e_enc_control_id::VP8E_SET_STATIC_THRESHOLD, 1)?;
        enc.set_max_intra(p.buffer_optimal_ms, 30)?;
        Ok(enc)
    }

    /// libwebrtc's cap on key-frame size: optimal buffer × 0.5 × frame rate / 10, in percent of
    /// the per-frame bandwidth, at least 300.
    pub(crate) fn set_max_intra(&mut self, optimal_ms: u32, fps: u32) -> Result<(), Error> {
        let pct = ((optimal_ms as f32) * 0.5 * (fps as f32) / 10.0) as c_int;
        self.control(
            vpx::vp8e_enc_control_id::VP8E_SET_MAX_INTRA_BITRATE_PCT,
            pct.max(300),
        )
    }

    pub(crate) fn control(
        &mut self,
        id: vpx::vp8e_enc_control_id,
        value: c_int,
    ) -> Result<(), Error> {
        // SAFETY: the context is initialised (invariant); every control used here takes one
        // `int` argument, which is what is passed through the variadic call.
        let code = unsafe { vpx::vpx_codec_control_(&mut *self.ctx, id as c_int, value) };
        check("vpx_codec_control", code)
    }

    pub(crate) fn reconfigure(&mut self, p: &EncParams) -> Result<(), Error> {
        let mut cfg = *self.cfg;
        fill_config(&mut cfg, p);
        // SAFETY: the context is initialised and `cfg` is a valid config that lives across the
        // call; libvpx copies it.
        let code = unsafe { vpx::vpx_codec_enc_config_set(&mut *self.ctx, &cfg) };
        check("vpx_codec_enc_config_set", code)?;
        *self.cfg = cfg;
        Ok(())
    }

    pub(crate) fn encode(
        &mut self,
        image: &I420Image,
        pts: i64,
        duration: u64,
        flags: u32,
    ) -> Result<Vec<RawFrame>, Error> {
        if image.width() != self.cfg.g_w || image.height() != self.cfg.g_h {
            return Err(Error::InvalidConfig {
                what: "image size differs from the encoder's",
            });
        }
        let mut raw = std::mem::MaybeUninit::<vpx::vpx_image_t>::uninit();
        let base = image.as_bytes().as_ptr().cast_mut();
        // SAFETY: `raw` is writable memory for one vpx_image_t, which vpx_img_wrap clears and
        // fills; `base` points to the image's buffer, alive for this whole function, and libvpx
        // only reads input images.
        let wrapped = unsafe {
            vpx::vpx_img_wrap(
                raw.as_mut_ptr(),
                vpx::vpx_img_fmt::VPX_IMG_FMT_I420,
                image.width(),
                image.height(),
                1,
                base,
            )
        };
        if wrapped.is_null() {
            return Err(Error::Codec {
                op: "vpx_img_wrap",
                code: -1,
            });
        }
        // SAFETY: vpx_img_wrap succeeded, so it initialised every field. The plane pointers and
        // strides are then set to the packed layout of `I420Image`, whose plane lengths the
        // type guarantees for its width and height.
        let mut img = unsafe { raw.assume_init() };
        let y_len = image.y().len();
        let c_len = image.u().len();
        img.planes[0] = image.y().as_ptr().cast_mut();
        img.planes[1] = image.u().as_ptr().cast_mut();
        img.planes[2] = image.v().as_ptr().cast_mut();
        img.stride[0] = image.width() as c_int;
        img.stride[1] = image.chroma_width() as c_int;
        img.stride[2] = image.chroma_width() as c_int;
        debug_assert_eq!(y_len + 2 * c_len, image.as_bytes().len());
        // SAFETY: context initialised; `img` describes memory valid for the call (above);
        // libvpx does not keep the image after vpx_codec_encode returns (lag_in_frames = 0).
        let code = unsafe {
            vpx::vpx_codec_encode(
                &mut *self.ctx,
                &img,
                pts,
                duration as c_ulong,
                flags as vpx::vpx_enc_frame_flags_t,
                vpx::VPX_DL_REALTIME as c_ulong,
            )
        };
        check("vpx_codec_encode", code)?;
        self.drain()
    }

    fn drain(&mut self) -> Result<Vec<RawFrame>, Error> {
        let mut out: Vec<RawFrame> = Vec::new();
        let mut cur = RawFrame::default();
        let mut iter: vpx::vpx_codec_iter_t = ptr::null();
        loop {
            // SAFETY: context initialised; `iter` starts null and is only advanced by libvpx.
            let pkt = unsafe { vpx::vpx_codec_get_cx_data(&mut *self.ctx, &mut iter) };
            // SAFETY: libvpx returns null or a pointer to a packet valid until the next call on
            // this context.
            let Some(pkt) = (unsafe { pkt.as_ref() }) else {
                break;
            };
            if pkt.kind != vpx::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                continue;
            }
            // SAFETY: `kind` is FRAME_PKT, so the `frame` member of the union is the live one.
            let frame = unsafe { pkt.data.frame };
            let bytes: &[u8] = if frame.buf.is_null() || frame.sz == 0 {
                &[]
            } else {
                // SAFETY: libvpx guarantees `buf` points to `sz` readable bytes until the next
                // call on this context; they are copied out at once.
                unsafe { std::slice::from_raw_parts(frame.buf.cast::<u8>(), frame.sz as usize) }
            };
            cur.partitions.push(cur.data.len());
            cur.data.extend_from_slice(bytes);
            cur.pts = frame.pts;
            cur.key_frame |= frame.flags & vpx::VPX_FRAME_IS_KEY != 0;
            if frame.flags & vpx::VPX_FRAME_IS_FRAGMENT == 0 {
                out.push(std::mem::take(&mut cur));
            }
        }
        if !cur.data.is_empty() {
            out.push(cur);
        }
        for f in &mut out {
            // Empty fragments would give repeated offsets.
            f.partitions.dedup();
            let len = f.data.len();
            f.partitions.retain(|p| *p < len || *p == 0);
        }
        Ok(out)
    }
}

impl Drop for EncCtx {
    fn drop(&mut self) {
        // SAFETY: the context was initialised in `new` and is destroyed exactly once, here.
        unsafe {
            vpx::vpx_codec_destroy(&mut *self.ctx);
        }
    }
}

/// An initialised libvpx VP8 decoder.
pub(crate) struct DecCtx {
    ctx: Box<vpx::vpx_codec_ctx_t>,
}

impl std::fmt::Debug for DecCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecCtx").finish_non_exhaustive()
    }
}

impl DecCtx {
    pub(crate) fn new(threads: u32) -> Result<Self, Error> {
        // SAFETY: zeroed bytes are the documented "not yet initialised" state of a context.
        let mut ctx: Box<vpx::vpx_codec_ctx_t> = Box::new(unsafe { std::mem::zeroed() });
        let cfg = vpx::vpx_codec_dec_cfg_t {
            threads: threads as c_uint,
            w: 0,
            h: 0,
        };
        // SAFETY: `ctx` is a valid boxed struct stored in `Self`; `cfg` is read during the
        // call only; the ABI version is the one the bindings were generated for.
        let code = unsafe {
            vpx::vpx_codec_dec_init_ver(
                &mut *ctx,
                vpx::vpx_codec_vp8_dx(),
                &cfg,
                0,
                vpx::VPX_DECODER_ABI_VERSION as c_int,
            )
        };
        check("vpx_codec_dec_init", code)?;
        Ok(Self { ctx })
    }

    pub(crate) fn decode(&mut self, data: &[u8]) -> Result<Vec<I420Image>, Error> {
        let len = c_uint::try_from(data.len()).map_err(|_| Error::FrameBytesExceeded {
            len: data.len(),
            max: c_uint::MAX as usize,
        })?;
        // SAFETY: context initialised; `data` is valid for `len` bytes during the call and
        // libvpx (no frame-parallel mode) does not keep it.
        let code = unsafe {
            vpx::vpx_codec_decode(&mut *self.ctx, data.as_ptr(), len, ptr::null_mut(), 0)
        };
        check("vpx_codec_decode", code)?;
        let mut out = Vec::new();
        let mut iter: vpx::vpx_codec_iter_t = ptr::null();
        loop {
            // SAFETY: context initialised; `iter` starts null and is only advanced by libvpx.
            let img = unsafe { vpx::vpx_codec_get_frame(&mut *self.ctx, &mut iter) };
            // SAFETY: null or an image valid until the next decode call on this context.
            let Some(img) = (unsafe { img.as_ref() }) else {
                break;
            };
            out.push(copy_image(img)?);
        }
        Ok(out)
    }
}

fn copy_image(img: &vpx::vpx_image_t) -> Result<I420Image, Error> {
    if img.fmt != vpx::vpx_img_fmt::VPX_IMG_FMT_I420 {
        return Err(Error::Codec {
            op: "vpx_codec_get_frame (format not I420)",
            code: img.fmt as i32,
        });
    }
    let (w, h) = (img.d_w, img.d_h);
    let mut out = I420Image::black(w, h);
    let (cw, ch) = (out.chroma_width() as usize, out.chroma_height() as usize);
    let (py, pu, pv) = out.planes_mut();
    for (plane, dst, pw, ph) in [
        (0usize, py, w as usize, h as usize),
        (1, pu, cw, ch),
        (2, pv, cw, ch),
    ] {
        let (Some(&src), Some(&stride)) = (img.planes.get(plane), img.stride.get(plane)) else {
            continue;
        };
        let stride = usize::try_from(stride).unwrap_or(0);
        if src.is_null() || stride < pw {
            return Err(Error::Codec {
                op: "vpx_codec_get_frame (bad plane)",
                code: -1,
            });
        }
        for (row, line) in dst.chunks_mut(pw).take(ph).enumerate() {
            // SAFETY: libvpx's decoded plane holds at least `ph` rows of `stride >= pw` bytes
            // starting at `src`, valid until the next call on this context.
            let s = unsafe { std::slice::from_raw_parts(src.add(row * stride), pw) };
            line.copy_from_slice(s);
        }
    }
    Ok(out)
}

impl Drop for DecCtx {
    fn drop(&mut self) {
        // SAFETY: the context was initialised in `new` and is destroyed exactly once, here.
        unsafe {
            vpx::vpx_codec_destroy(&mut *self.ctx);
        }
    }
}
