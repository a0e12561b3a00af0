#!/usr/bin/env bash
# What the browser test of `vmed demo` needs: Debian's Chromium (never a downloaded browser) and Playwright
# for Python. Do NOT run `playwright install`: the test drives /usr/bin/chromium.
# Also Debian's fonts-liberation: the chart generators' seaborn styles draw with Liberation Sans, and the project's
# chart pools and chart tests were drawn with it (docs/charts.md, "The pictures depend on matplotlib and its fonts").
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ]; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium chromium-driver fonts-liberation
  # matplotlib lists the fonts it finds once, in a cache it never refreshes: one built before the font was installed
  # would keep drawing with DejaVu Sans
  python - <<'PY' || true
import glob, os
try:
    import matplotlib
except ImportError:
    raise SystemExit
for f in glob.glob(os.path.join(matplotlib.get_cachedir(), "fontlist-*.json")):
    os.remove(f)
PY
fi
python -m pip install -q playwright
