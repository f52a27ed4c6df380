//! PERF.md: VP8 engine overhead over raw libvpx encode+decode at 640×480 (goal ≤ 5 %), both
//! measured in one run on the same frames with the same libvpx configuration; and
//! capture-to-encoded latency on the synthetic source (colour bars → I420 → encode →
//! RTP payloads at MTU 1200).
//!
//! `cargo bench -p tern-vp8-engine --bench engine_overhead`
#![allow(missing_docs)] // criterion_main! generates an undocumented `main`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// The raw side calls libvpx directly: that is the baseline being measured.
#![allow(unsafe_code)]

use std::hint::black_box;
use std::os::raw::{c_int, c_long, c_uint, c_ulong};
use std::ptr;

use criterion::{Criterion, criterion_group, criterion_main};
use tern_capture::{ColourBarsSource, VideoSource};
use tern_vp8_engine::{
    EncoderConfig, I420Image, PacketizerConfig, Vp8Decoder, Vp8Encoder, Vp8Packetizer,
};
use vpx_sys as vpx;

const W: u32 = 640;
const H: u32 = 480;
const KBPS: u32 = 1000;
const FRAMES: usize = 30;

/// Colour bars plus deterministic texture on every other row, so the encoder does real work
/// (flat bars alone cost almost nothing and would inflate any fixed overhead).
fn frames() -> Vec<I420Image> {
    (0..FRAMES as u64)
        .map(|i| {
            let mut img = I420Image::colour_bars(W, H, i);
            let (y, _, _) = img.planes_mut();
            let mut s = 0x9e37_79b9u32 ^ (i as u32).wrapping_mul(2_654_435_761);
            for (k, p) in y.iter_mut().enumerate() {
                if (k / W as usize).is_multiple_of(2) {
                    s ^= s << 13;
                    s ^= s >> 17;
                    s ^= s << 5;
                    *p = p.saturating_add((s & 15) as u8);
                }
            }
            img
        })
        .collect()
}

/// libvpx driven directly with the configuration `EncoderConfig::new` produces (one-pass CBR,
/// no lag, error resilient, cpu-used −6, one token partition, undershoot 100 %, overshoot
/// 15 %, buffers 500/600/1000 ms, frame dropping at 30, key frames at most every 3000,
/// partition output, max intra 900 %). No copies: packets are concatenated into a reused
/// buffer and the decoded image is only touched.
struct RawLibvpx {
    enc: Box<vpx::vpx_codec_ctx_t>,
    dec: Box<vpx::vpx_codec_ctx_t>,
    frame: Vec<u8>,
}

impl RawLibvpx {
    fn new() -> Self {
        unsafe {
            let mut cfg = std::mem::MaybeUninit::<vpx::vpx_codec_enc_cfg_t>::uninit();
            assert_eq!(
                vpx::vpx_codec_enc_config_default(vpx::vpx_codec_vp8_cx(), cfg.as_mut_ptr(), 0),
                vpx::vpx_codec_err_t::VPX_CODEC_OK
            );
            let mut cfg = cfg.assume_init();
            cfg.g_w = W;
            cfg.g_h = H;
            cfg.g_threads = 1;
            cfg.g_timebase = vpx::vpx_rational {
                num: 1,
                den: 90_000,
            };
            cfg.g_lag_in_frames = 0;
            cfg.g_pass = vpx::vpx_enc_pass::VPX_RC_ONE_PASS;
            cfg.g_error_resilient = vpx::VPX_ERROR_RESILIENT_DEFAULT;
            cfg.rc_end_usage = vpx::vpx_rc_mode::VPX_CBR;
            cfg.rc_target_bitrate = KBPS;
            cfg.rc_min_quantizer = 2;
            cfg.rc_max_quantizer = 56;
            cfg.rc_undershoot_pct = 100;
            cfg.rc_overshoot_pct = 15;
            cfg.rc_buf_initial_sz = 500;
            cfg.rc_buf_optimal_sz = 600;
            cfg.rc_buf_sz = 1000;
            cfg.rc_dropframe_thresh = 30;
            cfg.rc_resize_allowed = 0;
            cfg.kf_mode = vpx::vpx_kf_mode::VPX_KF_AUTO;
            cfg.kf_min_dist = 0;
            cfg.kf_max_dist = 3000;
            cfg.ts_number_layers = 1;
            cfg.ts_target_bitrate = [KBPS, 0, 0, 0, 0];
            cfg.ts_rate_decimator = [1, 0, 0, 0, 0];
            cfg.ts_periodicity = 1;
            cfg.ts_layer_id = [0; 16];
            let mut enc: Box<vpx::vpx_codec_ctx_t> = Box::new(std::mem::zeroed());
            assert_eq!(
                vpx::vpx_codec_enc_init_ver(
                    &mut *enc,
                    vpx::vpx_codec_vp8_cx(),
                    &cfg,
                    vpx::VPX_CODEC_USE_OUTPUT_PARTITION as c_long,
                    vpx::VPX_ENCODER_ABI_VERSION as c_int,
                ),
                vpx::vpx_codec_err_t::VPX_CODEC_OK
            );
            use vpx::vp8e_enc_control_id::*;
            for (id, v) in [
                (VP8E_SET_CPUUSED, -6),
                (VP8E_SET_TOKEN_PARTITIONS, 0),
                (VP8E_SET_NOISE_SENSITIVITY, 0),
                (VP8E_SET_STATIC_THRESHOLD, 1),
                (VP8E_SET_MAX_INTRA_BITRATE_PCT, 900),
            ] {
                assert_eq!(
                    vpx::vpx_codec_control_(&mut *enc, id as c_int, v as c_int),
                    vpx::vpx_codec_err_t::VPX_CODEC_OK
                );
            }
            let mut dec: Box<vpx::vpx_codec_ctx_t> = Box::new(std::mem::zeroed());
            let dcfg = vpx::vpx_codec_dec_cfg_t {
                threads: 1,
                w: 0,
                h: 0,
            };
            assert_eq!(
                vpx::vpx_codec_dec_init_ver(
                    &mut *dec,
                    vpx::vpx_codec_vp8_dx(),
                    &dcfg,
                    0,
                    vpx::VPX_DECODER_ABI_VERSION as c_int,
                ),
                vpx::vpx_codec_err_t::VPX_CODEC_OK
            );
            Self {
                enc,
                dec,
                frame: Vec::with_capacity(1 << 20),
            }
        }
    }

    /// Encodes one image and decodes what came out; returns the encoded size and a byte of
    /// the decoded image.
    fn encode_decode(&mut self, image: &mut I420Image, pts: i64) -> (usize, u8) {
        unsafe {
            let mut img = std::mem::MaybeUninit::<vpx::vpx_image_t>::uninit();
            let (y, u, v) = image.planes_mut();
            let planes = [y.as_mut_ptr(), u.as_mut_ptr(), v.as_mut_ptr()];
            assert!(
                !vpx::vpx_img_wrap(
                    img.as_mut_ptr(),
                    vpx::vpx_img_fmt::VPX_IMG_FMT_I420,
                    W,
                    H,
                    1,
                    planes[0]
                )
                .is_null()
            );
            let mut img = img.assume_init();
            img.planes[0] = planes[0];
            img.planes[1] = planes[1];
            img.planes[2] = planes[2];
            img.stride = [W as c_int, (W / 2) as c_int, (W / 2) as c_int, 0];
            assert_eq!(
                vpx::vpx_codec_encode(
                    &mut *self.enc,
                    &img,
                    pts,
                    3000,
                    0,
                    vpx::VPX_DL_REALTIME as c_ulong
                ),
                vpx::vpx_codec_err_t::VPX_CODEC_OK
            );
            self.frame.clear();
            let mut iter: vpx::vpx_codec_iter_t = ptr::null();
            loop {
                let pkt = vpx::vpx_codec_get_cx_data(&mut *self.enc, &mut iter);
                let Some(pkt) = pkt.as_ref() else { break };
                if pkt.kind != vpx::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                    continue;
                }
                let f = pkt.data.frame;
                self.frame.extend_from_slice(std::slice::from_raw_parts(
                    f.buf.cast::<u8>(),
                    f.sz as usize,
                ));
            }
            if self.frame.is_empty() {
                return (0, 0); // dropped by the rate control
            }
            assert_eq!(
                vpx::vpx_codec_decode(
                    &mut *self.dec,
                    self.frame.as_ptr(),
                    self.frame.len() as c_uint,
                    ptr::null_mut(),
                    0
                ),
                vpx::vpx_codec_err_t::VPX_CODEC_OK
            );
            let mut iter: vpx::vpx_codec_iter_t = ptr::null();
            let out = vpx::vpx_codec_get_frame(&mut *self.dec, &mut iter);
            (self.frame.len(), out.as_ref().map_or(0, |o| *o.planes[0]))
        }
    }
}

impl Drop for RawLibvpx {
    fn drop(&mut self) {
        unsafe {
            vpx::vpx_codec_destroy(&mut *self.enc);
            vpx::vpx_codec_destroy(&mut *self.dec);
        }
    }
}

/// The two pipelines fed the same frames alternately (the order swapped every frame), so a
/// shared, noisy machine slows both alike: prints the medians and the ratio of total times.
#[allow(clippy::disallowed_methods)] // a benchmark reads the clock
fn interleaved_ratio(images: &[I420Image], rounds: usize) {
    use std::time::{Duration, Instant};
    let mut raw_images = images.to_vec();
    let mut raw = RawLibvpx::new();
    let mut enc = Vp8Encoder::new(EncoderConfig::new(W, H, KBPS)).unwrap();
    let mut dec = Vp8Decoder::new(1).unwrap();
    let (mut t_raw, mut t_eng) = (Vec::new(), Vec::new());
    let mut ratios = Vec::new();
    let mut size_mismatches = 0;
    for i in 0..rounds {
        let k = i % FRAMES;
        let mut raw_len = 0;
        let mut eng_len = 0;
        let mut run_raw = || {
            let t = Instant::now();
            raw_len = black_box(raw.encode_decode(&mut raw_images[k], (i as i64) * 3000)).0;
            t.elapsed()
        };
        let mut run_engine = || {
            let t = Instant::now();
            for f in enc.encode(&images[k], (i as u64) * 3000).unwrap() {
                eng_len += f.data.len();
                black_box(dec.decode(&f.data).unwrap());
            }
            t.elapsed()
        };
        let (r, e) = if i % 2 == 0 {
            let r = run_raw();
            (r, run_engine())
        } else {
            let e = run_engine();
            (run_raw(), e)
        };
        // Same configuration, same input, one thread: the bitstreams must be identical, or
        // the comparison would not be like for like.
        if raw_len != eng_len {
            size_mismatches += 1;
        }
        t_raw.push(r);
        t_eng.push(e);
        ratios.push(e.as_secs_f64() / r.as_secs_f64().max(1e-9));
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    ratios.sort_by(f64::total_cmp);
    let (sum_raw, sum_eng): (Duration, Duration) = (t_raw.iter().sum(), t_eng.iter().sum());
    println!(
        "vp8_640x480 interleaved over {rounds} frames ({size_mismatches} with different encoded sizes): raw libvpx median {:?}, tern engine median {:?}; per-frame engine/raw median {:.3} (overhead {:+.1} %), totals {:.3}",
        median(&mut t_raw),
        median(&mut t_eng),
        ratios[ratios.len() / 2],
        (ratios[ratios.len() / 2] - 1.0) * 100.0,
        sum_eng.as_secs_f64() / sum_raw.as_secs_f64(),
    );
}

fn engine_overhead(c: &mut Criterion) {
    let images = frames();
    interleaved_ratio(&images, 600);
    let mut g = c.benchmark_group("vp8_640x480_encode_decode");
    g.sample_size(60);

    let mut raw_images = images.clone();
    let mut raw = RawLibvpx::new();
    let mut i = 0usize;
    g.bench_function("raw_libvpx", |b| {
        b.iter(|| {
            let k = i % FRAMES;
            let out = raw.encode_decode(&mut raw_images[k], (i as i64) * 3000);
            i += 1;
            black_box(out)
        });
    });

    let mut enc = Vp8Encoder::new(EncoderConfig::new(W, H, KBPS)).unwrap();
    let mut dec = Vp8Decoder::new(1).unwrap();
    let mut i = 0usize;
    g.bench_function("tern_engine", |b| {
        b.iter(|| {
            let img = &images[i % FRAMES];
            let mut out = 0u8;
            for f in enc.encode(img, (i as u64) * 3000).unwrap() {
                if let Some(d) = dec.decode(&f.data).unwrap() {
                    out = d.y()[0];
                }
            }
            i += 1;
            black_box(out)
        });
    });
    g.finish();
}

fn capture_to_encoded(c: &mut Criterion) {
    let mut g = c.benchmark_group("vp8_capture_to_encoded_640x480");
    g.sample_size(60);
    let mut bars = ColourBarsSource::new(W, H, 30.0).unwrap();
    let mut enc = Vp8Encoder::new(EncoderConfig::new(W, H, KBPS)).unwrap();
    let mut packetizer = Vp8Packetizer::new(PacketizerConfig::default());
    let mut i = 0u64;
    // One frame's path from the synthetic camera to RTP payloads: the latency a frame adds
    // before the pacer (sample-clocked source, so no waiting on a device is included).
    g.bench_function("colour_bars_to_rtp_payloads", |b| {
        b.iter(|| {
            let frame = bars.read_frame().unwrap().unwrap();
            let image = I420Image::from_vec(frame.width, frame.height, frame.data).unwrap();
            let mut payloads = 0usize;
            for f in enc.encode(&image, i * 3000).unwrap() {
                payloads += packetizer.packetize(&f.to_send()).unwrap().len();
            }
            i += 1;
            black_box(payloads)
        });
    });
    g.finish();
}

criterion_group!(benches, engine_overhead, capture_to_encoded);
criterion_main!(benches);
