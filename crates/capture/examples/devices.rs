//! Real devices, opt-in: lists ALSA capture/playback devices and V4L2 cameras with their
//! formats; with `--capture`, records 1 s from the default microphone and 30 frames from the
//! first camera (640×480 ideal), converting each frame to I420, and reports what arrived.
//!
//! `cargo run -p tern-capture --features alsa,v4l --example devices -- [--capture]`
//!
//! On a machine without devices every step says so with the crate's typed error.
#![allow(clippy::print_stdout)]

use tern_capture::constraints::{AudioConstraints, Constrain, VideoConstraints};
use tern_capture::convert::to_i420;
use tern_capture::{AudioSource, Samples, VideoSource};

fn main() {
    let capture = std::env::args().any(|a| a == "--capture");
    match tern_capture::alsa::list_input_devices() {
        Ok(d) if d.is_empty() => println!("ALSA capture devices: none"),
        Ok(d) => d
            .iter()
            .for_each(|d| println!("ALSA capture {:?}: {} formats", d.name, d.formats.len())),
        Err(e) => println!("ALSA capture devices: {e}"),
    }
    match tern_capture::alsa::list_output_devices() {
        Ok(d) if d.is_empty() => println!("ALSA playback devices: none"),
        Ok(d) => d
            .iter()
            .for_each(|d| println!("ALSA playback {:?}: {} formats", d.name, d.formats.len())),
        Err(e) => println!("ALSA playback devices: {e}"),
    }
    let cameras = tern_capture::v4l2::list_video_devices();
    if cameras.is_empty() {
        println!("V4L2 cameras: none");
    }
    for c in &cameras {
        println!("camera {} {:?}:", c.path.display(), c.name);
        for f in &c.formats {
            println!(
                "  {} {}x{} @ {:.2} fps",
                f.pixel_format.name(),
                f.width,
                f.height,
                f.frame_rate
            );
        }
    }
    if !capture {
        return;
    }
    let audio = AudioConstraints {
        sample_rate: Constrain::ideal(48_000.0),
        channel_count: Constrain::ideal(1.0),
        ..Default::default()
    };
    match tern_capture::alsa::Microphone::open(None, &audio) {
        Ok(mut mic) => {
            let rate = u64::from(mic.format().sample_rate);
            let (mut frames, mut energy) = (0u64, 0f64);
            while frames < rate {
                match mic.read_frame() {
                    Ok(Some(f)) => {
                        frames += f.frames() as u64;
                        energy += Samples::to_f32(&f.samples)
                            .iter()
                            .map(|s| f64::from(*s).powi(2))
                            .sum::<f64>();
                    }
                    Ok(None) => break,
                    Err(e) => {
                        println!("microphone: {e}");
                        break;
                    }
                }
            }
            let rms = (energy / frames.max(1) as f64).sqrt();
            println!(
                "microphone {:?}: {frames} sample frames, RMS {rms:.4}",
                mic.format()
            );
            while let Some(e) = mic.poll_event() {
                println!("  event {e:?}");
            }
        }
        Err(e) => println!("microphone: {e}"),
    }
    let Some(cam) = cameras.first() else {
        return;
    };
    let video = VideoConstraints {
        width: Constrain::ideal(640.0),
        height: Constrain::ideal(480.0),
        ..Default::default()
    };
    match tern_capture::v4l2::V4lCamera::open(&cam.path, &video) {
        Ok(mut camera) => {
            println!("camera format {:?}", camera.format());
            for _ in 0..30 {
                match camera.read_frame() {
                    Ok(Some(f)) => match to_i420(&f) {
                        Ok(i) => println!(
                            "  {:?} {}x{} at {:?}",
                            f.format, i.width, i.height, f.timestamp
                        ),
                        Err(e) => println!("  {:?} frame not converted: {e}", f.format),
                    },
                    Ok(None) => break,
                    Err(e) => {
                        println!("camera: {e}");
                        break;
                    }
                }
                while let Some(e) = camera.poll_event() {
                    println!("  event {e:?}");
                }
            }
        }
        Err(e) => println!("camera {}: {e}", cam.path.display()),
    }
}
