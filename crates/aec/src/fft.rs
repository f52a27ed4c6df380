//! A small iterative radix-2 complex FFT (enough for the block sizes here: 128 .. 4096).

use std::ops::{Add, Mul, Sub};

/// A complex number.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Complex {
    pub re: f32,
    pub im: f32,
}

impl Complex {
    pub const ZERO: Complex = Complex { re: 0.0, im: 0.0 };
    pub fn new(re: f32, im: f32) -> Complex {
        Complex { re, im }
    }
    pub fn conj(self) -> Complex {
        Complex {
            re: self.re,
            im: -self.im,
        }
    }
    pub fn norm_sqr(self) -> f32 {
        self.re * self.re + self.im * self.im
    }
    pub fn scale(self, s: f32) -> Complex {
        Complex {
            re: self.re * s,
            im: self.im * s,
        }
    }
}

impl Add for Complex {
    type Output = Complex;
    fn add(self, o: Complex) -> Complex {
        Complex {
            re: self.re + o.re,
            im: self.im + o.im,
        }
    }
}

impl Sub for Complex {
    type Output = Complex;
    fn sub(self, o: Complex) -> Complex {
        Complex {
            re: self.re - o.re,
            im: self.im - o.im,
        }
    }
}

impl Mul for Complex {
    type Output = Complex;
    fn mul(self, o: Complex) -> Complex {
        Complex {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }
}

/// Plan for one power-of-two size.
#[derive(Debug, Clone)]
pub(crate) struct Fft {
    n: usize,
    twiddles: Vec<Complex>,
    bitrev: Vec<usize>,
}

impl Fft {
    /// `n` must be a power of two (callers only use fixed sizes); other sizes round up.
    pub fn new(n: usize) -> Fft {
        let n = n.max(2).next_power_of_two();
        let bits = n.trailing_zeros();
        let bitrev = (0..n)
            .map(|i| i.reverse_bits() >> (usize::BITS - bits))
            .collect();
        let twiddles = (0..n / 2)
            .map(|k| {
                let a = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                Complex::new(a.cos() as f32, a.sin() as f32)
            })
            .collect();
        Fft {
            n,
            twiddles,
            bitrev,
        }
    }

    pub fn len(&self) -> usize {
        self.n
    }

    /// In-place forward transform (no scaling). `x.len()` must equal `len()`; otherwise nothing
    /// happens.
    pub fn forward(&self, x: &mut [Complex]) {
        self.run(x, false);
    }

    /// In-place inverse transform, scaled by 1/n.
    pub fn inverse(&self, x: &mut [Complex]) {
        self.run(x, true);
        let s = 1.0 / self.n as f32;
        for v in x.iter_mut() {
            *v = v.scale(s);
        }
    }

    fn run(&self, x: &mut [Complex], inverse: bool) {
        if x.len() != self.n {
            return;
        }
        for (i, &j) in self.bitrev.iter().enumerate() {
            if i < j {
                x.swap(i, j);
            }
        }
        let mut len = 2;
        while len <= self.n {
            let half = len / 2;
            let step = self.n / len;
            for chunk in x.chunks_exact_mut(len) {
                let (a, b) = chunk.split_at_mut(half);
                for (k, (u, v)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
                    let w = self
                        .twiddles
                        .get(k * step)
                        .copied()
                        .unwrap_or(Complex::ZERO);
                    let w = if inverse { w.conj() } else { w };
                    let t = *v * w;
                    *v = *u - t;
                    *u = *u + t;
                }
            }
            len *= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_direct_dft_and_inverts() {
        let n = 64;
        let fft = Fft::new(n);
        let x: Vec<Complex> = (0..n)
            .map(|i| Complex::new((i as f32 * 0.37).sin(), (i as f32 * 0.11).cos()))
            .collect();
        let mut y = x.clone();
        fft.forward(&mut y);
        for (k, yk) in y.iter().enumerate() {
            let mut acc = Complex::ZERO;
            for (i, v) in x.iter().enumerate() {
                let a = -2.0 * std::f32::consts::PI * (i * k) as f32 / n as f32;
                acc = acc + *v * Complex::new(a.cos(), a.sin());
            }
            assert!(
                (acc.re - yk.re).abs() < 1e-3 && (acc.im - yk.im).abs() < 1e-3,
                "bin {k}"
            );
        }
        fft.inverse(&mut y);
        for (a, b) in x.iter().zip(&y) {
            assert!((a.re - b.re).abs() < 1e-5 && (a.im - b.im).abs() < 1e-5);
        }
    }
}
