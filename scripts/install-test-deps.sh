#!/bin/sh
# What the tests need beyond Python: a real MediaWiki (Debian's `mediawiki` package, 1.39 in
# bookworm) and PHP's SQLite driver, so that tests/writers/test_mediawiki_import.py imports
# the MediaWiki writer's dumps into a throwaway wiki; and Debian's Chromium (/usr/bin/chromium),
# which the web archive's browser tests (tests/web/test_browser.py) drive through Playwright
# (never `playwright install`: no browser is downloaded). Idempotent and quiet: packages that
# dpkg says are installed are skipped. Needs root (CI runs as root) or sudo; on a machine
# without apt-get it says so and does nothing (those tests then skip, saying why).
set -eu

PACKAGES="mediawiki php-sqlite3 chromium"

missing=""
for package in $PACKAGES; do
    # Installed, not merely known (a removed package keeps its config files and a status).
    if [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != "install ok installed" ]; then
        missing="$missing $package"
    fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: no apt-get here; install$missing yourself (the real-MediaWiki tests skip without them)" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-test-deps: not root and no sudo; install$missing yourself" >&2
        exit 0
    fi
fi

echo "install-test-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
