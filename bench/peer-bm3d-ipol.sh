#!/usr/bin/env bash
# Kiln's BM3D against Lebrun's IPOL BM3D on the same noisy camera.png (σ = 25): PSNR and time.
#
#   bench/peer-bm3d-ipol.sh --build IPOL_SRC_DIR
#       compiles IPOL_SRC_DIR/bm3d-ipol-tiff (OpenMP; the IPOL code splits the image into
#       omp_get_num_procs() bands) and IPOL_SRC_DIR/bm3d-ipol-tiff-1t (no OpenMP) from the IPOL
#       sources (bm3d.cpp, utilities.cpp, lib_transforms.cpp, io_png.c, mt19937ar.c; needs
#       libpng, libtiff, fftw3f) and bench/peer-bm3d-ipol-driver.cpp. Keep that tree OUTSIDE
#       this repository; nothing of it is copied here.
#   bench/peer-bm3d-ipol.sh [-B BUILD_DIR] PEER [PEER_1THREAD]
#       runs BUILD_DIR/bench/bench-bm3d-peer (default build dir: build) and prints its table.
#       PEER is called as `PEER NOISY.tif SIGMA OUT.tif`.
#
# Environment (see bench/bench-bm3d-peer.c): KILN_BENCH_REPEATS (3), KILN_BENCH_SEED (1),
# KILN_BENCH_CAMERA, KILN_BENCH_PEER_DIR (keep the images), KILN_BENCH_PEER_SIZES=512 or 1024 (that size only),
# KILN_BENCH_PEER_PARAMS (Kiln parameter overrides).
set -eu
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = "--build" ]; then
  src=${2:?usage: $0 --build IPOL_SRC_DIR}
  for f in bm3d.cpp bm3d.h utilities.cpp lib_transforms.cpp io_png.c mt19937ar.c; do
    [ -f "$src/$f" ] || { echo "$0: $src/$f not found (IPOL BM3D source tree expected)" >&2; exit 1; }
  done
  fl="-O3 -ftree-vectorize -funroll-loops -w"
  cxx=(bm3d.cpp utilities.cpp lib_transforms.cpp "$here/peer-bm3d-ipol-driver.cpp")
  (cd "$src" &&
   g++ $fl -fopenmp -I. -x c++ "${cxx[@]}" -x c io_png.c mt19937ar.c \
       -o bm3d-ipol-tiff -ltiff -lpng -lfftw3f -lm &&
   g++ $fl -I. -x c++ "${cxx[@]}" -x c io_png.c mt19937ar.c \
       -o bm3d-ipol-tiff-1t -ltiff -lpng -lfftw3f -lm)
  echo "built $src/bm3d-ipol-tiff and $src/bm3d-ipol-tiff-1t"
  exit 0
fi

build=build
if [ "${1:-}" = "-B" ]; then
  build=${2:?}
  shift 2
fi
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 [-B BUILD_DIR] PEER [PEER_1THREAD] | --build IPOL_SRC_DIR" >&2; exit 2; }
for p in "$@"; do
  [ -x "$p" ] || { echo "$0: $p is not an executable" >&2; exit 2; }
done
bin="$build/bench/bench-bm3d-peer"
[ -x "$bin" ] || { echo "$0: $bin not built (meson compile -C $build)" >&2; exit 1; }
exec "$bin" "$@"
