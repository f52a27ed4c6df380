#!/usr/bin/env python3
"""Where two receivers' outputs differ, and what it costs: per-sentence PESQ-WB and a block
comparison against a reference receiver (normally the fixed buffer).

usage: segments.py DIR ENGINE... [--against REF]   (DIR as written by run.sh)

1. Sentences: the reference signal is split at pauses of 400 ms or more; each sentence (with
   200 ms either side) is scored with PESQ-WB against each ENGINE's output, aligned by the
   cross-correlation peak within the sentence (so a delay change before it costs nothing).
2. With --against REF: each 100 ms block of speech in the first ENGINE's output is matched to
   REF's output (best shift within 200 ms, 1 ms steps); printed are the blocks where the shift
   changes or the match is below 60 dB SNR. Two receivers that play the same media on the same
   timeline give identical samples (SNR above 150 dB): what is printed is where they differ.
"""
import sys

import numpy as np
from pesq import pesq
from scipy.signal import correlate, resample_poly


def load(path):
    return np.fromfile(path, dtype="<i2").astype(np.float64)


def sentences(ref, fs):
    frame = fs // 50
    energy = [np.sqrt(np.mean(ref[i : i + frame] ** 2)) for i in range(0, len(ref) - frame, frame)]
    segs, start, quiet, last = [], None, 0, 0
    for i, e in enumerate(energy):
        if e > 100:
            start = i if start is None else start
            quiet, last = 0, i
        elif start is not None:
            quiet += 1
            if quiet * frame >= 0.4 * fs:
                segs.append((start, last + 1))
                start = None
    if start is not None:
        segs.append((start, last + 1))
    pad = fs // 5
    return [(max(0, a * frame - pad), min(len(ref), b * frame + pad)) for a, b in segs]


def per_sentence(d, engines):
    fs = 16000
    ref = resample_poly(load(f"{d}/ref.pcm"), 1, 3)
    segs = sentences(ref, fs)
    print("sentences (s):", " ".join(f"{a / fs:.2f}-{b / fs:.2f}" for a, b in segs))
    for eng in engines:
        out = resample_poly(load(f"{d}/{eng}.pcm"), 1, 3)
        scores = []
        for a, b in segs:
            r = ref[a:b]
            c = correlate(out[a : b + fs // 2], r, mode="valid", method="fft")
            lag = int(np.argmax(np.abs(c)))
            deg = out[a + lag : b + lag]
            deg = np.pad(deg, (0, len(r) - len(deg)))
            scores.append(pesq(fs, r, deg, "wb"))
        print(f"{eng}: " + " ".join(f"{s:.2f}" for s in scores) + f"  mean {np.mean(scores):.3f}")


def blocks(d, eng, against):
    a, b = load(f"{d}/{eng}.pcm"), load(f"{d}/{against}.pcm")
    n, blk, step, reach = min(len(a), len(b)), 4800, 48, 9600
    last = None
    print(f"{eng} against {against}: time s, shift ms ({against} plays it that much later), SNR dB")
    for s in range(0, n - blk, blk):
        x = a[s : s + blk]
        if np.sqrt(np.mean(x**2)) < 100:
            continue
        err, shift = min(
            (np.sum((b[s + sh : s + sh + blk] - x) ** 2), sh)
            for sh in range(-reach, reach + 1, step)
            if 0 <= s + sh and s + sh + blk <= n
        )
        snr = 10 * np.log10(np.sum(x**2) / (err + 1e-9))
        if snr < 60 or shift != last:
            print(f"{s / 48000:6.2f} {shift / 48:+7.1f} {snr:7.1f}")
        last = shift


def main():
    args = sys.argv[1:]
    against = None
    if "--against" in args:
        i = args.index("--against")
        against = args[i + 1]
        args = args[:i] + args[i + 2 :]
    if len(args) < 2:
        sys.exit(__doc__)
    d, engines = args[0], args[1:]
    per_sentence(d, engines + ([against] if against else []))
    if against:
        blocks(d, engines[0], against)


if __name__ == "__main__":
    main()
