#!/usr/bin/env python3
"""PESQ-WB (ITU-T P.862.2, PyPI `pesq`) of echo-canceller outputs against the clean near-end talk.

usage: pesq_wb.py RATE REF.pcm OUT.pcm...   (s16le mono at RATE; 48 kHz is resampled to 16 kHz)
prints one JSON line per output: {"file", "pesq_wb", "lag_ms"}.

Each output is aligned to the reference by the cross-correlation peak (the canceller's own
latency) before scoring.
"""
import json
import sys

import numpy as np
from pesq import pesq
from scipy.signal import correlate, resample_poly


def load(path, rate):
    x = np.fromfile(path, dtype="<i2").astype(np.float64)
    return resample_poly(x, 1, 3) if rate == 48000 else x


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rate = int(sys.argv[1])
    ref = load(sys.argv[2], rate)
    fs = 16000
    for path in sys.argv[3:]:
        out = load(path, rate)
        c = correlate(out[: len(ref) + fs // 10], ref, mode="valid", method="fft")
        lag = int(np.argmax(np.abs(c)))
        deg = out[lag : lag + len(ref)]
        deg = np.pad(deg, (0, len(ref) - len(deg)))
        score = pesq(fs, ref, deg, "wb")
        print(json.dumps({"file": path, "pesq_wb": round(float(score), 3), "lag_ms": lag / 16}))


if __name__ == "__main__":
    main()
