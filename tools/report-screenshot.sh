#!/usr/bin/env bash
# Renders a report.html to a PNG with headless Chromium (the docs' screenshot; the HTML test).
# usage: tools/report-screenshot.sh REPORT.html OUT.png [WIDTHxHEIGHT]   (default 1280x2400)
# Runs with its own throw-away profile, no zygote and no /dev/shm (reliable in containers); a
# crashed browser start is retried twice. Exit 1 when no screenshot could be written.
set -u
html=${1:?report.html}
png=${2:?output .png}
size=${3:-1280x2400}
browser=""
for b in chromium-headless-shell chromium chromium-browser; do
  if command -v "$b" >/dev/null; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
  echo "report-screenshot: no Chromium found (tools/install-deps.sh installs chromium-headless-shell)" >&2
  exit 1
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
url="file://$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
for attempt in 1 2 3; do
  rm -rf "${profile:?}"/* "$png"
  timeout 120 "$browser" --headless --no-sandbox --no-zygote --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
    --user-data-dir="$profile" --window-size="${size/x/,}" --screenshot="$png" "$url" >"$profile.log" 2>&1 &&
    [ -s "$png" ] && { rm -f "$profile.log"; exit 0; }
  echo "report-screenshot: $browser attempt $attempt failed" >&2
done
tail -3 "$profile.log" >&2
rm -f "$profile.log"
exit 1
