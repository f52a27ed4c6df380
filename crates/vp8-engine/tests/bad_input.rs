//! BAD_INPUT.md row 36, VP8 parts: truncated descriptors, absurd frame dimensions, partition
//! sizes beyond the frame. Each must be a typed `Err`, never a panic or a large allocation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tern_vp8_engine::error::DescriptorField;
use tern_vp8_engine::wire::header::emit_header;
use tern_vp8_engine::{Error, Vp8Packet, Vp8PayloadHeader};

#[test]
fn bad_input_vp8_36_descriptor_truncated() {
    // X with I, L, T and K all set, then cut after each byte.
    let full = [0x90u8, 0xf0, 0x81, 0x23, 0x42, 0xa5, 0x10, 0x02, 0x00];
    for cut in 0..6 {
        let err = Vp8Packet::parse(&full[..cut]).unwrap_err();
        assert!(
            matches!(err, Error::TruncatedDescriptor { at, .. } if at == cut),
            "cut {cut}: {err:?}"
        );
    }
    // Descriptor complete but nothing after it.
    assert_eq!(
        Vp8Packet::parse(&full[..6]),
        Err(Error::EmptyPayload { descriptor_len: 6 })
    );
    // The 15-bit PictureID announced by M but missing its second octet.
    assert_eq!(
        Vp8Packet::parse(&[0x90, 0x80, 0x81]),
        Err(Error::TruncatedDescriptor {
            at: 3,
            field: DescriptorField::PictureIdLow
        })
    );
    // Payload header shorter than the key-frame header.
    assert_eq!(
        Vp8Packet::parse(&[0x10, 0x00, 0x00, 0x00, 0x9d]),
        Err(Error::TruncatedPayloadHeader { len: 4, needed: 10 })
    );
}

#[test]
fn bad_input_vp8_36_frame_header_16383x16383() {
    let mut frame = emit_header(4, Some((16383, 16383)));
    frame.extend_from_slice(&[0; 8]);
    // The packet parses (the header is well-formed) ...
    let pkt = [&[0x10u8][..], &frame].concat();
    let p = Vp8Packet::parse(&pkt).unwrap();
    let k = p.header.unwrap().key_frame.unwrap();
    assert_eq!((k.width, k.height), (16383, 16383));
    // ... but a frame that large is refused before anything is allocated for it.
    assert_eq!(
        Vp8PayloadHeader::parse_frame(&frame, 1920 * 1080),
        Err(Error::FrameTooLarge {
            width: 16383,
            height: 16383,
            max_pixels: 1920 * 1080
        })
    );
    // Zero dimensions are refused too.
    let mut zero = emit_header(1, Some((0, 480)));
    zero.push(0);
    assert!(matches!(
        Vp8PayloadHeader::parse_frame(&zero, u32::MAX),
        Err(Error::FrameTooLarge { width: 0, .. })
    ));
}

#[test]
fn bad_input_vp8_36_partition_size_beyond_frame() {
    // The largest 19-bit first-partition size in a 13-byte frame.
    let mut frame = emit_header(0x7_ffff, None);
    frame.extend_from_slice(&[0; 10]);
    assert_eq!(
        Vp8PayloadHeader::parse_frame(&frame, 1 << 20),
        Err(Error::PartitionSizeExceedsFrame {
            size: 0x7_ffff,
            available: 10
        })
    );
    // Exactly fitting is fine.
    let mut ok = emit_header(10, None);
    ok.extend_from_slice(&[0; 10]);
    assert!(Vp8PayloadHeader::parse_frame(&ok, 1 << 20).is_ok());
}

#[test]
fn bad_input_vp8_36_absurd_image_sizes_are_refused() {
    use tern_vp8_engine::I420Image;
    assert_eq!(I420Image::buffer_len(u32::MAX, u32::MAX), usize::MAX);
    assert!(matches!(
        I420Image::from_vec(u32::MAX, u32::MAX, vec![0; 16]),
        Err(Error::InvalidImage { .. })
    ));
    assert!(I420Image::from_vec(0, 4, Vec::new()).is_err());
}
