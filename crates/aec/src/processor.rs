//! `AudioProcessor`: echo cancellation → noise suppression → gain control on the capture path,
//! with the far end fed through `process_render`, in the spirit of WebRTC's APM.

use std::collections::VecDeque;

use crate::agc::GainControl;
use crate::config::{ProcessorConfig, SampleRate};
use crate::echo::EchoCanceller;
use crate::error::AecError;
use crate::ns::NoiseSuppressor;

/// What the processor measures.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ProcessorStats {
    /// Echo return loss enhancement over the last second or so of far-end activity, dB
    /// (capture power in / output power out).
    pub erle_db: f32,
    /// Estimated echo delay, milliseconds.
    pub delay_ms: Option<f32>,
    /// Filter leakage estimate (0: converged, 1: the filter explains nothing).
    pub echo_leak: f32,
    /// Current AGC gain, dB.
    pub agc_gain_db: f32,
    /// Samples the capture path delays its output by.
    pub latency_samples: usize,
}

/// The audio processing chain. Sample-clocked: the far and near streams are matched by sample
/// count; the delay between them (and its drift) is estimated.
#[derive(Debug, Clone)]
pub struct AudioProcessor {
    config: ProcessorConfig,
    frame: usize,
    block: usize,
    echo: Option<EchoCanceller>,
    ns: Option<NoiseSuppressor>,
    agc: Option<GainControl>,
    input: Vec<f32>,
    output: VecDeque<f32>,
    scratch: Vec<f32>,
}

/// Input sanitizing: NaN/Inf become silence, values are clamped to the i16 range, and denormal
/// magnitudes are flushed to zero so they never reach the filters.
fn sanitize(x: f32) -> f32 {
    if !x.is_finite() || x.abs() < 1e-20 {
        0.0
    } else {
        x.clamp(-32768.0, 32767.0)
    }
}

impl AudioProcessor {
    /// A processor with the stages `config` enables.
    pub fn new(config: ProcessorConfig) -> AudioProcessor {
        let rate = config.sample_rate;
        let block = rate.block();
        let echo = config
            .echo_cancellation
            .then(|| EchoCanceller::new(&config));
        let ns = config
            .noise_suppression
            .then(|| NoiseSuppressor::new(block, config.ns_floor_db));
        let agc = config
            .gain_control
            .then(|| GainControl::new(config.agc_target_dbfs, config.agc_max_gain_db));
        AudioProcessor {
            frame: rate.frame(),
            block,
            echo,
            ns,
            agc,
            input: Vec::with_capacity(rate.frame() + block),
            output: std::iter::repeat_n(0.0, block).collect(),
            scratch: vec![0.0; block],
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ProcessorConfig {
        &self.config
    }

    /// Samples per 10 ms frame.
    pub fn frame_len(&self) -> usize {
        self.frame
    }

    /// Switches to another sample rate. All adaptive state restarts (as APM reinitializes).
    pub fn set_sample_rate(&mut self, rate: SampleRate) {
        if rate != self.config.sample_rate {
            let mut c = self.config.clone();
            c.sample_rate = rate;
            *self = AudioProcessor::new(c);
        }
    }

    fn check(&self, len: usize) -> Result<(), AecError> {
        if len == self.frame {
            Ok(())
        } else {
            Err(AecError::FrameLength {
                expected: self.frame,
                got: len,
            })
        }
    }

    /// Feeds 10 ms of far-end (loudspeaker) audio.
    pub fn process_render(&mut self, far: &[i16]) -> Result<(), AecError> {
        self.check(far.len())?;
        self.scratch.clear();
        self.scratch.extend(far.iter().map(|&s| f32::from(s)));
        self.render(far.len());
        Ok(())
    }

    /// Feeds 10 ms of far-end audio as floats in [-1, 1] (NaN/Inf are treated as silence).
    pub fn process_render_f32(&mut self, far: &[f32]) -> Result<(), AecError> {
        self.check(far.len())?;
        self.scratch.clear();
        self.scratch
            .extend(far.iter().map(|&s| sanitize(s * 32768.0)));
        self.render(far.len());
        Ok(())
    }

    fn render(&mut self, _len: usize) {
        if let Some(e) = &mut self.echo {
            e.push_far(&self.scratch);
        }
    }

    /// Processes 10 ms of capture (microphone) audio in place.
    pub fn process_capture(&mut self, near: &mut [i16]) -> Result<(), AecError> {
        self.check(near.len())?;
        self.input.extend(near.iter().map(|&s| f32::from(s)));
        self.run();
        for (o, v) in near.iter_mut().zip(self.output.drain(..self.frame)) {
            *o = v.round().clamp(-32768.0, 32767.0) as i16;
        }
        Ok(())
    }

    /// Processes 10 ms of capture audio as floats in [-1, 1] in place (NaN/Inf become silence).
    pub fn process_capture_f32(&mut self, near: &mut [f32]) -> Result<(), AecError> {
        self.check(near.len())?;
        self.input
            .extend(near.iter().map(|&s| sanitize(s * 32768.0)));
        self.run();
        for (o, v) in near.iter_mut().zip(self.output.drain(..self.frame)) {
            *o = v / 32768.0;
        }
        Ok(())
    }

    fn run(&mut self) {
        let n = self.block;
        let mut block = std::mem::take(&mut self.scratch);
        while self.input.len() >= n {
            block.clear();
            block.extend(self.input.drain(..n));
            if let Some(e) = &mut self.echo {
                e.process(&mut block);
            }
            if let Some(ns) = &mut self.ns {
                ns.process(&mut block);
            }
            self.output.extend(block.iter().map(|&v| sanitize(v)));
        }
        self.scratch = block;
        // The output queue always holds at least one frame (it starts with one block of lead).
        let start = self.output.len().saturating_sub(self.frame);
        if let Some(agc) = &mut self.agc {
            let (a, b) = self.output.as_mut_slices();
            let mut frame: Vec<f32> = a
                .iter()
                .chain(b.iter())
                .skip(start)
                .take(self.frame)
                .copied()
                .collect();
            agc.process(&mut frame);
            for (slot, v) in self.output.iter_mut().skip(start).zip(frame) {
                *slot = v;
            }
        }
        while self.output.len() < self.frame {
            self.output.push_front(0.0);
        }
    }

    /// Current measurements.
    pub fn stats(&self) -> ProcessorStats {
        let hz = self.config.sample_rate.hz() as f32;
        let (erle_db, delay_ms, echo_leak) = match &self.echo {
            Some(e) => (
                10.0 * ((e.near_power + 1.0) / (e.out_power + 1.0)).log10(),
                e.delay_estimate().map(|d| d as f32 * 1000.0 / hz),
                e.leak(),
            ),
            None => (0.0, None, 1.0),
        };
        let stages = usize::from(self.echo.is_some()) + usize::from(self.ns.is_some());
        ProcessorStats {
            erle_db,
            delay_ms,
            echo_leak,
            agc_gain_db: self.agc.as_ref().map_or(0.0, GainControl::gain_db),
            latency_samples: self.block * (1 + stages),
        }
    }
}
