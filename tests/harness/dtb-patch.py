#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""dtb-patch.py IN OUT 'FROM => TO': the device tree blob IN with the bytes
FROM replaced by TO, as OUT (run-vm.sh, for a machine config's dtb_patch).

FROM and TO are written with \\0 for a NUL byte (the separator of a string
list such as "compatible"), have the same length (so no offset in the
blob moves) and FROM occurs exactly once.  OUT is also trimmed to the
blob's real size: QEMU dumps its trees padded to 1 MiB, and an arm64 kernel
cannot map a tree of more than 2 MiB, which QEMU's own headroom for a
-dtb file would make of it.
"""
import struct
import sys


def unescape(s):
    return s.encode().replace(b"\\0", b"\0")


def main():
    if len(sys.argv) != 4 or " => " not in sys.argv[3]:
        sys.exit("usage: dtb-patch.py IN OUT 'FROM => TO'")
    frm, to = (unescape(x.strip()) for x in sys.argv[3].split(" => ", 1))
    if len(frm) != len(to):
        sys.exit("dtb-patch: '%s' and '%s' differ in length" % (frm, to))
    blob = bytearray(open(sys.argv[1], "rb").read())
    magic, _, off_struct, off_strings, _, _, _, _, size_strings, size_struct = \
        struct.unpack(">10I", blob[:40])
    if magic != 0xd00dfeed:
        sys.exit("dtb-patch: %s is no device tree blob" % sys.argv[1])
    n = blob.count(frm)
    if n != 1:
        sys.exit("dtb-patch: %r occurs %d times in %s, not once" % (frm, n, sys.argv[1]))
    i = blob.index(frm)
    blob[i:i + len(frm)] = to
    end = (max(off_strings + size_strings, off_struct + size_struct) + 7) & ~7
    struct.pack_into(">I", blob, 4, end)
    open(sys.argv[2], "wb").write(bytes(blob[:end]))


if __name__ == "__main__":
    main()
