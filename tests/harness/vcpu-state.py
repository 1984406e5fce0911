#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""vcpu-state.py MONITOR_SOCKET SYSTEM_MAP: where a hung guest's vCPUs are.

Asks QEMU's human monitor (a unix socket) for every vCPU's registers, twice,
a second apart, and prints for each vCPU its program counter resolved
against the guest kernel's System.map (the guest boots with nokaslr), or
"user space".  Debian's System.map is a stub: for its kernels the
addresses stay numeric, to be looked up in linux-image-REL-dbg's.  A vCPU at the same kernel function in both samples with
interrupts off is spinning there: that tells a guest hang from a slow test.
The raw register dumps follow the summary.
"""
import bisect
import re
import socket
import sys
import time


def monitor(path, cmd):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    out = b""
    try:
        out += s.recv(65536)            # the banner and the prompt
        s.sendall(cmd.encode() + b"\n")
        time.sleep(1)
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            out += chunk
            if out.rstrip().endswith(b"(qemu)"):
                break
    except socket.timeout:
        pass
    s.close()
    return out.decode(errors="replace")


def load_map(path):
    addrs, names = [], []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 3 and p[1] in "tTwW":
                addrs.append(int(p[0], 16))
                names.append(p[2])
    order = sorted(range(len(addrs)), key=addrs.__getitem__)
    return [addrs[i] for i in order], [names[i] for i in order]


def resolve(pc, addrs, names):
    if pc < 0xffff000000000000:
        return "user space"
    i = bisect.bisect_right(addrs, pc) - 1
    if i < 0 or pc - addrs[i] > 0x100000:
        return "0x%x" % pc
    return "%s+0x%x" % (names[i], pc - addrs[i])


def samples(text):
    """[(cpu, pc, irqs_on)] from 'info registers -a' (x86_64 or arm64)."""
    out = []
    for block in re.split(r"\n(?=CPU#\d+)", text):
        m = re.match(r"CPU#(\d+)", block)
        if not m:
            continue
        pc = re.search(r"\b(?:RIP|PC)=([0-9a-f]+)", block)
        if not pc:
            continue
        irq = None
        fl = re.search(r"\bRFL=([0-9a-f]+)", block)       # x86: IF is bit 9
        if fl:
            irq = bool(int(fl.group(1), 16) & 0x200)
        ps = re.search(r"PSTATE=([0-9a-f]+)", block)      # arm64: I is bit 7
        if ps:
            irq = not int(ps.group(1), 16) & 0x80
        out.append((int(m.group(1)), int(pc.group(1), 16), irq))
    return out


def main():
    sock, smap = sys.argv[1], sys.argv[2]
    try:
        addrs, names = load_map(smap)
    except OSError as e:
        addrs, names = [], []
        print("no System.map: %s" % e)
    if len(addrs) < 1000:
        # Debian ships a stub; the real one is in linux-image-REL-dbg, and
        # the addresses below are what it lists (the guest has nokaslr).
        print("System.map %s has no symbols: addresses are unresolved" % smap)
        addrs, names = [], []
    dumps = [monitor(sock, "info registers -a") for _ in range(2)]
    first, second = samples(dumps[0]), samples(dumps[1])
    if not first:
        print("no register dump from the QEMU monitor")
    for (cpu, pc, irq), later in zip(first, second + [None] * len(first)):
        where = resolve(pc, addrs, names)
        then = resolve(later[1], addrs, names) if later else "?"
        irqs = {True: "irqs on", False: "irqs off", None: "irqs ?"}[irq]
        print("vCPU %d: %s, then %s (%s)" % (cpu, where, then, irqs))
    for i, d in enumerate(dumps):
        print("--- sample %d ---" % (i + 1))
        print(d)


if __name__ == "__main__":
    main()
