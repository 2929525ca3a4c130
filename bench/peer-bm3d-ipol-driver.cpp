// peer-bm3d-ipol-driver.cpp — a command-line front end for Lebrun's IPOL BM3D (NOT part of
// Kiln's build). bench/peer-bm3d-ipol.sh --build compiles it together with the IPOL sources
// (bm3d.cpp, utilities.cpp, lib_transforms.cpp, … from "An Analysis and Implementation of the
// BM3D Image Denoising Method", M. Lebrun, IPOL 2012; unmodified, outside this repository).
// It reads an already noisy single-channel TIFF (float32, or 8/16-bit integer) so that the
// peer and Kiln denoise the same file, calls run_bm3d with the IPOL defaults (bior1.5 in step
// 1, DCT in step 2, no SD weighting), prints the run_bm3d time and writes the unclipped float32
// result.  usage: bm3d-ipol-tiff NOISY.tif SIGMA OUT.tif [BASIC.tif]
// SPDX-License-Identifier: GPL-3.0-or-later
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <sys/time.h>
#include <tiffio.h>
#include "bm3d.h"

#define DCT 4
#define BIOR 5
#define RGB 3

static bool read_tiff(const char *path, std::vector<float> &img, unsigned *w, unsigned *h) {
  TIFF *t = TIFFOpen(path, "r");
  if (!t) return false;
  uint32_t W = 0, H = 0; uint16_t bps = 0, spp = 1, fmt = SAMPLEFORMAT_UINT;
  TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &W);
  TIFFGetField(t, TIFFTAG_IMAGELENGTH, &H);
  TIFFGetField(t, TIFFTAG_BITSPERSAMPLE, &bps);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &fmt);
  if (spp != 1 || !(bps == 8 || bps == 16 || (bps == 32 && fmt == SAMPLEFORMAT_IEEEFP))) {
    fprintf(stderr, "%s: unsupported TIFF (spp %u, bps %u, fmt %u)\n", path, spp, bps, fmt);
    TIFFClose(t); return false;
  }
  std::vector<unsigned char> line(TIFFScanlineSize(t));
  img.resize((size_t) W * H);
  for (uint32_t y = 0; y < H; y++) {
    if (TIFFReadScanline(t, line.data(), y, 0) < 0) { TIFFClose(t); return false; }
    for (uint32_t x = 0; x < W; x++)
      img[(size_t) y * W + x] = bps == 8 ? line[x]
                              : bps == 16 ? ((uint16_t *) line.data())[x]
                              : ((float *) line.data())[x];
  }
  TIFFClose(t);
  *w = W; *h = H;
  return true;
}

static bool write_tiff(const char *path, const std::vector<float> &img, unsigned w, unsigned h) {
  TIFF *t = TIFFOpen(path, "w");
  if (!t) return false;
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 32);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 1);
  for (unsigned y = 0; y < h; y++)
    if (TIFFWriteScanline(t, (void *) &img[(size_t) y * w], y, 0) < 0) { TIFFClose(t); return false; }
  TIFFClose(t);
  return true;
}

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: %s NOISY.tif SIGMA OUT.tif [BASIC.tif]\n", argv[0]); return 2; }
  std::vector<float> noisy, basic, den;
  unsigned w, h;
  if (!read_tiff(argv[1], noisy, &w, &h)) { fprintf(stderr, "%s: cannot read\n", argv[1]); return 1; }
  float sigma = atof(argv[2]);
  basic.resize(noisy.size()); den.resize(noisy.size());
  struct timeval t0, t1;
  gettimeofday(&t0, NULL);
  if (run_bm3d(sigma, noisy, basic, den, w, h, 1, false, false, BIOR, DCT, RGB) != EXIT_SUCCESS) return 1;
  gettimeofday(&t1, NULL);
  printf("bm3d_seconds %.3f\n", (t1.tv_sec - t0.tv_sec) + 1e-6 * (t1.tv_usec - t0.tv_usec));
  if (!write_tiff(argv[3], den, w, h)) return 1;
  if (argc > 4 && !write_tiff(argv[4], basic, w, h)) return 1;
  return 0;
}
