"""Cross-check peer for crates/srtp/tests/interop_libsrtp.rs, driving libsrtp via pylibsrtp.

Reads lines from stdin:
    profile <dtls id, decimal>
    key <hex master key || master salt>
    rtp <hex>     plaintext RTP: protect with libsrtp, print "srtp <hex>"
    rtcp <hex>    plaintext RTCP: protect, print "srtcp <hex>"
    srtp <hex>    SRTP from Tern: unprotect, print "rtp <hex>" or "rtp-error <message>"
    srtcp <hex>   SRTCP from Tern: unprotect, print "rtcp <hex>" or "rtcp-error <message>"
    version       print "version pylibsrtp <version> libsrtp <version>"
Outbound and inbound use separate libsrtp sessions with the same key.
"""

import sys
from importlib.metadata import version

import pylibsrtp


def main() -> None:
    profile = None
    tx = rx = None
    out = sys.stdout
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        op, arg = parts[0], parts[1] if len(parts) > 1 else ""
        if op == "profile":
            profile = int(arg)
        elif op == "key":
            key = bytes.fromhex(arg)
            tx = pylibsrtp.Session(pylibsrtp.Policy(
                key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
            rx = pylibsrtp.Session(pylibsrtp.Policy(
                key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND, srtp_profile=profile))
        elif op == "rtp":
            out.write("srtp " + tx.protect(bytes.fromhex(arg)).hex() + "\n")
        elif op == "rtcp":
            out.write("srtcp " + tx.protect_rtcp(bytes.fromhex(arg)).hex() + "\n")
        elif op == "srtp":
            try:
                out.write("rtp " + rx.unprotect(bytes.fromhex(arg)).hex() + "\n")
            except pylibsrtp.Error as e:
                out.write("rtp-error " + str(e).replace(" ", "_") + "\n")
        elif op == "srtcp":
            try:
                out.write("rtcp " + rx.unprotect_rtcp(bytes.fromhex(arg)).hex() + "\n")
            except pylibsrtp.Error as e:
                out.write("rtcp-error " + str(e).replace(" ", "_") + "\n")
        elif op == "version":
            lib = pylibsrtp._binding.lib
            ffi = pylibsrtp._binding.ffi
            libv = ffi.string(lib.srtp_get_version_string()).decode() \
                if hasattr(lib, "srtp_get_version_string") else "2.x (bundled)"
            out.write("version pylibsrtp-%s %s\n" % (version("pylibsrtp"), libv.replace(" ", "-")))
        else:
            out.write("unknown-op " + op + "\n")
    out.flush()


if __name__ == "__main__":
    main()
