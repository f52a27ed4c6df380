//! Pixel-format conversion to I420 (what the VP8 encoder takes): YUYV and NV12 by
//! rearranging and averaging chroma, MJPEG by decoding (pure-Rust `jpeg-decoder`, including
//! UVC frames that leave out the Huffman tables) straight to YCbCr, with no RGB round trip.

use crate::error::Error;
use crate::frame::{PixelFormat, VideoFrame};

fn check(frame: &VideoFrame) -> Result<(usize, usize, usize, usize), Error> {
    let needed = frame.format.frame_len(frame.width, frame.height);
    if frame.width == 0 || frame.height == 0 || needed.is_some_and(|n| n != frame.data.len()) {
        return Err(Error::BadFrameSize {
            format: frame.format.name(),
            width: frame.width,
            height: frame.height,
            needed: needed.unwrap_or(0),
            got: frame.data.len(),
        });
    }
    let (w, h) = (frame.width as usize, frame.height as usize);
    Ok((w, h, w.div_ceil(2), h.div_ceil(2)))
}

/// Converts a frame to I420; an I420 frame is returned as is.
///
/// # Errors
/// [`Error::BadFrameSize`] if the buffer does not match the format; [`Error::InvalidMjpeg`]
/// for an MJPEG frame that does not decode or whose size differs from the frame's;
/// [`Error::UnsupportedConversion`] for CMYK or 16-bit JPEG.
pub fn to_i420(frame: &VideoFrame) -> Result<VideoFrame, Error> {
    let (w, h, cw, ch) = check(frame)?;
    let data = match frame.format {
        PixelFormat::I420 => frame.data.clone(),
        PixelFormat::Nv12 => {
            let (y, uv) = frame.data.split_at(w * h);
            let mut out = Vec::with_capacity(frame.data.len());
            out.extend_from_slice(y);
            out.extend(
                uv.chunks_exact(2)
                    .map(|p| p.first().copied().unwrap_or(128)),
            );
            out.extend(uv.chunks_exact(2).map(|p| p.get(1).copied().unwrap_or(128)));
            out
        }
        PixelFormat::Yuyv => yuyv(&frame.data, w, h, cw, ch),
        PixelFormat::Mjpeg => mjpeg(&frame.data, w, h, cw, ch)?,
    };
    VideoFrame::new(
        PixelFormat::I420,
        frame.width,
        frame.height,
        frame.timestamp,
        data,
    )
}

/// YUYV 4:2:2 → I420: luma copied, chroma averaged over each pair of rows (rounding up).
/// `src` has been checked to hold `h` rows of `cw` 4-byte macropixels.
fn yuyv(src: &[u8], w: usize, h: usize, cw: usize, ch: usize) -> Vec<u8> {
    let stride = cw * 4;
    // Written through zipped chunk iterators into a sized buffer: no bounds checks or
    // capacity checks per pixel, so the loops vectorise.
    let mut out = vec![0u8; w * h + 2 * cw * ch];
    let (y_plane, chroma) = out.split_at_mut(w * h);
    let (u_plane, v_plane) = chroma.split_at_mut(cw * ch);
    for (dst, line) in y_plane.chunks_exact_mut(w).zip(src.chunks_exact(stride)) {
        let macropixels = line.as_chunks::<4>().0;
        let (pairs, odd) = dst.as_chunks_mut::<2>();
        for (d, &[y0, _, y1, _]) in pairs.iter_mut().zip(macropixels) {
            *d = [y0, y1];
        }
        // An odd width: the last pixel is Y0 of the last macropixel.
        if let (Some(d), Some(&[y0, ..])) = (odd.first_mut(), macropixels.last()) {
            *d = y0;
        }
    }
    let chroma_rows = u_plane
        .chunks_exact_mut(cw)
        .zip(v_plane.chunks_exact_mut(cw));
    for ((u_row, v_row), rows) in chroma_rows.zip(src.chunks(2 * stride)) {
        let (r0, r1) = if rows.len() >= 2 * stride {
            rows.split_at(stride)
        } else {
            (rows, rows) // odd height: the last chroma row has one source row
        };
        let pairs = r0.as_chunks::<4>().0.iter().zip(r1.as_chunks::<4>().0);
        for ((u, v), (&[_, u0, _, v0], &[_, u1, _, v1])) in
            u_row.iter_mut().zip(v_row.iter_mut()).zip(pairs)
        {
            *u = avg(u0, u1);
            *v = avg(v0, v1);
        }
    }
    out
}

/// MJPEG → I420: decoded to YCbCr 4:4:4 (no conversion to RGB), luma kept, chroma averaged
/// over 2×2 blocks. The JPEG's own size must be the frame's, so a frame
/// claiming to be small cannot make the decoder allocate for a large one.
fn mjpeg(src: &[u8], w: usize, h: usize, cw: usize, ch: usize) -> Result<Vec<u8>, Error> {
    let bad = |what| Error::InvalidMjpeg { what };
    let mut dec = jpeg_decoder::Decoder::new(src);
    dec.read_info().map_err(|_| bad("unreadable JPEG header"))?;
    let info = dec.info().ok_or(bad("no frame header"))?;
    if usize::from(info.width) != w || usize::from(info.height) != h {
        return Err(bad("JPEG size differs from the frame's"));
    }
    if (w as u64) * (h as u64) > crate::y4m::MAX_PIXELS {
        return Err(bad("JPEG above 8K (7680x4320 pixels)"));
    }
    dec.set_max_decoding_buffer_size(w * h * 3);
    if info.pixel_format == jpeg_decoder::PixelFormat::RGB24 {
        // "RGB" makes jpeg-decoder interleave the three components as coded, without the
        // YCbCr → RGB conversion: Y, Cb, Cr for the JFIF/AVI1 frames cameras send.
        // (`ColorTransform::None` would be the natural choice, but in 0.3.2 it writes the
        // components one after the other and runs off the end of its line buffer.)
        dec.set_color_transform(jpeg_decoder::ColorTransform::RGB);
    }
    // jpeg-decoder is fuzzed upstream, but a panic inside it must not take the capture
    // thread down with it: a frame that makes it panic is an invalid frame.
    let px = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dec.decode()))
        .map_err(|_| bad("JPEG decoder fault"))?
        .map_err(|_| bad("undecodable JPEG data"))?;
    let mut out = vec![128u8; w * h + 2 * cw * ch];
    match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 if px.len() == w * h => {
            if let Some(y) = out.get_mut(..w * h) {
                y.copy_from_slice(&px);
            }
        }
        jpeg_decoder::PixelFormat::RGB24 if px.len() == w * h * 3 => {
            // The three components as coded: Y, Cb, Cr.
            let pixels = px.as_chunks::<3>().0;
            let (y_plane, chroma) = out.split_at_mut(w * h);
            let (u_plane, v_plane) = chroma.split_at_mut(cw * ch);
            for (d, &[y, _, _]) in y_plane.iter_mut().zip(pixels) {
                *d = y;
            }
            let chroma_rows = u_plane
                .chunks_exact_mut(cw)
                .zip(v_plane.chunks_exact_mut(cw));
            for ((u_row, v_row), rows) in chroma_rows.zip(pixels.chunks(2 * w)) {
                let (r0, r1) = if rows.len() >= 2 * w {
                    rows.split_at(w)
                } else {
                    (rows, rows)
                };
                for (cx, (u, v)) in u_row.iter_mut().zip(v_row.iter_mut()).enumerate() {
                    // An odd width or height repeats the last column or row.
                    let at = |row: &[[u8; 3]], x: usize| {
                        row.get(x)
                            .or(row.get(2 * cx))
                            .copied()
                            .unwrap_or([0, 128, 128])
                    };
                    let quad = [
                        at(r0, 2 * cx),
                        at(r0, 2 * cx + 1),
                        at(r1, 2 * cx),
                        at(r1, 2 * cx + 1),
                    ];
                    let sum = |k: usize| -> u16 {
                        quad.iter()
                            .map(|p| u16::from(p.get(k).copied().unwrap_or(128)))
                            .sum()
                    };
                    *u = ((sum(1) + 2) / 4) as u8;
                    *v = ((sum(2) + 2) / 4) as u8;
                }
            }
        }
        _ => {
            return Err(Error::UnsupportedConversion {
                from: "MJPEG (CMYK or 16-bit)",
                to: "I420",
            });
        }
    }
    Ok(out)
}

fn avg(a: u8, b: u8) -> u8 {
    // (a + b + 1) / 2 without leaving u8.
    (a >> 1) + (b >> 1) + ((a | b) & 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn test_yuyv_2x2() {
        // Two rows: (Y0 U Y1 V) = (10 100 20 200), (30 110 40 210).
        let f = VideoFrame::new(
            PixelFormat::Yuyv,
            2,
            2,
            Duration::ZERO,
            vec![10, 100, 20, 200, 30, 110, 40, 210],
        )
        .unwrap();
        let o = to_i420(&f).unwrap();
        assert_eq!(o.data, vec![10, 20, 30, 40, 105, 205]);
    }

    #[test]
    fn test_nv12_2x2() {
        let f = VideoFrame::new(
            PixelFormat::Nv12,
            2,
            2,
            Duration::ZERO,
            vec![1, 2, 3, 4, 50, 60],
        )
        .unwrap();
        assert_eq!(to_i420(&f).unwrap().data, vec![1, 2, 3, 4, 50, 60]);
    }

    #[test]
    fn test_bad_sizes() {
        let f = VideoFrame {
            format: PixelFormat::Yuyv,
            width: 4,
            height: 2,
            timestamp: Duration::ZERO,
            data: vec![0; 15],
        };
        assert!(matches!(to_i420(&f), Err(Error::BadFrameSize { .. })));
        let m = VideoFrame {
            format: PixelFormat::Mjpeg,
            width: 4,
            height: 2,
            timestamp: Duration::ZERO,
            data: vec![0xff, 0xd8],
        };
        assert!(matches!(to_i420(&m), Err(Error::InvalidMjpeg { .. })));
    }
}
