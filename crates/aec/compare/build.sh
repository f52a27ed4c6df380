#!/bin/sh
# Builds the baseline harnesses: libwebrtc AEC3 against Debian's libtgowt-dev (a 2023 libwebrtc)
# and speexdsp's echo canceller against Debian's libspeexdsp-dev (pkg-config speexdsp).
# usage: build.sh OUT_DIR   (writes OUT_DIR/libwebrtc_aec3 and OUT_DIR/speexdsp_aec)
set -eu
out=${1:?usage: build.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
lib=/usr/lib/x86_64-linux-gnu
[ -f "$lib/libtg_owt.a" ] || { echo "libtgowt-dev is not installed (apt-get install libtgowt-dev)" >&2; exit 1; }
pkg-config --exists speexdsp || { echo "libspeexdsp-dev is not installed (apt-get install libspeexdsp-dev)" >&2; exit 1; }
cc -std=c11 -O2 -Wall $(pkg-config --cflags speexdsp) "$here/speexdsp_aec.c" -o "$out/speexdsp_aec" \
  $(pkg-config --libs speexdsp) -lm
# The defines libtgowt's CMake config exports for its users.
defs="-DWEBRTC_POSIX -DWEBRTC_LINUX -DWEBRTC_USE_BUILTIN_ISAC_FLOAT -DWEBRTC_ENABLE_PROTOBUF=0 \
  -DRTC_DISABLE_TRACE_EVENTS -DWEBRTC_APM_DEBUG_DUMP=0 -DWEBRTC_LIBRARY_IMPL"
absl=$(ls "$lib"/libabsl_*.so | sed 's#.*/lib\(absl_[^.]*\)\.so#-l\1#' | tr '\n' ' ')
g++ -std=c++20 -O2 $defs -I/usr/include/tg_owt "$here/libwebrtc_aec3.cc" -o "$out/libwebrtc_aec3" \
  -L"$lib" -ltg_owt $absl -lopus -lvpx -lssl -lcrypto -lsrtp2 -lpthread -ldl -lm
