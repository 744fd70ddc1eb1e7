#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite: lint, types, then pytest on SQLite and PostgreSQL.
# The README's Quick start and .ci/run both call exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Charts must render Chinese: install a CJK font from Debian's packages when none is present.
if ! fc-list 2>/dev/null | grep -qiE "wenquanyi|noto sans cjk|noto serif cjk|droid sans fallback"; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null
  else
    echo "warning: no CJK font found; install fonts-wqy-microhei or fonts-noto-cjk" >&2
  fi
fi

# The dashboard's browser tests (tests/test_dashboard_browser.py) drive Debian's chromium through Playwright
# (the pip package only: its own browser download is never used).
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "warning: no chromium found; the dashboard's browser tests will be skipped" >&2
  fi
fi

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

# PostgreSQL tests run against the local server unless ZSBOT_TEST_POSTGRES_URL is set (empty skips them).
export ZSBOT_TEST_POSTGRES_URL="${ZSBOT_TEST_POSTGRES_URL-postgresql://postgres@127.0.0.1:5432/test}"

python3 -m ruff check .
python3 -m mypy
# One worker per core (pytest-xdist); each worker has its own PostgreSQL database and SQLite files.
# A later `-n 0` among the arguments runs it in one process.
python3 -m pytest -n auto "$@"
