#!/bin/sh
# The system programs the test suite runs, installed when missing: valgrind (the engine's memory
# test), Chromium with its WebDriver (the clinician's pages in a real browser,
# tests/system/test_web_browser.py) and the PostgreSQL server (the PostgreSQL log's tests start a
# throwaway one, tests/support/pg_server.py). On Debian or Ubuntu as root this installs the missing ones
# with apt-get (one update, one install); elsewhere it names them.
set -e
missing=""
command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
    || missing="$missing postgresql"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
else
    echo "The tests need:$missing. Install them (for example: sudo apt-get install$missing)." >&2
    exit 1
fi
