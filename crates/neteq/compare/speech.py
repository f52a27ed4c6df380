#!/usr/bin/env python3
"""Writes the speech the NetEq comparison sends: sentences spoken by espeak-ng (Debian package
espeak-ng; nothing is downloaded), two voices taking turns, 700 ms pauses between sentences
(PESQ scores utterance by utterance, and a jitter buffer is expected to adapt in the pauses),
resampled to 48 kHz, peak-normalized to -3 dBFS, as raw s16le mono.

usage: speech.py OUT.pcm [SECONDS]   (default 19 s: fits the 20 s traces)
"""
import subprocess
import sys
import tempfile
import wave

import numpy as np
from scipy.signal import resample_poly

# Our own sentences, phonetically varied, plain English.
SENTENCES = [
    "A small boat drifted past the old stone bridge at dawn.",
    "Please check the red valve before you open the second tank.",
    "Seven thin wires carry the signal across the quiet valley.",
    "She found the missing key under a pile of yellow leaves.",
    "Heavy rain kept the market closed for most of the week.",
    "Bring the map, the torch and a warm coat for the night.",
    "The engineer measured the echo in the empty concert hall.",
    "Fresh bread and hot soup were waiting on the kitchen table.",
    "Our train leaves at nine, so pack your bag this evening.",
    "A gentle wind moved the tall grass along the river bank.",
]
VOICES = ["en-us", "en-us+f3"]
RATE = 48_000


def say(text, voice):
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["espeak-ng", "-v", voice, "-s", "155", "-w", f.name, text], check=True)
        with wave.open(f.name) as w:
            assert w.getnchannels() == 1 and w.getsampwidth() == 2
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    if rate != 22050:
        sys.exit(f"espeak-ng wrote {rate} Hz, expected 22050")
    # Trim espeak's own leading/trailing silence, then 22.05 -> 48 kHz.
    active = np.nonzero(np.abs(x) > 50)[0]
    x = x[active[0] : active[-1] + 1] if len(active) else x
    return resample_poly(x, 320, 147)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 19.0
    pause = np.zeros(int(0.7 * RATE))
    out = [np.zeros(RATE // 2)]
    total = RATE // 2
    count = 0
    for i, text in enumerate(SENTENCES):
        s = say(text, VOICES[i % 2])
        if total + len(s) + RATE // 2 > seconds * RATE:
            break
        out += [s, pause]
        total += len(s) + len(pause)
        count += 1
    x = np.concatenate(out)
    x = np.pad(x, (0, max(0, int(seconds * RATE) - len(x))))
    x *= 0.7 * 32767 / max(np.max(np.abs(x)), 1)
    x.astype("<i2").tofile(sys.argv[1])
    print(f"{len(x) / RATE:.2f} s of speech, {count} sentences", file=sys.stderr)


if __name__ == "__main__":
    main()
