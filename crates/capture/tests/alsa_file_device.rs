//! cpal/ALSA capture and playout against ALSA's `file` plugin over the `null` device, with no
//! sound card: byte-exact capture from a raw file, playback written to a file.
//!
//! ALSA reads `~/.asoundrc` once per process, so each case runs in a child process (this same
//! binary, `harness = false`) whose `HOME` is a temporary directory holding an `.asoundrc` that
//! points `default` at the plugin. `null` is not paced: everything counts samples, never time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use tern_capture::alsa::{Microphone, Speaker};
use tern_capture::constraints::{AudioConstraints, Constrain};
use tern_capture::{AudioFrame, AudioSink, AudioSource, DeviceEvent, Error, SampleFormat, Samples};

const MODE: &str = "TERN_ALSA_CASE";
const DIR: &str = "TERN_ALSA_DIR";
/// 0.1 s of mono 48 kHz: fits in the microphone's 64-block queue whatever the period size,
/// so the slow reader of an unpaced device still sees every sample of the file.
const CAPTURE_FRAMES: usize = 4800;
const PLAY_BLOCKS: usize = 20;
const BLOCK: usize = 480;

fn capture_input() -> Vec<i16> {
    // Distinct, non-repeating values (a ramp with a prime stride) so an offset or a lost
    // block cannot go unnoticed.
    (0..CAPTURE_FRAMES)
        .map(|i| ((i * 7919) % 65_521) as i32 - 32_760)
        .map(|v| v as i16)
        .collect()
}

fn playback_input() -> Vec<f32> {
    // Never exactly 0.0, so the silence played on underrun can be told apart.
    (0..PLAY_BLOCKS * BLOCK)
        .map(|i| ((i % 997) as f32 + 1.0) / 1000.0 - 0.5)
        .map(|v| if v == 0.0 { 0.25 } else { v })
        .collect()
}

fn constraints(format: SampleFormat) -> AudioConstraints {
    AudioConstraints {
        sample_rate: Constrain::exact(48_000.0),
        channel_count: Constrain::exact(1.0),
        sample_format: Some(format),
    }
}

/// Child: opens the default capture device (the `file` plugin) and checks the samples.
fn child_capture(dir: &Path) -> Result<(), String> {
    let expected = capture_input();
    let mut mic =
        Microphone::open(None, &constraints(SampleFormat::I16)).map_err(|e| e.to_string())?;
    let mut got: Vec<i16> = Vec::new();
    let mut next_first = 0u64;
    for _ in 0..10_000 {
        if got.len() >= expected.len() {
            break;
        }
        let Some(frame) = mic.read_frame().map_err(|e| e.to_string())? else {
            return Err("no data from the device within the read timeout".into());
        };
        if frame.first_sample != next_first {
            return Err(format!(
                "first_sample {} != {next_first}",
                frame.first_sample
            ));
        }
        next_first += frame.frames() as u64;
        let Samples::I16(s) = frame.samples else {
            return Err("asked for i16, got f32".into());
        };
        got.extend(s);
    }
    while let Some(e) = mic.poll_event() {
        if matches!(e, DeviceEvent::Unplugged { .. }) {
            return Err(format!("unexpected event {e:?}"));
        }
    }
    if got.len() < expected.len() {
        return Err(format!("only {} samples captured", got.len()));
    }
    if got[..expected.len()] != expected[..] {
        let at = got.iter().zip(&expected).position(|(a, b)| a != b);
        return Err(format!("captured samples differ from the file at {at:?}"));
    }
    std::fs::write(dir.join("captured.ok"), got.len().to_string()).map_err(|e| e.to_string())
}

/// Child: finds the named plugin device by enumeration, checks its formats, and captures
/// from it by name.
fn child_enumerate() -> Result<(), String> {
    let devices = tern_capture::alsa::list_input_devices().map_err(|e| e.to_string())?;
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    let dev = devices
        .iter()
        .find(|d| d.name == "ternfile")
        .ok_or(format!("ternfile not among {names:?}"))?;
    let wanted = tern_capture::AudioFormat {
        sample_rate: 48_000,
        channels: 1,
        sample_format: SampleFormat::I16,
    };
    if !dev.formats.contains(&wanted) {
        return Err(format!(
            "ternfile formats {:?} lack {wanted:?}",
            dev.formats
        ));
    }
    let mut mic = Microphone::open(Some("ternfile"), &constraints(SampleFormat::I16))
        .map_err(|e| e.to_string())?;
    let frame = mic
        .read_frame()
        .map_err(|e| e.to_string())?
        .ok_or("no data")?;
    let Samples::I16(s) = frame.samples else {
        return Err("asked for i16, got f32".into());
    };
    let expected = capture_input();
    let n = s.len().min(expected.len());
    if n == 0 || s[..n] != expected[..n] {
        return Err("samples from the named device differ from the file".into());
    }
    println!(
        "  {} devices listed; ternfile captured {n} exact samples",
        devices.len()
    );
    Ok(())
}

/// Child: `default` points at a sound card that does not exist.
fn child_no_card() -> Result<(), String> {
    let c = AudioConstraints::default();
    match Microphone::open(None, &c) {
        Err(Error::NoDevice {
            kind: "audio input",
            name: Some(n),
        }) if n == "default" => {}
        other => return Err(format!("microphone: {other:?}")),
    }
    match Speaker::open(None, &c) {
        Err(Error::NoDevice {
            kind: "audio output",
            ..
        }) => Ok(()),
        other => Err(format!("speaker: {other:?}")),
    }
}

/// Child: plays a known sequence to the default playback device (the `file` plugin).
fn child_playback() -> Result<(), String> {
    let input = playback_input();
    let mut speaker =
        Speaker::open(None, &constraints(SampleFormat::F32)).map_err(|e| e.to_string())?;
    for (i, block) in input.chunks(BLOCK).enumerate() {
        speaker
            .write_frame(&AudioFrame {
                sample_rate: 48_000,
                channels: 1,
                first_sample: (i * BLOCK) as u64,
                samples: Samples::F32(block.to_vec()),
            })
            .map_err(|e| e.to_string())?;
    }
    // Wait for the device to consume what was written (counted in samples; the sleep only
    // yields to cpal's thread, and the bound keeps a stuck device from hanging the test).
    for _ in 0..10_000 {
        if speaker.samples_played() >= input.len() as u64 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    if speaker.samples_played() != input.len() as u64 {
        return Err(format!(
            "device consumed {} of {} samples",
            speaker.samples_played(),
            input.len()
        ));
    }
    // A wrong-format block is refused, not played.
    let wrong = AudioFrame {
        sample_rate: 44_100,
        channels: 1,
        first_sample: 0,
        samples: Samples::F32(vec![0.5; 441]),
    };
    if !matches!(
        speaker.write_frame(&wrong),
        Err(Error::InvalidParameter { .. })
    ) {
        return Err("a 44.1 kHz block was accepted by a 48 kHz speaker".into());
    }
    drop(speaker); // closes the PCM, which flushes the plugin's file
    Ok(())
}

fn temp_dir(case: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tern-alsa-{case}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run_child(case: &str, dir: &Path, asoundrc: &str) -> Result<(), String> {
    std::fs::write(dir.join(".asoundrc"), asoundrc).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .env("HOME", dir)
        .env_remove("XDG_CONFIG_HOME")
        .env(MODE, case)
        .env(DIR, dir)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "child {case} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn alsa_capture_from_raw_file_is_byte_exact() -> Result<(), String> {
    let dir = temp_dir("capture");
    let raw: Vec<u8> = capture_input()
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let infile = dir.join("in.raw");
    std::fs::write(&infile, &raw).unwrap();
    let rc = format!(
        "pcm.!default {{\n type file\n slave.pcm \"null\"\n file \"/dev/null\"\n infile \"{}\"\n format \"raw\"\n}}\n",
        infile.display()
    );
    let r = run_child("capture", &dir, &rc).and_then(|()| {
        let n = std::fs::read_to_string(dir.join("captured.ok")).map_err(|e| e.to_string())?;
        println!("  captured {n} samples, first {CAPTURE_FRAMES} equal to the file");
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    r
}

fn alsa_playback_written_to_file() -> Result<(), String> {
    let dir = temp_dir("playback");
    let outfile = dir.join("out.raw");
    let rc = format!(
        "pcm.!default {{\n type file\n slave.pcm \"null\"\n file \"{}\"\n format \"raw\"\n}}\n",
        outfile.display()
    );
    let r = run_child("playback", &dir, &rc).and_then(|()| {
        let bytes = std::fs::read(&outfile).map_err(|e| e.to_string())?;
        let played: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .filter(|v| *v != 0.0)
            .collect();
        let expected = playback_input();
        println!(
            "  file holds {} samples, {} of them ours",
            bytes.len() / 4,
            played.len()
        );
        if played == expected {
            Ok(())
        } else {
            Err(format!(
                "played {} non-silent samples, expected {} in order",
                played.len(),
                expected.len()
            ))
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    r
}

fn alsa_enumeration_lists_and_opens_a_named_device() -> Result<(), String> {
    let dir = temp_dir("enumerate");
    let raw: Vec<u8> = capture_input()
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    let infile = dir.join("in.raw");
    std::fs::write(&infile, &raw).unwrap();
    let rc = format!(
        "pcm.ternfile {{\n type file\n slave.pcm \"null\"\n file \"/dev/null\"\n infile \"{}\"\n format \"raw\"\n hint {{\n  show on\n  description \"Tern test capture\"\n }}\n}}\n",
        infile.display()
    );
    let r = run_child("enumerate", &dir, &rc);
    let _ = std::fs::remove_dir_all(&dir);
    r
}

fn alsa_default_without_a_card_is_no_device() -> Result<(), String> {
    let dir = temp_dir("no-card");
    let r = run_child(
        "no-card",
        &dir,
        "pcm.!default {\n type hw\n card 29\n}\nctl.!default {\n type hw\n card 29\n}\n",
    );
    let _ = std::fs::remove_dir_all(&dir);
    r
}

fn alsa_missing_device_is_a_typed_error() -> Result<(), String> {
    let c = AudioConstraints::default();
    match Microphone::open(Some("tern-no-such-device"), &c) {
        Err(Error::NoDevice {
            kind: "audio input",
            name: Some(n),
        }) if n == "tern-no-such-device" => {}
        other => return Err(format!("microphone: {other:?}")),
    }
    match Speaker::open(Some("tern-no-such-device"), &c) {
        Err(Error::NoDevice {
            kind: "audio output",
            ..
        }) => Ok(()),
        other => Err(format!("speaker: {other:?}")),
    }
}

type Case = fn() -> Result<(), String>;

fn main() -> ExitCode {
    if let Ok(case) = std::env::var(MODE) {
        let dir = PathBuf::from(std::env::var(DIR).unwrap_or_default());
        let r = match case.as_str() {
            "capture" => child_capture(&dir),
            "playback" => child_playback(),
            "enumerate" => child_enumerate(),
            "no-card" => child_no_card(),
            _ => Err(format!("unknown case {case}")),
        };
        return match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let cases: [(&str, Case); 5] = [
        (
            "alsa_capture_from_raw_file_is_byte_exact",
            alsa_capture_from_raw_file_is_byte_exact,
        ),
        (
            "alsa_playback_written_to_file",
            alsa_playback_written_to_file,
        ),
        (
            "alsa_enumeration_lists_and_opens_a_named_device",
            alsa_enumeration_lists_and_opens_a_named_device,
        ),
        (
            "alsa_default_without_a_card_is_no_device",
            alsa_default_without_a_card_is_no_device,
        ),
        (
            "alsa_missing_device_is_a_typed_error",
            alsa_missing_device_is_a_typed_error,
        ),
    ];
    // libtest's listing format, for tools that enumerate tests.
    if std::env::args().any(|a| a == "--list") {
        for (name, _) in cases {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    // `--ignored` (as xtask's interop pass gives it): these cases are not ignored, run none.
    if std::env::args().any(|a| a == "--ignored") {
        println!(
            "test result: 0 passed; 0 failed ({} not ignored)",
            cases.len()
        );
        return ExitCode::SUCCESS;
    }
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut failed = 0;
    let mut passed = 0;
    for (name, case) in cases {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        match case() {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok");
            }
            Err(e) => {
                failed += 1;
                println!("test {name} ... FAILED: {e}");
            }
        }
    }
    println!("test result: {passed} passed; {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
