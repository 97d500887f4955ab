#!/usr/bin/env bash
# report.html in a real browser: `oacim report` regenerates the report of the fixed results.json
# (tests/data/report), headless Chromium renders it to a PNG, and the screenshot must be a page:
# mostly white, with enough ink, the verdict red (the fixture has error points) and the plot colours.
# Then the offset-lambda sweep (tests/data/report-energy, a real run of configs/offset-lambda.yaml):
# its energy section's Pareto plot, rendered on its own, must draw the front (red line and filled
# points) and the dominated point (blue ring).
set -u
source "${SRC:?}/tests/cli/lib.sh" "$@"
cp "$SRC/tests/data/report/results.json" "$work/"
"$OACIM" report "$work" >/dev/null || fail "oacim report"
bash "$SRC/tools/report-screenshot.sh" "$work/report.html" "$work/report.png" 1280x2400 || fail "no screenshot"
check_png() {  # PNG, then name=rrggbb:min_pixels ... (every 4th pixel counted)
"$PYTHON" - "$@" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width = 8, b"", 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), (depth, ctype)
        bpp = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
stride = width * bpp
prev = bytearray(stride)
pixels = {}
ink = 0
for y in range(height):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    for x in range(0, stride, bpp * 4):  # every 4th pixel is plenty
        px = bytes(line[x:x + 3])
        pixels[px] = pixels.get(px, 0) + 1
        if px != b"\xff\xff\xff":
            ink += 1
total = sum(pixels.values())
white = pixels.get(b"\xff\xff\xff", 0) / total
assert white < 0.97, f"blank page ({white:.3f} white)"
assert ink / total > 0.03, f"too little drawn ({ink / total:.3f})"
def near(rgb, tol=40):
    return sum(n for px, n in pixels.items() if all(abs(px[k] - rgb[k]) <= tol for k in range(3)))
for spec in sys.argv[2:]:
    name, rest = spec.split("=")
    hexrgb, least = rest.split(":")
    rgb = tuple(int(hexrgb[k:k + 2], 16) for k in (0, 2, 4))
    assert near(rgb) > int(least), f"no {name} in the rendering ({near(rgb)} pixels)"
print(f"screenshot {width}x{height}: {100 * (1 - white):.1f} % ink, {len(pixels)} colours")
PY
}
check_png "$work/report.png" "plot-blue=4e79a7:20" "plot-orange=f28e2b:20" "verdict-red=c62828:20" ||
  fail "the screenshot is not a rendered report"

mkdir -p "$work/energy"
cp "$SRC/tests/data/report-energy/results.json" "$work/energy/"
"$OACIM" report "$work/energy" >/dev/null || fail "oacim report (energy)"
grep -q "## Energy and latency" "$work/energy/report.md" || fail "no energy section in report.md"
grep -q "offsets=true offset_lambda=64 | 4.76e+05" "$work/energy/report.md" || fail "energy per token of the lambda 64 point"
# The Pareto plot alone: the last SVG of the energy section.
"$PYTHON" - "$work/energy/report.html" "$work/energy/pareto.html" <<'PY' || fail "no Pareto plot in report.html"
import sys
html = open(sys.argv[1]).read()
at = html.index("against energy per token (lower left is better)")
svg = html[html.rindex("<svg", 0, at):html.index("</svg>", at) + 6]
assert svg.count("<polyline") == 1 and svg.count("<circle") == 2 + 6, "front line and 6 points expected"
open(sys.argv[2], "w").write("<!DOCTYPE html><html><body style='margin:0'>" + svg + "</body></html>")
PY
bash "$SRC/tools/report-screenshot.sh" "$work/energy/pareto.html" "$work/energy/pareto.png" 950x420 || fail "no screenshot (Pareto)"
check_png "$work/energy/pareto.png" "front-red=e15759:60" "dominated-ring=4e79a7:2" || fail "the Pareto plot is not drawn"
[ "$fails" -eq 0 ] && echo "report HTML: rendered in Chromium"
exit "$fails"
