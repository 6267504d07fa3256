"""The zero-initialised data (`.bss`) that a running agent has written, as a linker's symbol order.

Usage: bss.py PID BINARY (BINARY is the file the process runs; root, or the process's owner, reads its memory).
A `.bss` symbol whose bytes in the process (`/proc/PID/mem`) are not all zero has been written: the runtime's metadata
caches and allocator pools, the globals that start-up and the steady state set. Left out: names defined more than
once in the binary. The linker moves a listed symbol's whole section (an object's `.bss`: the code here is compiled
without data sections) to the front of `.bss`, so the written data shares pages instead of lying spread over 1.6 MB
of pages that are mostly never written: each written 4 KB page of `.bss` stays resident for the life of the process.
"""
import collections
import os
import subprocess
import sys


def main() -> None:
    pid, binary = int(sys.argv[1]), os.path.realpath(sys.argv[2])
    symbols = []
    defined: collections.Counter[str] = collections.Counter()
    nm = subprocess.run(["nm", "-n", "-S", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    for line in nm.splitlines():
        fields = line.split()
        if len(fields) == 4:
            defined[fields[3]] += 1
            if fields[2] in "bB":
                symbols.append((int(fields[0], 16), int(fields[1], 16), fields[3]))
    base = None
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5].strip() == binary and int(fields[2], 16) == 0:
                base = int(fields[0].split("-")[0], 16)
                break
    if base is None:
        sys.exit(f"bss.py: process {pid} does not map {binary}")
    written = []
    with open(f"/proc/{pid}/mem", "rb") as memory:
        for address, size, name in symbols:
            if defined[name] > 1 or size == 0:
                continue
            memory.seek(base + address)
            if any(memory.read(size)):
                written.append(name)
    sys.stdout.write("".join(name + "\n" for name in written))


if __name__ == "__main__":
    main()
