#!/bin/sh
# CPU of tern-neteq and libwebrtc's NetEq side by side: each committed trace's packet stream
# (prepared by run.sh in WORK_DIR) replayed REPS times through each, timing only the insert +
# 10 ms pull loop, Opus decode included (both link the system libopus), on the thread's CPU clock;
# the last column is the codec's share: every received packet decoded once by a bare decoder.
# usage: cpu.sh WORK_DIR [REPS]   (after run.sh WORK_DIR; builds the example with --release)
set -eu
work=${1:?usage: cpu.sh WORK_DIR [REPS]}
reps=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
crate=$(dirname "$here")
[ -x "$work/libwebrtc_neteq_cpu" ] || "$here/build.sh" "$work"
cargo build -q --release -p tern-neteq --features opus --example neteq_compare
ex=${CARGO_TARGET_DIR:-$crate/../../target}/release/examples/neteq_compare
echo "| trace | tern-neteq × real time | libwebrtc NetEq × real time | Opus decode alone × real time |"
echo "|---|---|---|---|"
for trace in "$crate"/tests/vectors/trace-*.csv; do
  dir="$work/$(basename "$trace" .csv)"
  t=$("$ex" cpu "$dir" "$reps")
  l=$("$work/libwebrtc_neteq_cpu" "$dir/stream.txt" "$reps" 2>/dev/null)
  x() { echo "$1" | sed "s/.*\"$2\":\([0-9.]*\).*/\1/"; }
  echo "| $(basename "$dir") | $(x "$t" x_real_time) | $(x "$l" x_real_time) | $(x "$t" opus_decode_only_x_real_time) |"
done
