#!/usr/bin/python3
"""Write a panel.h5 that holds K copies of another one's rows, for timing fits
on more rows than a preset makes (e.g. the `full` panel twice: ~10^8 rows).

usage: panel_copies.py SRC/panel.h5 DST/panel.h5 K [COLUMNS]

COLUMNS (comma-separated, default the paper's model (4) and `firm`) are the
/panel columns copied; copy c > 0 has its firm index shifted by c x (the
source's firm count), so every copy's firms are firms of their own (cluster
counts grow as they would with more firms).  Root attributes are copied, with
`rows` set to the new count and `panel_copies` saying what the file is.
Written to DST.tmp and renamed when complete.  Estimates on K copies equal
those on one (standard errors shrink by sqrt(K)); only the time is of interest.
"""
import os
import sys

import h5py
import numpy as np

DEFAULT = "export,density_firm,density_city,tradevalue,newexport,year,industry,firm,region,market"


def main():
    src, dst, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cols = (sys.argv[4] if len(sys.argv) > 4 else DEFAULT).split(",")
    tmp = dst + ".tmp"
    with h5py.File(src, "r") as f, h5py.File(tmp, "w") as g:
        n = f["panel/year"].shape[0]
        nfirms = f["firms/id"].shape[0]
        for a, v in f.attrs.items():
            g.attrs[a] = v
        g.attrs["rows"] = n * k
        g.attrs["panel_copies"] = f"{k} copies of the rows of {os.path.abspath(src)}; firm of copy c += c x {nfirms}"
        f.copy("firms", g)
        out = g.create_group("panel")
        step = 1 << 22
        for name in cols:
            s = f["panel"][name]
            d = out.create_dataset(name, shape=(n * k,), dtype=s.dtype, chunks=(65536,),
                                   compression="gzip", compression_opts=1)
            for a, v in s.attrs.items():
                d.attrs[a] = v
            for c in range(k):
                for i in range(0, n, step):
                    v = s[i:i + step]
                    if name == "firm":
                        v = v + c * nfirms
                    d[c * n + i:c * n + i + len(v)] = v
            print(f"{name}: {n * k:,} rows", flush=True)
    os.replace(tmp, dst)


if __name__ == "__main__":
    main()
