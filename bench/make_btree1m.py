#!/usr/bin/env python3
"""make_btree1m.py - write an HDF5 file with one dataset of exactly 1,000,000 chunks.

The dataset is /data: 1-D int32, 4,000,000 elements, chunks of 4 elements, maxshape
unlimited, no filters, written with libver 'earliest' so the chunk index is a
version 1 B-tree (HDF5 File Format Specification, III.A.1 "B-tree v1", node type 1).
Chunk i holds the values 4i..4i+3, so a reader can check any chunk it lists.

    make_btree1m.py OUT.h5 [--chunks 1000000] [--chunk-len 4]
"""
from __future__ import annotations

import argparse
import sys
import time

import h5py
import numpy as np


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--chunks", type=int, default=1_000_000)
    p.add_argument("--chunk-len", type=int, default=4)
    args = p.parse_args(argv)

    n = args.chunks * args.chunk_len
    start = time.perf_counter()
    with h5py.File(args.out, "w", libver="earliest") as f:
        ds = f.create_dataset("data", shape=(n,), dtype="<i4", chunks=(args.chunk_len,),
                              maxshape=(None,), fillvalue=-1)
        # One large write: HDF5 splits it into chunks and inserts each into the B-tree.
        # Writing in slabs keeps memory flat for bigger --chunks values.
        slab = 1 << 22
        for lo in range(0, n, slab):
            hi = min(n, lo + slab)
            ds[lo:hi] = np.arange(lo, hi, dtype="<i4")
        counted = ds.id.get_num_chunks()
    if counted != args.chunks:
        sys.exit("expected %d chunks, HDF5 reports %d" % (args.chunks, counted))
    print("%s: %d chunks of %d x int32 (%.1f s)" % (args.out, counted, args.chunk_len,
                                                     time.perf_counter() - start))


if __name__ == "__main__":
    main()
