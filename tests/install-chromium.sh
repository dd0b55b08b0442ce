#!/bin/sh
# Debian's chromium, for the HTML report's browser test (tox -e html; .ci/run).  Where it cannot
# be installed (not root, no apt-get, no package), say why and go on: that test then skips,
# naming the reason.
set -u
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: not root with apt-get: the browser test will be skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >/tmp/install-chromium.log 2>&1; then
    echo "install-chromium: apt-get failed (see /tmp/install-chromium.log): the browser test will be skipped" >&2
fi
exit 0
