#!/bin/sh
# Builds the libwebrtc NetEq replay harness against Debian's libtgowt-dev (a 2023 libwebrtc).
# usage: build.sh OUT_DIR   (writes OUT_DIR/libwebrtc_neteq and OUT_DIR/libwebrtc_neteq_cpu)
set -eu
out=${1:?usage: build.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
lib=/usr/lib/x86_64-linux-gnu
[ -f "$lib/libtg_owt.a" ] || { echo "libtgowt-dev is not installed (apt-get install libtgowt-dev)" >&2; exit 1; }
# The defines libtgowt's CMake config exports for its users.
defs="-DWEBRTC_POSIX -DWEBRTC_LINUX -DWEBRTC_USE_BUILTIN_ISAC_FLOAT -DWEBRTC_ENABLE_PROTOBUF=0 \
  -DRTC_DISABLE_TRACE_EVENTS -DWEBRTC_APM_DEBUG_DUMP=0 -DWEBRTC_LIBRARY_IMPL"
absl=$(ls "$lib"/libabsl_*.so | sed 's#.*/lib\(absl_[^.]*\)\.so#-l\1#' | tr '\n' ' ')
for prog in libwebrtc_neteq libwebrtc_neteq_cpu; do
  g++ -std=c++20 -O2 $defs -I/usr/include/tg_owt -I"$here" "$here/$prog.cc" -o "$out/$prog" \
    -L"$lib" -ltg_owt $absl -lopus -lvpx -lssl -lcrypto -lsrtp2 -lpthread -ldl -lm
done
