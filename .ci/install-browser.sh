#!/usr/bin/env bash
# What the browser test of `vmed demo` needs: Debian's Chromium (never a downloaded browser) and Playwright
# for Python. Do NOT run `playwright install`: the test drives /usr/bin/chromium.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium chromium-driver
fi
python -m pip install -q playwright
