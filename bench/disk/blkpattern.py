#!/usr/bin/env python3
"""The host side of guests/blk.c's data formats, to check a disk image the guest wrote or to write
one it then checks.

  blkpattern.py write IMG SEED START SECTORS   writes the seeded pattern (as the guest's pattern)
  blkpattern.py check IMG SEED START SECTORS   verifies it; prints crc32= as the guest does, exit 1 on a mismatch
  blkpattern.py crc IMG START SECTORS          prints the CRC-32 (zlib) of the range
  blkpattern.py seq IMG START SPAN             checks seq's 4 KiB blocks in SPAN sectors: a run 0..N-1 with no
                                               gap, no repeat, no torn block; prints written=N (wrapping: see blk.c)
The pattern's u64 at byte 8*k of the disk is splitmix64's finaliser of k + SEED * 0x9e3779b97f4a7c15."""
import struct
import sys
import zlib

M = (1 << 64) - 1
SEQ_MAGIC = 0x3130515345534B42


def word(seed, k):
    z = (k + seed * 0x9E3779B97F4A7C15) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def pattern(seed, start, sectors):
    k0 = start * 64
    return struct.pack(f"<{sectors * 64}Q", *(word(seed, k0 + i) for i in range(sectors * 64)))


def read(img, start, sectors):
    with open(img, "rb") as f:
        f.seek(start * 512)
        data = f.read(sectors * 512)
    if len(data) != sectors * 512:
        sys.exit(f"{img}: range ends past the end of the image")
    return data


def main(argv):
    cmd, img, nums = argv[1], argv[2], [int(x) for x in argv[3:]]
    if cmd == "write":
        seed, start, sectors = nums
        with open(img, "r+b") as f:
            f.seek(start * 512)
            f.write(pattern(seed, start, sectors))
        print(f"write seed={seed} start={start} sectors={sectors} crc32={zlib.crc32(pattern(seed, start, sectors)):#x}")
    elif cmd == "check":
        seed, start, sectors = nums
        data, want = read(img, start, sectors), pattern(seed, start, sectors)
        bad = next((i // 512 for i in range(0, len(data), 512) if data[i:i + 512] != want[i:i + 512]), None)
        print(f"check seed={seed} start={start} sectors={sectors} crc32={zlib.crc32(data):#x} "
              + ("ok" if bad is None else f"mismatch sector={start + bad}"))
        return 0 if bad is None else 1
    elif cmd == "crc":
        start, sectors = nums
        print(f"crc start={start} sectors={sectors} crc32={zlib.crc32(read(img, start, sectors)):#x}")
    elif cmd == "seq":
        start, span = nums[0], nums[1] // 8
        data = read(img, start, span * 8)
        seen = {}
        for b in range(span):
            blk = data[b * 4096:(b + 1) * 4096]
            if blk == bytes(4096):
                continue
            magic, i = struct.unpack_from("<QQ", blk)
            if magic != SEQ_MAGIC or blk[8:] != struct.pack("<Q", i) * 511 or i % span != b:
                print(f"seq FAIL block {b} is torn or misplaced (magic {magic:#x}, number {i})")
                return 1
            seen[b] = i
        n = max(seen.values(), default=-1) + 1
        want = {i % span: i for i in range(max(0, n - span), n)}
        if seen != want:
            missing = sorted(set(want.items()) - set(seen.items()))[:5]
            print(f"seq FAIL written={n} but blocks differ from an unbroken run, first missing (block, number): {missing}")
            return 1
        print(f"seq written={n} ok")
    else:
        sys.exit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
