//! BAD_INPUT.md row 38, capture parts: malformed files, impossible formats, format changes
//! mid-stream and missing or wrong devices give typed errors — never a panic, never an
//! allocation the input did not pay for.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Cursor;
use std::time::Duration;

use proptest::prelude::*;
use tern_capture::constraints::{
    AudioConstraints, Constrain, VideoConstraints, select_audio, select_video,
};
use tern_capture::convert::to_i420;
use tern_capture::{
    AudioFormat, AudioFrame, AudioSink, AudioSource, ColourBarsSource, Error, PixelFormat,
    SampleFormat, Samples, Tone, ToneSource, VideoFormat, VideoFrame, VideoSink, VideoSource,
    WavReader, WavWriter, Y4mReader, Y4mWriter,
};

fn small_wav() -> Vec<u8> {
    let format = AudioFormat {
        sample_rate: 8000,
        channels: 1,
        sample_format: SampleFormat::I16,
    };
    let mut w = WavWriter::new(Cursor::new(Vec::new()), format).unwrap();
    w.write_frame(&AudioFrame {
        sample_rate: 8000,
        channels: 1,
        first_sample: 0,
        samples: Samples::I16(vec![1, -2, 3, -4]),
    })
    .unwrap();
    w.finish().unwrap().into_inner()
}

fn drain_audio(bytes: &[u8]) -> Result<usize, Error> {
    let mut r = WavReader::new(bytes)?;
    let mut n = 0;
    while let Some(f) = r.read_frame()? {
        n += f.samples.len();
    }
    Ok(n)
}

fn drain_video(bytes: &[u8]) -> Result<usize, Error> {
    let mut r = Y4mReader::new(bytes)?;
    let mut n = 0;
    while r.read_frame()?.is_some() {
        n += 1;
    }
    Ok(n)
}

#[test]
fn bad_input_capture_38_wav_every_truncation_is_a_typed_error() {
    let wav = small_wav();
    assert_eq!(drain_audio(&wav).unwrap(), 4);
    for cut in 0..44 {
        assert!(
            matches!(drain_audio(&wav[..cut]), Err(Error::InvalidWav { .. })),
            "header cut at {cut}"
        );
    }
    // Cut inside the samples: the whole sample frames that are there, nothing invented.
    assert_eq!(drain_audio(&wav[..44 + 5]).unwrap(), 2);
}

#[test]
fn bad_input_capture_38_wav_huge_chunk_sizes_are_refused_without_allocating() {
    let wav = small_wav();
    // An unknown chunk claiming 4 GiB before `fmt `.
    let mut junk = wav[..12].to_vec();
    junk.extend_from_slice(b"junk");
    junk.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    junk.extend_from_slice(&wav[12..]);
    assert!(matches!(
        drain_audio(&junk),
        Err(Error::InvalidWav { what }) if what.contains("1 MiB")
    ));
    // A fmt chunk claiming 4 GiB.
    let mut fmt = wav.clone();
    fmt[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(drain_audio(&fmt), Err(Error::InvalidWav { .. })));
    // A data chunk claiming 4 GiB in a 52-byte file reads what is there.
    let mut data = wav.clone();
    data[40..44].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    assert_eq!(drain_audio(&data).unwrap(), 4);
}

#[test]
fn bad_input_capture_38_wav_impossible_formats() {
    let wav = small_wav();
    let patch = |at: usize, bytes: &[u8]| {
        let mut w = wav.clone();
        w[at..at + bytes.len()].copy_from_slice(bytes);
        w
    };
    for (what, file) in [
        ("zero channels", patch(22, &0u16.to_le_bytes())),
        ("zero rate", patch(24, &0u32.to_le_bytes())),
        ("8-bit", patch(34, &8u16.to_le_bytes())),
        ("A-law", patch(20, &6u16.to_le_bytes())),
        ("not WAVE", patch(8, b"AVI ")),
        ("data before fmt", patch(12, b"xxxx")),
    ] {
        assert!(
            matches!(drain_audio(&file), Err(Error::InvalidWav { .. })),
            "{what}"
        );
    }
}

#[test]
fn bad_input_capture_38_y4m_malformed_headers() {
    for (what, header) in [
        ("empty", &b""[..]),
        ("no signature", b"YUV4MPEG W4 H2\n"),
        ("zero width", b"YUV4MPEG2 W0 H2 F30:1\n"),
        ("16383x16383", b"YUV4MPEG2 W16383 H16383 F30:1\n"),
        ("width overflow", b"YUV4MPEG2 W99999999999 H2\n"),
        ("zero rate", b"YUV4MPEG2 W4 H2 F0:1\n"),
        ("zero rate denominator", b"YUV4MPEG2 W4 H2 F30:0\n"),
        ("4:4:4", b"YUV4MPEG2 W4 H2 C444\n"),
        ("interlaced", b"YUV4MPEG2 W4 H2 It\n"),
        ("not UTF-8", b"YUV4MPEG2 W4 H\xff\n"),
        ("no newline", b"YUV4MPEG2 W4 H2"),
        // Found by review: a token starting with a multibyte character used to panic.
        ("multibyte token", "YUV4MPEG2 W4 H2 \u{e9}x\n".as_bytes()),
    ] {
        assert!(
            matches!(drain_video(header), Err(Error::InvalidY4m { .. })),
            "{what}"
        );
    }
    let long = [b"YUV4MPEG2 W4 H2 X".as_slice(), &[b'a'; 4096], b"\n"].concat();
    assert!(matches!(drain_video(&long), Err(Error::InvalidY4m { .. })));
}

#[test]
fn bad_input_capture_38_y4m_8k_header_with_a_short_body_allocates_what_is_there() {
    // The header promises a 50 MB 8K frame; the file holds 100 bytes of it.
    let mut file = b"YUV4MPEG2 W7680 H4320 F30:1\nFRAME\n".to_vec();
    file.extend([0u8; 100]);
    assert!(matches!(
        drain_video(&file),
        Err(Error::InvalidY4m {
            what: "truncated frame"
        })
    ));
    // A frame without its FRAME marker.
    let mut file = b"YUV4MPEG2 W2 H2 F30:1\nFRAME\n".to_vec();
    file.extend([0u8; 6]);
    file.extend(b"FRAMX\n");
    assert!(matches!(drain_video(&file), Err(Error::InvalidY4m { .. })));
}

#[test]
fn bad_input_capture_38_format_change_mid_stream_is_refused_by_sinks() {
    // A source that changes size mid-stream: the Y4M sink refuses the new size (a Y4M file
    // has one size) and keeps the frames it had.
    let mut y4m = Y4mWriter::new(Vec::new(), 64, 48, 30.0).unwrap();
    let small = ColourBarsSource::new(64, 48, 30.0)
        .unwrap()
        .read_frame()
        .unwrap()
        .unwrap();
    let large = ColourBarsSource::new(128, 96, 30.0)
        .unwrap()
        .read_frame()
        .unwrap()
        .unwrap();
    y4m.write_frame(&small).unwrap();
    assert!(matches!(
        y4m.write_frame(&large),
        Err(Error::InvalidParameter { .. })
    ));
    y4m.write_frame(&small).unwrap();
    assert_eq!(drain_video(&y4m.into_inner()).unwrap(), 2);

    // An audio device that switches rate: the WAV sink refuses the block.
    let mut tone = ToneSource::new(Tone::Sine(440.0), 48_000, 1, SampleFormat::I16).unwrap();
    let mut wav = WavWriter::new(Cursor::new(Vec::new()), tone.format()).unwrap();
    wav.write_frame(&tone.read_frame().unwrap().unwrap())
        .unwrap();
    let mut other = ToneSource::new(Tone::Sine(440.0), 44_100, 1, SampleFormat::I16).unwrap();
    assert!(matches!(
        wav.write_frame(&other.read_frame().unwrap().unwrap()),
        Err(Error::InvalidParameter { .. })
    ));
    let bytes = wav.finish().unwrap().into_inner();
    assert_eq!(drain_audio(&bytes).unwrap(), 480);
}

#[test]
fn bad_input_capture_38_frames_that_do_not_match_their_format() {
    for (fmt, w, h, len) in [
        (PixelFormat::I420, 4, 2, 11),
        (PixelFormat::Nv12, 4, 2, 13),
        (PixelFormat::Yuyv, 3, 1, 6),
        (PixelFormat::I420, 0, 2, 0),
        (PixelFormat::Mjpeg, 4, 0, 10),
    ] {
        assert!(
            matches!(
                VideoFrame::new(fmt, w, h, Duration::ZERO, vec![0; len]),
                Err(Error::BadFrameSize { .. })
            ),
            "{fmt:?} {w}x{h} {len}"
        );
        // The public fields can still be filled by hand: conversion re-checks.
        let f = VideoFrame {
            format: fmt,
            width: w,
            height: h,
            timestamp: Duration::ZERO,
            data: vec![0; len],
        };
        assert!(to_i420(&f).is_err());
    }
    let jpeg = VideoFrame::new(PixelFormat::Mjpeg, 4, 2, Duration::ZERO, vec![0xff, 0xd8]).unwrap();
    assert!(matches!(to_i420(&jpeg), Err(Error::InvalidMjpeg { .. })));
}

#[test]
fn bad_input_capture_38_mjpeg_lies_truncation_and_garbage() {
    let good = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/libjpeg-turbo-pattern-64x48-422.jpg"
    ))
    .unwrap();
    let frame = |w, h, data: &[u8]| {
        VideoFrame::new(PixelFormat::Mjpeg, w, h, Duration::ZERO, data.to_vec()).unwrap()
    };
    assert!(to_i420(&frame(64, 48, &good)).is_ok());
    // A camera (or attacker) labelling a 64×48 JPEG as 16×16 or 4096×4096: refused before
    // decoding, so the decoder never sizes buffers from the label.
    for (w, h) in [(16, 16), (4096, 4096), (48, 64)] {
        assert!(matches!(
            to_i420(&frame(w, h, &good)),
            Err(Error::InvalidMjpeg {
                what: "JPEG size differs from the frame's"
            })
        ));
    }
    // Every truncation and a spread of bit flips: a typed error or a picture, never a panic.
    for cut in (0..good.len()).step_by(7) {
        match to_i420(&frame(64, 48, &good[..cut])) {
            Ok(f) => assert_eq!(f.data.len(), 64 * 48 * 3 / 2),
            Err(e) => assert!(matches!(e, Error::InvalidMjpeg { .. }), "{e:?}"),
        }
    }
    for at in (2..good.len()).step_by(11) {
        let mut bad = good.clone();
        bad[at] ^= 0x5a;
        if let Ok(f) = to_i420(&frame(64, 48, &bad)) {
            assert_eq!(f.data.len(), 64 * 48 * 3 / 2);
        }
    }
}

#[test]
fn bad_input_capture_38_impossible_parameters() {
    assert!(ColourBarsSource::new(0, 10, 30.0).is_err());
    assert!(ColourBarsSource::new(10, 10, f64::NAN).is_err());
    assert!(ColourBarsSource::new(10, 10, -1.0).is_err());
    assert!(ToneSource::new(Tone::SpeechLike, 0, 1, SampleFormat::F32).is_err());
    assert!(ToneSource::new(Tone::SpeechLike, 8000, 0, SampleFormat::F32).is_err());
    assert!(ColourBarsSource::new(10, 10, f64::INFINITY).is_err());
    assert!(Y4mWriter::new(Vec::new(), 4, 4, f64::INFINITY).is_err());
    assert!(Y4mWriter::new(Vec::new(), 4, 4, 0.0).is_err());
    // Absurd sizes: typed errors, no overflow, no allocation.
    assert!(ColourBarsSource::new(100_000, 100_000, 30.0).is_err());
    for fmt in [PixelFormat::I420, PixelFormat::Nv12, PixelFormat::Yuyv] {
        assert!(matches!(
            VideoFrame::new(fmt, u32::MAX, u32::MAX, Duration::ZERO, vec![0; 64]),
            Err(Error::BadFrameSize { .. })
        ));
    }
    // Float samples outside ±1, NaN and infinities clamp on their way to 16 bits.
    let s = Samples::F32(vec![f32::NAN, f32::INFINITY, -f32::INFINITY, 2.0, -2.0]);
    assert_eq!(s.to_i16(), vec![0, 32767, -32767, 32767, -32767]);
}

#[test]
fn bad_input_capture_38_unsatisfiable_constraints_name_the_constraint() {
    let caps = [VideoFormat {
        pixel_format: PixelFormat::Yuyv,
        width: 640,
        height: 480,
        frame_rate: 30.0,
    }];
    for (c, name) in [
        (
            VideoConstraints {
                width: Constrain::exact(f64::NAN),
                ..Default::default()
            },
            "width",
        ),
        (
            VideoConstraints {
                height: Constrain::range(1000.0, 100.0),
                ..Default::default()
            },
            "height",
        ),
        (
            VideoConstraints {
                pixel_format: Some(PixelFormat::Mjpeg),
                ..Default::default()
            },
            "pixelFormat",
        ),
    ] {
        assert!(
            matches!(select_video(&c, &caps), Err(Error::Overconstrained { constraint }) if constraint == name),
            "{name}"
        );
    }
    // NaN and infinite ideals still pick something, without panicking.
    let c = VideoConstraints {
        width: Constrain::ideal(f64::NAN),
        frame_rate: Constrain::ideal(f64::INFINITY),
        ..Default::default()
    };
    assert_eq!(select_video(&c, &caps).unwrap(), caps[0]);
    let audio = [AudioFormat {
        sample_rate: 48_000,
        channels: 2,
        sample_format: SampleFormat::F32,
    }];
    let c = AudioConstraints {
        sample_format: Some(SampleFormat::I16),
        ..Default::default()
    };
    assert!(matches!(
        select_audio(&c, &audio),
        Err(Error::Overconstrained {
            constraint: "sampleFormat"
        })
    ));
}

#[cfg(feature = "v4l")]
#[test]
fn bad_input_capture_38_missing_or_wrong_camera_is_a_typed_error() {
    use std::path::Path;
    use tern_capture::v4l2::{V4lCamera, capabilities, list_video_devices};
    let missing = Path::new("/dev/video-tern-missing");
    assert!(matches!(
        V4lCamera::open(missing, &VideoConstraints::default()),
        Err(Error::NoDevice { kind: "video", name: Some(n) }) if n.contains("video-tern-missing")
    ));
    assert!(matches!(capabilities(missing), Err(Error::NoDevice { .. })));
    // A character device that is not V4L2.
    assert!(matches!(
        V4lCamera::open(Path::new("/dev/null"), &VideoConstraints::default()),
        Err(Error::NotACaptureDevice { kind: "video", .. })
    ));
    // Enumeration never fails; every camera it lists can be opened by path.
    for d in list_video_devices() {
        assert!(!d.formats.is_empty(), "{}", d.path.display());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn bad_input_capture_38_wav_arbitrary_bytes_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..256),
        cut in 0usize..60,
    ) {
        let mut file = small_wav();
        file.truncate(cut);
        file.extend(tail);
        let _ = drain_audio(&file);
    }

    #[test]
    fn bad_input_capture_38_y4m_arbitrary_header_never_panics(header in "\\PC{0,40}") {
        let mut file = format!("YUV4MPEG2 {header}\n").into_bytes();
        file.extend([0u8; 64]);
        let _ = drain_video(&file);
    }

    #[test]
    fn bad_input_capture_38_y4m_arbitrary_bytes_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        w in 0u32..40,
        h in 0u32..40,
    ) {
        let mut file = format!("YUV4MPEG2 W{w} H{h} F30:1\n").into_bytes();
        file.extend(body);
        let _ = drain_video(&file);
    }
}
