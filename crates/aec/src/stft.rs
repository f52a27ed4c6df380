//! Short-time Fourier analysis/synthesis: frames of 2n with hop n, sqrt-Hann analysis and
//! synthesis windows (their product overlap-adds to one, so unmodified spectra reconstruct the
//! input exactly, delayed by n).

use crate::fft::{Complex, Fft};

#[derive(Debug, Clone)]
pub(crate) struct Stft {
    n: usize,
    fft: Fft,
    window: Vec<f32>,
    input: Vec<f32>,
    overlap: Vec<f32>,
    pub spectrum: Vec<Complex>,
}

impl Stft {
    pub fn new(n: usize) -> Stft {
        let m = 2 * n;
        let window = (0..m)
            .map(|i| (std::f32::consts::PI * (i as f32 + 0.5) / m as f32).sin())
            .collect();
        Stft {
            n,
            fft: Fft::new(m),
            window,
            input: vec![0.0; m],
            overlap: vec![0.0; n],
            spectrum: vec![Complex::ZERO; m],
        }
    }

    /// Pushes n samples and computes the spectrum of the latest 2n (in `spectrum`).
    pub fn analyze(&mut self, block: &[f32]) {
        self.input.rotate_left(self.n);
        for (slot, v) in self
            .input
            .iter_mut()
            .skip(self.n)
            .zip(block.iter().chain(std::iter::repeat(&0.0)))
        {
            *slot = *v;
        }
        for ((s, x), w) in self.spectrum.iter_mut().zip(&self.input).zip(&self.window) {
            *s = Complex::new(x * w, 0.0);
        }
        self.fft.forward(&mut self.spectrum);
    }

    /// Analysis of a block without keeping state (for a second signal in the same frame).
    pub fn analyze_into(&self, prev: &[f32], block: &[f32], out: &mut [Complex]) {
        for (i, (slot, w)) in out.iter_mut().zip(&self.window).enumerate() {
            let v = if i < self.n {
                prev.get(i)
            } else {
                block.get(i - self.n)
            };
            *slot = Complex::new(v.copied().unwrap_or(0.0) * w, 0.0);
        }
        self.fft.forward(out);
    }

    /// Inverse-transforms `spectrum` and overlap-adds; writes n output samples.
    pub fn synthesize(&mut self, out: &mut [f32]) {
        self.fft.inverse(&mut self.spectrum);
        let n = self.n;
        for (i, slot) in out.iter_mut().enumerate().take(n) {
            let a = self.spectrum.get(i).map_or(0.0, |c| c.re)
                * self.window.get(i).copied().unwrap_or(0.0);
            *slot = self.overlap.get(i).copied().unwrap_or(0.0) + a;
        }
        for (i, slot) in self.overlap.iter_mut().enumerate() {
            *slot = self.spectrum.get(n + i).map_or(0.0, |c| c.re)
                * self.window.get(n + i).copied().unwrap_or(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_reconstructs_with_one_block_delay() {
        let n = 64;
        let mut s = Stft::new(n);
        let x: Vec<f32> = (0..n * 20)
            .map(|i| (i as f32 * 0.05).sin() * 1000.0 + (i % 7) as f32)
            .collect();
        let mut y = vec![0.0; x.len()];
        for (xi, yi) in x.chunks(n).zip(y.chunks_mut(n)) {
            s.analyze(xi);
            s.synthesize(yi);
        }
        for i in 2 * n..x.len() {
            assert!(
                (y[i] - x[i - n]).abs() < 0.05,
                "{i}: {} vs {}",
                y[i],
                x[i - n]
            );
        }
    }
}
