//! Planar I420 images (tightly packed planes), the encoder's input and the decoder's output.

use crate::error::Error;

/// A planar 4:2:0 image: a full-size Y plane, then U and V at half resolution (rounded up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct I420Image {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl I420Image {
    /// Bytes an I420 image of this size takes.
    #[must_use]
    pub fn buffer_len(width: u32, height: u32) -> usize {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        // Saturating: an absurd size asks for more than any buffer holds (so `from_vec`
        // refuses it) instead of overflowing.
        w.saturating_mul(h)
            .saturating_add(cw.saturating_mul(ch).saturating_mul(2))
    }

    /// A black image.
    #[must_use]
    pub fn black(width: u32, height: u32) -> Self {
        let y = width as usize * height as usize;
        let mut data = vec![128u8; Self::buffer_len(width, height)];
        if let Some(luma) = data.get_mut(..y) {
            luma.fill(16);
        }
        Self {
            width,
            height,
            data,
        }
    }

    /// Wraps packed Y, U, V planes.
    ///
    /// # Errors
    /// [`Error::InvalidImage`] if a dimension is zero or `data` is not exactly
    /// [`buffer_len`](Self::buffer_len) bytes.
    pub fn from_vec(width: u32, height: u32, data: Vec<u8>) -> Result<Self, Error> {
        let needed = Self::buffer_len(width, height);
        if width == 0 || height == 0 || data.len() != needed {
            return Err(Error::InvalidImage {
                width,
                height,
                needed,
                got: data.len(),
            });
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Width in pixels.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Chroma plane width.
    #[must_use]
    pub fn chroma_width(&self) -> u32 {
        self.width.div_ceil(2)
    }

    /// Chroma plane height.
    #[must_use]
    pub fn chroma_height(&self) -> u32 {
        self.height.div_ceil(2)
    }

    fn split(&self) -> (usize, usize) {
        let y = self.width as usize * self.height as usize;
        let c = self.chroma_width() as usize * self.chroma_height() as usize;
        (y, c)
    }

    /// The whole buffer (Y, U, V).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The Y plane.
    #[must_use]
    pub fn y(&self) -> &[u8] {
        let (y, _) = self.split();
        self.data.get(..y).unwrap_or_default()
    }

    /// The U plane.
    #[must_use]
    pub fn u(&self) -> &[u8] {
        let (y, c) = self.split();
        self.data.get(y..y + c).unwrap_or_default()
    }

    /// The V plane.
    #[must_use]
    pub fn v(&self) -> &[u8] {
        let (y, c) = self.split();
        self.data.get(y + c..).unwrap_or_default()
    }

    /// Mutable planes (Y, U, V).
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let (y, c) = self.split();
        let y = y.min(self.data.len());
        let (luma, chroma) = self.data.split_at_mut(y);
        let (u, v) = chroma.split_at_mut(c.min(chroma.len()));
        (luma, u, v)
    }

    /// PSNR of the Y plane against `other` in dB (`f64::INFINITY` when identical), or `None` if
    /// the sizes differ.
    #[must_use]
    pub fn psnr_y(&self, other: &Self) -> Option<f64> {
        if self.width != other.width || self.height != other.height {
            return None;
        }
        let n = self.y().len() as f64;
        let sse: u64 = self
            .y()
            .iter()
            .zip(other.y())
            .map(|(a, b)| u64::from(a.abs_diff(*b)).pow(2))
            .sum();
        if sse == 0 {
            return Some(f64::INFINITY);
        }
        Some(10.0 * (255.0f64 * 255.0 * n / sse as f64).log10())
    }

    /// Moving colour bars with a frame counter drawn as a binary strip: a synthetic test
    /// source.
    #[must_use]
    pub fn colour_bars(width: u32, height: u32, frame: u64) -> Self {
        // Y, U, V of white, yellow, cyan, green, magenta, red, blue, black (BT.601).
        const BARS: [(u8, u8, u8); 8] = [
            (235, 128, 128),
            (210, 16, 146),
            (170, 166, 16),
            (145, 54, 34),
            (106, 202, 222),
            (81, 90, 240),
            (41, 240, 110),
            (16, 128, 128),
        ];
        let mut img = Self::black(width, height);
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (width.div_ceil(2) as usize, height.div_ceil(2) as usize);
        let shift = (frame as usize).wrapping_mul(4);
        let bar = |x: usize| {
            let i = ((x + shift) % w.max(1)) * 8 / w.max(1);
            BARS.get(i).copied().unwrap_or((16, 128, 128))
        };
        let (py, pu, pv) = img.planes_mut();
        for (row, line) in py.chunks_mut(w).enumerate() {
            for (x, p) in line.iter_mut().enumerate() {
                // The top eighth shows the frame counter, 16 bits, one bit per 1/16 of the width.
                *p = if row < h / 8 {
                    let bit = x * 16 / w.max(1);
                    if frame >> (15 - bit.min(15)) & 1 == 1 {
                        235
                    } else {
                        16
                    }
                } else {
                    bar(x).0
                };
            }
        }
        for (row, (lu, lv)) in pu.chunks_mut(cw).zip(pv.chunks_mut(cw)).enumerate() {
            for (x, (u, v)) in lu.iter_mut().zip(lv.iter_mut()).enumerate() {
                let (_, bu, bv) = if row < ch / 8 {
                    (0, 128, 128)
                } else {
                    bar(x * 2)
                };
                *u = bu;
                *v = bv;
            }
        }
        img
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_sizes_and_psnr() {
        let a = I420Image::colour_bars(33, 17, 0);
        assert_eq!(a.as_bytes().len(), 33 * 17 + 2 * 17 * 9);
        assert_eq!(a.psnr_y(&a), Some(f64::INFINITY));
        let b = I420Image::colour_bars(33, 17, 1);
        assert!(a.psnr_y(&b).unwrap() < 40.0);
        assert!(I420Image::from_vec(2, 2, vec![0; 5]).is_err());
        assert!(I420Image::from_vec(2, 2, vec![0; 6]).is_ok());
    }
}
