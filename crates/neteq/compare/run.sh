#!/bin/sh
# The side-by-side NetEq run: every committed trace through tern-neteq, libwebrtc's NetEq
# (libtgowt-dev) and a fixed-delay buffer of tern's mean delay; PESQ-WB and delay per engine.
# usage: run.sh WORK_DIR
#   needs: g++, libtgowt-dev, libopus-dev, espeak-ng; $TERN_PYTHON (default python3) with numpy,
#   scipy, pesq.
set -eu
work=${1:?usage: run.sh WORK_DIR}
here=$(cd "$(dirname "$0")" && pwd)
crate=$(dirname "$here")
py=${TERN_PYTHON:-python3}
mkdir -p "$work"
"$here/build.sh" "$work"
"$py" "$here/speech.py" "$work/speech.pcm"
cargo build -q -p tern-neteq --features opus --example neteq_compare
ex=${CARGO_TARGET_DIR:-$crate/../../target}/debug/examples/neteq_compare
for trace in "$crate"/tests/vectors/trace-*.csv; do
  name=$(basename "$trace" .csv)
  dir="$work/$name"
  "$ex" prepare "$trace" "$dir" "$work/speech.pcm" 2>/dev/null
  "$ex" tern "$dir" > "$dir/tern.json"
  "$work/libwebrtc_neteq" "$dir/stream.txt" "$dir/libwebrtc.pcm" > "$dir/libwebrtc.json" 2>/dev/null
  tern_delay=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["mean_delay_ms"])' "$dir/tern.json")
  "$ex" fixed "$dir" "$tern_delay" > "$dir/fixed.json"
  "$py" "$here/score.py" "$dir" tern libwebrtc fixed > "$dir/pesq.json"
  dirs="${dirs:-} $dir"
done
# shellcheck disable=SC2086
"$py" "$here/table.py" $dirs
