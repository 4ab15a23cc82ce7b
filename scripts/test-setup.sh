#!/usr/bin/env bash
# Installs what the tests need beyond Go and a C compiler: headless
# Chromium (and its driver), which the data studio's browser test
# (e2e/studio_test.go, driven by chromedp) runs. Idempotent: it does
# nothing when Chromium is already there. Debian/Ubuntu (apt-get), as root
# or with sudo. Run by the README's test command and by .ci/run.
set -euo pipefail

have_chromium() {
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
		command -v google-chrome >/dev/null 2>&1
}

# The browser test skips only when Chromium is missing and this script did
# not run; this marker says it ran (and so that Chromium must be there).
marker="$(cd "$(dirname "$0")/.." && pwd)/.cache/test-setup-done"
mkdir -p "$(dirname "$marker")"
touch "$marker"

if have_chromium; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "test-setup: no Chromium and no apt-get: install Chromium yourself (the studio browser test needs it)" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
	sudo="sudo"
fi
echo "test-setup: installing chromium and chromium-driver (for the studio browser test)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
have_chromium
