/* Makes the MJPEG fixtures of tests/files.rs with libjpeg-turbo (Debian libjpeg62-turbo-dev):
 *   libjpeg-turbo-pattern-64x48-422.jpg        JFIF, 4:2:2 like UVC cameras, quality 90
 *   uvc-style-pattern-64x48-422-no-dht.mjpeg   the same with an AVI1 APP0 and no DHT: the
 *                                              Huffman tables are the JPEG Annex K defaults,
 *                                              as UVC MJPEG frames leave them out
 *   libjpeg-turbo-pattern-64x48-420.jpg        JFIF, 4:2:0, quality 75
 *   *.ycbcr444                                 libjpeg-turbo's own decoding of each .jpg,
 *                                              interleaved Y Cb Cr per pixel: the reference
 *   libjpeg-turbo-pattern-640x480-422.jpg      a VGA frame for the MJPEG bench
 * cc make_mjpeg.c -ljpeg -o make_mjpeg && ./make_mjpeg */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

#define W 64
#define H 48

static unsigned char *encode_size(int w, int h, int v_samp, int quality, unsigned long *len) {
  unsigned char *rgb = malloc((size_t)w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      unsigned char *p = rgb + 3 * (y * w + x);
      p[0] = (unsigned char)(x * 4);                            /* red ramp */
      p[1] = (unsigned char)(y * 5);                            /* green ramp */
      p[2] = ((x / 8 + y / 8) % 2) ? 220 : 30;                  /* blue checkerboard */
      if ((x - 40) * (x - 40) + (y - 20) * (y - 20) < 100) p[0] = p[1] = p[2] = 250;
    }
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr err;
  unsigned char *out = NULL;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_mem_dest(&c, &out, len);
  c.image_width = w;
  c.image_height = h;
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  c.comp_info[0].h_samp_factor = 2; /* luma 2x1 against chroma 1x1: 4:2:2; 2x2: 4:2:0 */
  c.comp_info[0].v_samp_factor = v_samp;
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < (unsigned)h) {
    JSAMPROW row = rgb + 3 * w * c.next_scanline;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  free(rgb);
  return out;
}

static unsigned char *encode(int v_samp, int quality, unsigned long *len) {
  return encode_size(W, H, v_samp, quality, len);
}

static void reference(const unsigned char *jpg, unsigned long len, const char *name) {
  struct jpeg_decompress_struct d;
  struct jpeg_error_mgr err;
  d.err = jpeg_std_error(&err);
  jpeg_create_decompress(&d);
  jpeg_mem_src(&d, jpg, len);
  jpeg_read_header(&d, TRUE);
  d.out_color_space = JCS_YCbCr;
  jpeg_start_decompress(&d);
  FILE *f = fopen(name, "wb");
  unsigned char row[W * 3];
  while (d.output_scanline < d.output_height) {
    JSAMPROW r = row;
    jpeg_read_scanlines(&d, &r, 1);
    fwrite(row, 1, sizeof row, f);
  }
  fclose(f);
  jpeg_finish_decompress(&d);
  jpeg_destroy_decompress(&d);
}

static void write_file(const char *name, const unsigned char *b, unsigned long n) {
  FILE *f = fopen(name, "wb");
  fwrite(b, 1, n, f);
  fclose(f);
}

int main(void) {
  unsigned long len;
  unsigned char *j422 = encode(1, 90, &len);
  write_file("libjpeg-turbo-pattern-64x48-422.jpg", j422, len);
  reference(j422, len, "libjpeg-turbo-pattern-64x48-422.ycbcr444");
  /* UVC style: SOI, AVI1 APP0, then every segment but JFIF APP0 and DHT. */
  unsigned char *m = malloc(len + 32);
  unsigned long n = 0, i = 2;
  static const unsigned char avi1[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'A', 'V', 'I', '1',
                                       0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  memcpy(m, avi1, sizeof avi1);
  n = sizeof avi1;
  while (i + 4 <= len && j422[i] == 0xff && j422[i + 1] != 0xda) {
    unsigned long seg = 2 + ((unsigned long)j422[i + 2] << 8 | j422[i + 3]);
    if (j422[i + 1] != 0xe0 && j422[i + 1] != 0xc4) {
      memcpy(m + n, j422 + i, seg);
      n += seg;
    }
    i += seg;
  }
  memcpy(m + n, j422 + i, len - i); /* SOS, entropy-coded data, EOI */
  n += len - i;
  write_file("uvc-style-pattern-64x48-422-no-dht.mjpeg", m, n);
  unsigned char *j420 = encode(2, 75, &len);
  write_file("libjpeg-turbo-pattern-64x48-420.jpg", j420, len);
  reference(j420, len, "libjpeg-turbo-pattern-64x48-420.ycbcr444");
  /* A VGA camera frame for benches/capture.rs; the colour ramps wrap, giving edges. */
  unsigned char *vga = encode_size(640, 480, 1, 80, &len);
  write_file("libjpeg-turbo-pattern-640x480-422.jpg", vga, len);
  return 0;
}
