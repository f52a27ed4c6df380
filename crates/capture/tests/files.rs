//! File and synthetic sources end to end: WAV against a third-party file, WAV and Y4M
//! round trips, synthetic sources through the file sinks, pixel-format conversion fixtures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Cursor;
use std::time::Duration;

use tern_capture::convert::to_i420;
use tern_capture::{
    AudioFormat, AudioSink, AudioSource, ColourBarsSource, Error, PixelFormat, SampleFormat,
    Samples, Tone, ToneSource, VideoFrame, VideoSink, VideoSource, WavReader, WavWriter, Y4mReader,
    Y4mWriter,
};

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn read_all_audio(src: &mut impl AudioSource) -> (Vec<Samples>, u64) {
    let mut blocks = Vec::new();
    let mut next = 0u64;
    while let Some(f) = src.read_frame().unwrap() {
        assert_eq!(f.first_sample, next, "sample clock is contiguous");
        next += f.frames() as u64;
        blocks.push(f.samples);
    }
    (blocks, next)
}

/// CPython's `Lib/test/audiodata/pluck-pcm16.wav`: stereo 11025 Hz, a LIST chunk before
/// `data`. Expected values from Python's `wave` module (an independent reader).
#[test]
fn wav_reads_cpython_pluck_pcm16_like_pythons_wave_module() {
    let bytes = vector("cpython-audiodata-pluck-pcm16.wav");
    let mut r = WavReader::new(&bytes[..]).unwrap();
    assert_eq!(
        r.format(),
        AudioFormat {
            sample_rate: 11_025,
            channels: 2,
            sample_format: SampleFormat::I16
        }
    );
    let (blocks, frames) = read_all_audio(&mut r);
    assert_eq!(frames, 3307);
    // 10 ms blocks: 110 sample frames each, the last one shorter.
    assert!(blocks.iter().rev().skip(1).all(|b| b.len() == 220));
    let s: Vec<i16> = blocks.iter().flat_map(Samples::to_i16).collect();
    assert_eq!(s.len(), 6614);
    assert_eq!(&s[..6], &[558, -22, 19292, 249, 12564, 1263]);
    assert_eq!(&s[s.len() - 4..], &[-817, 19, 3, -2]);
    assert_eq!(s.iter().map(|v| i64::from(*v)).sum::<i64>(), -463_547);
    assert_eq!(
        s.iter().map(|v| i64::from(*v).abs()).sum::<i64>(),
        22_064_211
    );
}

/// CPython's `pluck-pcm24-ext.wav` (WAVE_FORMAT_EXTENSIBLE, 24-bit): refused with a reason.
#[test]
fn wav_refuses_24_bit_extensible_with_a_reason() {
    let bytes = vector("cpython-audiodata-pluck-pcm24-ext.wav");
    let e = WavReader::new(&bytes[..]).unwrap_err();
    assert!(matches!(e, Error::InvalidWav { what } if what.contains("16-bit")));
}

#[test]
fn wav_round_trip_i16_and_f32() {
    for sample_format in [SampleFormat::I16, SampleFormat::F32] {
        let mut tone = ToneSource::new(Tone::SpeechLike, 16_000, 2, sample_format)
            .unwrap()
            .with_length(16_000);
        let mut w = WavWriter::new(Cursor::new(Vec::new()), tone.format()).unwrap();
        let mut written = Vec::new();
        while let Some(f) = tone.read_frame().unwrap() {
            w.write_frame(&f).unwrap();
            written.push(f.samples);
        }
        let bytes = w.finish().unwrap().into_inner();
        // RIFF size = file − 8; data size = samples × bytes per sample.
        let per = if sample_format == SampleFormat::I16 {
            2
        } else {
            4
        };
        assert_eq!(bytes.len(), 44 + 16_000 * 2 * per);
        assert_eq!(
            u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize,
            bytes.len() - 8
        );
        let mut r = WavReader::new(&bytes[..]).unwrap();
        assert_eq!(r.format(), tone.format());
        let (read, frames) = read_all_audio(&mut r);
        assert_eq!(frames, 16_000);
        assert_eq!(read, written, "{sample_format:?} samples survive the file");
    }
}

#[test]
fn wav_with_streaming_size_reads_to_the_end() {
    // Writers that stream (ffmpeg to a pipe) leave the data size at 0 or 0xFFFFFFFF.
    let format = AudioFormat {
        sample_rate: 8000,
        channels: 1,
        sample_format: SampleFormat::I16,
    };
    let mut w = WavWriter::new(Cursor::new(Vec::new()), format).unwrap();
    let block = tern_capture::AudioFrame {
        sample_rate: 8000,
        channels: 1,
        first_sample: 0,
        samples: Samples::I16((0..200).collect()),
    };
    w.write_frame(&block).unwrap();
    let mut bytes = w.finish().unwrap().into_inner();
    bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    let (read, frames) = read_all_audio(&mut WavReader::new(&bytes[..]).unwrap());
    assert_eq!(frames, 200);
    assert_eq!(
        read.iter().flat_map(Samples::to_i16).collect::<Vec<_>>(),
        (0..200).collect::<Vec<i16>>()
    );
}

#[test]
fn tone_is_sample_clocked_and_has_its_frequency() {
    let mut t = ToneSource::new(Tone::Sine(1000.0), 48_000, 1, SampleFormat::F32)
        .unwrap()
        .with_length(48_000);
    let (blocks, frames) = read_all_audio(&mut t);
    assert_eq!(frames, 48_000);
    assert_eq!(blocks.len(), 100, "10 ms blocks");
    let s: Vec<f32> = blocks.iter().flat_map(Samples::to_f32).collect();
    // 1 kHz for 1 s: 2000 zero crossings (±1 at the ends).
    let crossings = s
        .windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count();
    assert!((1999..=2001).contains(&crossings), "{crossings}");
    let peak = s.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!((0.49..=0.5).contains(&peak), "{peak}");
}

#[test]
fn colour_bars_through_y4m_keep_their_counter_and_timestamps() {
    let mut bars = ColourBarsSource::new(176, 144, 30.0)
        .unwrap()
        .with_length(40);
    let mut w = Y4mWriter::new(Vec::new(), 176, 144, 30.0).unwrap();
    let mut frames = Vec::new();
    while let Some(f) = bars.read_frame().unwrap() {
        w.write_frame(&f).unwrap();
        frames.push(f);
    }
    let bytes = w.into_inner();
    assert!(bytes.starts_with(b"YUV4MPEG2 W176 H144 F30:1 "));
    let mut r = Y4mReader::new(&bytes[..]).unwrap();
    assert_eq!(r.format().frame_rate, 30.0);
    let mut i = 0u16;
    while let Some(f) = r.read_frame().unwrap() {
        assert_eq!(f.data, frames[usize::from(i)].data);
        assert_eq!(ColourBarsSource::read_counter(&f), Some(i));
        assert_eq!(
            f.timestamp,
            Duration::from_nanos(u64::from(i) * 1_000_000_000 / 30)
        );
        i += 1;
    }
    assert_eq!(i, 40);
}

#[test]
fn y4m_ntsc_rate_and_odd_size_round_trip() {
    // 29.97 fps is written as 30000:1001; odd sizes round the chroma planes up.
    let mut bars = ColourBarsSource::new(33, 17, 30_000.0 / 1001.0)
        .unwrap()
        .with_length(3);
    let mut w = Y4mWriter::new(Vec::new(), 33, 17, 30_000.0 / 1001.0).unwrap();
    while let Some(f) = bars.read_frame().unwrap() {
        assert_eq!(f.data.len(), 33 * 17 + 2 * 17 * 9);
        w.write_frame(&f).unwrap();
    }
    let bytes = w.into_inner();
    assert!(bytes.starts_with(b"YUV4MPEG2 W33 H17 F30000:1001 "));
    let mut r = Y4mReader::new(&bytes[..]).unwrap();
    let f: Vec<VideoFrame> = std::iter::from_fn(|| r.read_frame().unwrap()).collect();
    assert_eq!(f.len(), 3);
    assert_eq!(
        f[2].timestamp,
        Duration::from_nanos(2 * 1001 * 1_000_000_000 / 30_000)
    );
}

#[test]
fn y4m_header_variants_from_other_writers() {
    // ffmpeg writes C420mpeg2 XYSCSS=420MPEG2; x264/vpxenc write C420jpeg or no C at all;
    // frame headers may carry parameters after FRAME.
    for header in [
        "YUV4MPEG2 W4 H2 F25:1 Ip A0:0 C420mpeg2 XYSCSS=420MPEG2\n",
        "YUV4MPEG2 W4 H2 F25:1\n",
        "YUV4MPEG2 H2 W4 F25:1 C420paldv I?\n",
    ] {
        let mut file = header.as_bytes().to_vec();
        file.extend_from_slice(b"FRAME Ixyz\n");
        file.extend((0..12).map(|i| i as u8));
        let mut r = Y4mReader::new(&file[..]).unwrap();
        let f = r.read_frame().unwrap().unwrap();
        assert_eq!((f.width, f.height, f.data.len()), (4, 2, 12), "{header}");
        assert!(r.read_frame().unwrap().is_none());
    }
}

/// A 4×2 YUYV frame and the I420 a camera pipeline must produce: luma copied, the two rows'
/// chroma averaged (rounding up), the same rule libyuv's YUY2ToI420 applies.
#[test]
fn yuyv_fixture_converts_to_i420() {
    let yuyv = vec![
        16, 100, 40, 200, 60, 101, 80, 201, // row 0: Y0 U Y1 V Y2 U Y3 V
        90, 110, 100, 210, 120, 111, 235, 220, // row 1
    ];
    let f = VideoFrame::new(PixelFormat::Yuyv, 4, 2, Duration::ZERO, yuyv).unwrap();
    let out = to_i420(&f).unwrap();
    assert_eq!(out.format, PixelFormat::I420);
    assert_eq!(
        out.data,
        vec![16, 40, 60, 80, 90, 100, 120, 235, 105, 106, 205, 211]
    );
}

#[test]
fn nv12_fixture_converts_to_i420_and_odd_widths_work() {
    // 3×3 NV12: 9 luma bytes, then 2×2 interleaved U/V pairs.
    let mut nv12: Vec<u8> = (1..=9).collect();
    nv12.extend_from_slice(&[10, 20, 11, 21, 12, 22, 13, 23]);
    let f = VideoFrame::new(PixelFormat::Nv12, 3, 3, Duration::ZERO, nv12).unwrap();
    let out = to_i420(&f).unwrap();
    assert_eq!(
        out.data,
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 20, 21, 22, 23]
    );
    // YUYV with an odd width: the last macropixel carries one real pixel.
    let yuyv = vec![50, 128, 60, 128, 70, 90, 0, 150];
    let f = VideoFrame::new(PixelFormat::Yuyv, 3, 1, Duration::ZERO, yuyv).unwrap();
    assert_eq!(
        to_i420(&f).unwrap().data,
        vec![50, 60, 70, 128, 90, 128, 150]
    );
}

#[test]
fn converted_bars_survive_yuyv_and_nv12() {
    // I420 → YUYV/NV12 (by hand) → I420 is lossless for bars whose chroma is constant over
    // each 2×2 block, as the synthetic source's is.
    let mut bars = ColourBarsSource::new(64, 32, 30.0).unwrap();
    let f = bars.read_frame().unwrap().unwrap();
    let (w, h) = (64usize, 32usize);
    let (y, uv) = f.data.split_at(w * h);
    let (u, v) = uv.split_at(w * h / 4);
    let mut nv12 = y.to_vec();
    for (a, b) in u.iter().zip(v) {
        nv12.extend([*a, *b]);
    }
    let mut yuyv = Vec::new();
    for row in 0..h {
        for cx in 0..w / 2 {
            let c = (row / 2) * (w / 2) + cx;
            yuyv.extend([y[row * w + 2 * cx], u[c], y[row * w + 2 * cx + 1], v[c]]);
        }
    }
    for (fmt, data) in [(PixelFormat::Nv12, nv12), (PixelFormat::Yuyv, yuyv)] {
        let g = VideoFrame::new(fmt, 64, 32, f.timestamp, data).unwrap();
        assert_eq!(to_i420(&g).unwrap(), f, "{fmt:?}");
    }
}

/// libjpeg-turbo's decoding (`*.ycbcr444`, made by `tests/vectors/make_mjpeg.c`) as I420:
/// luma as is, chroma averaged over 2×2.
fn reference_i420(name: &str) -> Vec<u8> {
    let px = vector(name);
    let (w, h) = (64usize, 48usize);
    let mut out: Vec<u8> = px.chunks_exact(3).map(|p| p[0]).collect();
    for k in [1, 2] {
        for cy in 0..h / 2 {
            for cx in 0..w / 2 {
                let at = |x: usize, y: usize| u16::from(px[3 * (y * w + x) + k]);
                let s = at(2 * cx, 2 * cy)
                    + at(2 * cx + 1, 2 * cy)
                    + at(2 * cx, 2 * cy + 1)
                    + at(2 * cx + 1, 2 * cy + 1);
                out.push(((s + 2) / 4) as u8);
            }
        }
    }
    out
}

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a
        .iter()
        .zip(b)
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2))
        .sum::<f64>()
        / a.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// MJPEG frames as cameras send them, decoded to I420 and compared with libjpeg-turbo's
/// decoding of the same files (different IDCT and chroma upsampling: close, not identical).
#[test]
fn mjpeg_fixtures_decode_like_libjpeg_turbo() {
    for (file, reference) in [
        (
            "libjpeg-turbo-pattern-64x48-422.jpg",
            "libjpeg-turbo-pattern-64x48-422.ycbcr444",
        ),
        (
            "uvc-style-pattern-64x48-422-no-dht.mjpeg",
            "libjpeg-turbo-pattern-64x48-422.ycbcr444",
        ),
        (
            "libjpeg-turbo-pattern-64x48-420.jpg",
            "libjpeg-turbo-pattern-64x48-420.ycbcr444",
        ),
    ] {
        let f = VideoFrame::new(PixelFormat::Mjpeg, 64, 48, Duration::ZERO, vector(file)).unwrap();
        let ours = to_i420(&f).unwrap();
        assert_eq!(ours.format, PixelFormat::I420);
        let want = reference_i420(reference);
        let (y, c) = ours.data.split_at(64 * 48);
        let (wy, wc) = want.split_at(64 * 48);
        let (py, pc) = (psnr(y, wy), psnr(c, wc));
        let max_y = y.iter().zip(wy).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        println!("{file}: PSNR-Y {py:.1} dB (max diff {max_y}), PSNR-CbCr {pc:.1} dB");
        assert!(
            py > 45.0 && max_y <= 3,
            "{file}: luma {py} dB, max diff {max_y}"
        );
        assert!(pc > 38.0, "{file}: chroma {pc} dB");
    }
    // The UVC frame without Huffman tables decodes exactly as the file that has them.
    let with = VideoFrame::new(
        PixelFormat::Mjpeg,
        64,
        48,
        Duration::ZERO,
        vector("libjpeg-turbo-pattern-64x48-422.jpg"),
    )
    .unwrap();
    let without = VideoFrame {
        data: vector("uvc-style-pattern-64x48-422-no-dht.mjpeg"),
        ..with.clone()
    };
    assert_eq!(to_i420(&with).unwrap(), to_i420(&without).unwrap());
}
