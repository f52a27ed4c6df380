#!/usr/bin/env python3
"""PESQ-WB (ITU-T P.862.2, PyPI `pesq`) of each receiver's output against the sent signal.

usage: score.py DIR ENGINE...   reads DIR/ref.pcm and DIR/<ENGINE>.pcm (s16le mono 48 kHz),
prints one JSON line per engine: {"engine", "pesq_wb", "lag_ms"}.

Each output is resampled to 16 kHz, aligned to the reference by the cross-correlation peak of
the first seconds (the initial playout delay), and cut to the reference's length; PESQ's own
per-utterance alignment then absorbs the delay changes made by time stretching.
"""
import json
import sys

import numpy as np
from pesq import pesq
from scipy.signal import correlate, resample_poly


def load(path):
    return np.fromfile(path, dtype="<i2").astype(np.float64)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    d = sys.argv[1]
    ref = resample_poly(load(f"{d}/ref.pcm"), 1, 3)
    fs = 16000
    for engine in sys.argv[2:]:
        out = resample_poly(load(f"{d}/{engine}.pcm"), 1, 3)
        # Initial delay: correlate the reference's first 4 s with the output's first 5 s.
        r = ref[: 4 * fs]
        o = out[: 5 * fs]
        c = correlate(o, r, mode="valid", method="fft")
        lag = int(np.argmax(np.abs(c)))
        deg = out[lag : lag + len(ref)]
        deg = np.pad(deg, (0, len(ref) - len(deg)))
        score = pesq(fs, ref, deg, "wb")
        print(json.dumps({"engine": engine, "pesq_wb": round(float(score), 3), "lag_ms": lag / 16}))


if __name__ == "__main__":
    main()
