#!/bin/sh
# The system programs the test suite runs, installed when missing: valgrind (the engine's memory
# test) and Chromium with its WebDriver (the clinician's pages in a real browser,
# tests/test_web_browser.py). On Debian or Ubuntu as root this installs them with apt-get;
# elsewhere it names them.
set -e
missing=""
command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
else
    echo "The tests need:$missing. Install them (for example: sudo apt-get install$missing)." >&2
    exit 1
fi
