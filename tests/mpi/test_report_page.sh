#!/usr/bin/env bash
# The report page (src/stages/ks_report_page.c, docs/report-page.md) on a
# hand-written workdir: small report/data/*.dat, a tables/ CSV, a records.h5
# and a relatedness.h5 made with h5py.  Checks the figures (PNG signature,
# SVG parses), that index.html refers only to files that exist and to no URL,
# escapes HTML, notes missing optional inputs, names a missing data file,
# passes gnuplot's stderr on, and renders non-blank in headless chromium
# (skipped, exit 77, when chromium is not installed).
. "$(dirname "$0")/lib.sh"
DRIVER=${KS_REPORT_PAGE_DRIVER:-$(dirname "$KSPILL")/tests/report_page_driver}
[ -x "$DRIVER" ] || fail "no driver $DRIVER"

W=$WORK/wd
mkdir -p "$W/report/data" "$W/tables"
"$PY" - "$W" <<'PY'
import sys, math, h5py, numpy as np
w = sys.argv[1]; d = w + "/report/data/"
for v, s in (("firm", 0.10), ("city", 0.25)):
    with open(d + f"fig1_density_{v}.dat", "w") as f:
        f.write("# x kde_exported kde_not_exported\n")
        for i in range(512):
            x = i / 511
            f.write(f"{x!r} {math.exp(-(x-2*s)**2/0.02)!r} {math.exp(-(x-s)**2/0.01)!r}\n")
with open(d + "fig2_box.dat", "w") as f:
    f.write("# variable group n mean q1 median q3 whisker_low whisker_high min max\n")
    for v, b in (("density_firm", 0.1), ("density_city", 0.3)):
        for g, k in (("exported", 1.5), ("not_exported", 1.0)):
            m = b * k
            f.write(f"{v} {g} {int(1000*k)} {m} {m*0.7} {m*0.9} {m*1.3} {m*0.2} {m*2} 0 {m*3}\n")
with open(d + "fig3_box.dat", "w") as f:
    f.write("# year region variable n mean q1 median q3 whisker_low whisker_high min max\n")
    for y in (2009, 2016):
        for r, k in (("East", 1.4), ("Central", 1.1), ("West", 0.8), ("Northeast", 1.0)):
            for v, b in (("density_firm", 0.1), ("density_city", 0.3)):
                m = b * k * (1.2 if y == 2016 else 1)
                f.write(f"{y} {r} {v} 250 {m} {m*0.7} {m*0.9} {m*1.3} {m*0.2} {m*2} 0 {m*3}\n")
cities = [(1100, 116.4, 39.9, "East"), (3100, 121.5, 31.2, "East"), (4101, 113.6, 34.7, "Central"),
          (4201, 114.3, 30.6, "Central"), (5101, 104.1, 30.7, "West"), (6201, 103.8, 36.1, "West"),
          (2101, 123.4, 41.8, "Northeast"), (2301, 126.6, 45.8, "Northeast")]
with open(d + "fig4_city.dat", "w") as f:
    f.write("# year city lon lat region mean_density_firm mean_density_city n\n")
    for y in (2009, 2016):
        for i, (c, lon, lat, r) in enumerate(cities):
            f.write(f"{y} {c} {lon} {lat} {r} {0.05+0.02*i} {0.2+0.03*i} {10+i}\n")
with open(d + "fig5_yearly.dat", "w") as f:
    f.write("# year n_exported mean_density_firm_exported mean_density_city_exported "
            "n_not_exported mean_density_firm_not_exported mean_density_city_not_exported\n")
    for y in range(2002, 2017):
        t = y - 2002
        f.write(f"{y} {100+t} {0.12+0.004*t} {0.3+0.005*t} {900+t} {0.08+0.002*t} {0.25+0.004*t}\n")
with open(w + "/tables/table1.csv", "w") as f:
    f.write('term,"(1) <b>firm</b>","(2) a, b"\ndensity_firm,0.512***,"0.3 ""x"""\nN,1000,2000\n')
years = np.arange(2009, 2017, dtype=np.int32)
with h5py.File(w + "/records.h5", "w") as f:
    f["ingest_report/year"] = np.concatenate([[0], years]).astype(np.int32)
    for col in ("rows", "kept", "field_count", "trader", "processing", "unmapped_hs", "flows", "firms_kept"):
        f["ingest_report/" + col] = np.zeros(len(years) + 1, np.int64)
    f["ingest_report/trader"][1:] = 5
    f["ingest_report/kept"][1:] = 95
    f["ingest_report/rows"][1:] = 100
    f["firm_years/year"] = np.repeat(years, 3).astype(np.int16)
    f["firm_years/city"] = np.tile([1100, 3100, 1100], len(years)).astype(np.int32)
    f["firm_years/rows_kept"] = np.ones(3 * len(years), np.int64)
    for y in years:
        f[f"flows/{y}/hs4"] = np.array([101, 102, 101, 8471], np.int32)
rng = np.random.default_rng(1)
p = rng.random((30, 30)); p = (p + p.T) / 2; p[p < 0.5] = 0; np.fill_diagonal(p, 1)
with h5py.File(w + "/relatedness.h5", "w") as f:
    f["products/hs4"] = np.arange(30, dtype=np.int32)
    f["phi/2016"] = p
PY

"$DRIVER" "$W" || fail "the report page of a complete workdir failed"
R=$W/report
for n in 1 2 3 4 5; do
  for ext in png svg gp; do [ -s "$R/fig$n.$ext" ] || fail "no $R/fig$n.$ext"; done
done
ls -A "$R" | grep -q partial && fail "partial files left in $R: $(ls -A "$R")"
ok "fig1..fig5 .png .svg .gp written, no partial file left"

"$PY" - "$R/index.html" <<'PY' || fail "index.html check"
import sys, os, re, xml.etree.ElementTree as ET
path = sys.argv[1]; html = open(path, encoding="utf-8").read(); base = os.path.dirname(path)
imgs = re.findall(r'<img src="([^"]+)"', html)
assert len(imgs) == 5, imgs
for src in imgs + re.findall(r'<a href="([^"]+)"', html):
    assert "://" not in src, src
    f = os.path.join(base, src); assert os.path.getsize(f) > 1000, f
    head = open(f, "rb").read(8)
    if f.endswith(".png"): assert head == b"\x89PNG\r\n\x1a\n", f
    else: ET.parse(f)
assert "http://" not in html and "https://" not in html and "<script" not in html.lower()
assert "report page test &lt;&amp;&gt;" in html, "job name not escaped"
assert "(1) &lt;b&gt;firm&lt;/b&gt;" in html and "0.3 &quot;x&quot;" in html and "(2) a, b" in html
assert "<caption>table1.csv</caption>" in html
assert "Deciles of &phi;" in html and "2016" in html and "2009" in html
assert "no public outline" in html and "n = 1500" in html
assert "<td>trader</td>" not in html and "<th>trader</th>" in html
print("index.html: 5 images valid, links local, HTML escaped, tables, deciles, ingest report")
PY
ok "index.html refers to valid local images only and escapes HTML"

# a figure redrawn from its .gp and .dat with gnuplot alone
(cd "$R" && gnuplot -e "out='redrawn'" fig2.gp) || fail "gnuplot fig2.gp in $R"
[ -s "$R/redrawn.png" ] && [ -s "$R/redrawn.svg" ] || fail "fig2.gp did not redraw"
rm -f "$R/redrawn.png" "$R/redrawn.svg"
ok "gnuplot fig2.gp redraws the figure"

# missing optional inputs: notes on the page, no failure
mv "$W/tables" "$W/tables.off"; mv "$W/relatedness.h5" "$W/rel.off"
"$DRIVER" "$W" || fail "the page failed without tables/ and relatedness.h5"
grep -q 'class="note">No tables' "$R/index.html" || fail "no note on the missing tables"
grep -q 'class="note">Not available (file missing): .*relatedness.h5' "$R/index.html" ||
  fail "no note on the missing relatedness.h5"
mv "$W/tables.off" "$W/tables"; mv "$W/rel.off" "$W/relatedness.h5"
ok "missing tables/ and relatedness.h5 are notes on the page"

# a missing data file is an error naming it
mv "$R/data/fig3_box.dat" "$WORK/fig3.off"
out=$("$DRIVER" "$W" 2>&1) && fail "the page succeeded without fig3_box.dat"
grep -q "fig3_box.dat" <<<"$out" || fail "the error does not name fig3_box.dat: $out"
mv "$WORK/fig3.off" "$R/data/fig3_box.dat"
ok "missing data file: $(cut -c1-150 <<<"$out")"

# gnuplot's failure passes its stderr on
mkdir -p "$WORK/fakebin"
printf '#!/bin/sh\necho "fake gnuplot: no cairo here" >&2\nexit 3\n' > "$WORK/fakebin/gnuplot"
chmod +x "$WORK/fakebin/gnuplot"
out=$(PATH="$WORK/fakebin:$PATH" "$DRIVER" "$W" 2>&1) && fail "the page succeeded with a failing gnuplot"
grep -q "exit status 3): fake gnuplot: no cairo here" <<<"$out" || fail "gnuplot's stderr not passed on: $out"
ok "failing gnuplot: $(cut -c1-150 <<<"$out")"
"$DRIVER" "$W" || fail "the page failed after the fake gnuplot"

# the page in headless chromium: it renders, and not blank
command -v chromium >/dev/null || { echo "SKIP: chromium is not installed (scripts/setup installs it)"; exit 77; }
timeout 50 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chrome" \
  --proxy-server=127.0.0.1:9 --host-resolver-rules="MAP * ~NOTFOUND" \
  --screenshot="$WORK/page.png" --window-size=1200,4000 "file://$R/index.html" \
  >"$WORK/chrome.log" 2>&1 || { cat "$WORK/chrome.log" >&2; fail "chromium could not render the page"; }
"$PY" - "$WORK/page.png" <<'PY' || fail "the screenshot looks blank"
import sys
try:
    from PIL import Image
except ImportError:  # python3-pil missing: a blank page compresses to almost nothing
    import os; n = os.path.getsize(sys.argv[1]); assert n > 50000, n; print(f"{n} bytes"); sys.exit()
im = Image.open(sys.argv[1]).convert("RGB")
colours = len(set(im.getdata()))
assert colours > 10, colours
print(f"screenshot {im.size}: {colours} distinct colours")
PY
ok "chromium renders the page"

# every image of the page loaded in chromium: a copy of the page, next to it so
# that its relative links resolve, with a script that lists each <img> as
# "SRC ok|broken" (complete with a natural width) into the DOM after load
"$PY" - "$R/index.html" "$R/.imgcheck.html" <<'PY'
import sys
page = open(sys.argv[1], encoding="utf-8").read()
probe = ("<script>window.addEventListener('load', () => { const p = document.createElement('pre');"
         " p.id = 'imgcheck'; p.textContent = [...document.images].map(i => i.getAttribute('src') + ' ' +"
         " (i.complete && i.naturalWidth > 0 ? 'ok' : 'broken')).join('\\n') + '\\nend';"
         " document.body.appendChild(p); });</script>")
open(sys.argv[2], "w", encoding="utf-8").write(page.replace("</body>", probe + "</body>"))
PY
timeout 50 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chrome2" \
  --proxy-server=127.0.0.1:9 --host-resolver-rules="MAP * ~NOTFOUND" --allow-file-access-from-files \
  --virtual-time-budget=10000 --dump-dom "file://$R/.imgcheck.html" >"$WORK/dom.html" 2>"$WORK/chrome2.log" ||
  { cat "$WORK/chrome2.log" >&2; fail "chromium could not load the page to check its images"; }
rm -f "$R/.imgcheck.html"
"$PY" - "$R/index.html" "$WORK/dom.html" <<'PY' || fail "an image of the page did not load in chromium"
import re, sys
want = re.findall(r'<img[^>]*src="([^"]+)"', open(sys.argv[1], encoding="utf-8").read())
m = re.search(r'<pre id="imgcheck">(.*?)</pre>', open(sys.argv[2], encoding="utf-8").read(), re.S)
assert m, "the probe did not run"
lines = m.group(1).strip().split("\n")
assert lines[-1] == "end", lines
got = dict(l.rsplit(" ", 1) for l in lines[:-1])
assert len(want) >= 5 and sorted(got) == sorted(want), (want, got)
bad = [k for k, v in got.items() if v != "ok"]
assert not bad, f"not loaded: {bad}"
print(f"{len(got)} images, every one loaded")
PY
ok "chromium loaded every image of the page"
