#!/usr/bin/env python3
# link/data.py: the data half of link/order. Finds the input sections of writable data (.data,
# .bss, .data.rel.ro) that swiftd writes, and prints one symbol of each, so that lld lays them
# out first, together. A page of writable data that is written becomes a private copy: in every
# quiet supervisor it stays resident, and in a command it costs a page fault. Spread over the
# binary's 1.5 MB of data, a supervisor's few kB of written variables dirtied 35 pages.
#
#   data.py stores MAP BINARY TRACE...       sections holding an address valgrind's lackey saw
#                                            stored to (commands, and a start as far as valgrind
#                                            runs it)
#   data.py census MAP BINARY PID FAULTS     sections holding an address of a page fault (perf's
#                                            addresses, in FAULTS) on a page of BINARY's data that
#                                            PID holds a private copy of now: what a real
#                                            supervisor and the start before it wrote
#
# A page fault names only the first variable touched on its page; run the census again after
# relinking, and the next one shows.
# Each prints "SIZE NAME" lines. MAP is lld's map of BINARY; a symbol named last on a line of
# the file ORDERED (environment) is not printed again. A section is named by a symbol of its
# own whose name no other symbol has (the order file names symbols, and a local name may recur
# in many objects); a section with none (the linker's own .got) is left where it is.
import bisect, functools, os, re, struct, subprocess, sys

DATA = (".data", ".bss", ".data.rel.ro", ".tdata", ".tbss")


@functools.lru_cache(maxsize=None)
def sections(map_path):
    """The input sections of the writable output sections: (address, size, output name)."""
    row = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+(\S.*)$")
    found, output, column = [], None, None
    for line in open(map_path, errors="replace"):
        m = row.match(line.rstrip("\n"))
        if not m:
            continue
        vma, size, rest, at = int(m.group(1), 16), int(m.group(2), 16), m.group(3).strip(), m.start(3)
        if ":(" in rest and rest.endswith(")"):
            column = at
            if output in DATA and size > 0:
                found.append((vma, size, output))
        elif column is None or at <= column:
            output = rest
    return sorted(found)


def symbols(binary):
    """(address, name) of every symbol whose name is unique in BINARY, by address."""
    names, count = [], {}
    for line in subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            names.append((int(fields[0], 16), fields[2]))
            count[fields[2]] = count.get(fields[2], 0) + 1
    return sorted((a, n) for a, n in names if count[n] == 1)


def name_sections(map_path, binary, addresses):
    """One unique symbol for each section holding one of ADDRESSES, with the section's size."""
    found = sections(map_path)
    starts = [s[0] for s in found]
    named = symbols(binary)
    at = [a for a, _ in named]
    chosen = {}
    for address in addresses:
        k = bisect.bisect_right(starts, address) - 1
        if k < 0 or found[k][0] + found[k][1] <= address or k in chosen:
            continue
        start, size, _ = found[k]
        j = bisect.bisect_left(at, start)
        if j < len(named) and named[j][0] < start + size:
            chosen[k] = (start, size, named[j][1])
    return sorted(chosen.values())


def stores(paths):
    """Every address a lackey trace (--trace-mem=yes) stored to or modified."""
    seen = set()
    for path in paths:
        for line in open(path, errors="replace"):
            if line.startswith(" S ") or line.startswith(" M "):
                seen.add(int(line[3:].split(",", 1)[0], 16))
    return seen


def private_pages(pid, binary):
    """The pages of PID mapping BINARY (or right after it: .bss) that are private copies."""
    real = os.path.realpath(binary)
    pages, last_end = [], None
    pagemap = open(f"/proc/{pid}/pagemap", "rb")
    flags = open("/proc/kpageflags", "rb")
    for line in open(f"/proc/{pid}/maps"):
        fields = line.split()
        low, high = (int(x, 16) for x in fields[0].split("-"))
        ours = len(fields) >= 6 and os.path.realpath(fields[5]) == real
        bss = len(fields) == 5 and last_end == low     # anonymous, right after the binary's data
        last_end = high if ours else None
        if not (ours or bss):
            continue
        for page in range(low, high, 4096):
            pagemap.seek(page // 4096 * 8)
            entry = struct.unpack("Q", pagemap.read(8))[0]
            if entry >> 63 & 1 and not entry >> 61 & 1:      # present, and not the file's own page
                flags.seek((entry & (1 << 55) - 1) * 8)          # nor the shared zero page (bit 24),
                if not struct.unpack("Q", flags.read(8))[0] >> 24 & 1:   # which a read maps
                    pages.append(page)
    return set(pages)


def main():
    mode, map_path, binary = sys.argv[1:4]
    if mode == "stores":
        addresses = stores(sys.argv[4:])
    else:
        private = private_pages(int(sys.argv[4]), binary)
        faults = set()
        for line in open(sys.argv[5]):
            try:
                faults.add(int(line.strip(), 16))
            except ValueError:
                pass
        addresses = [a for a in faults if a & ~4095 in private]
        # A private page without a fault of its own (a page can turn private without one: the
        # copy a parent kept when it wrote after the fork, a write the kernel made): every small
        # section on it.
        faulted = {a & ~4095 for a in faults}
        for page in private - faulted:
            addresses.extend(start for start, size, _ in sections(map_path)
                             if size < 4096 and start < page + 4096 and start + size > page)
            addresses.append(page)
    ordered = {line.split()[-1] for line in open(os.environ["ORDERED"]) if line.strip()} if os.environ.get("ORDERED") else set()
    # "SIZE NAME", in address order: link/order lays out the small ones first.
    for _, size, name in name_sections(map_path, binary, addresses):
        if name not in ordered:
            print(size, name)


main()
