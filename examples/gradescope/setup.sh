#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image, after unpacking the
# autograder zip into /autograder/source. The zip carries echo-conformance as a wheel
# (echo_conformance-VERSION-py3-none-any.whl) next to this script; see README.md for how to build
# it. pip installs the wheel and fetches its dependencies (pytest, hypothesis, pytest-xdist) from
# the package index.
#
# Environment (optional):
#   AUTOGRADER_SOURCE   the unpacked autograder zip (default: /autograder/source)
set -euo pipefail

SOURCE="${AUTOGRADER_SOURCE:-/autograder/source}"

if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update
    apt-get install -y python3 python3-pip
fi

shopt -s nullglob
wheels=("$SOURCE"/echo_conformance-*.whl)
if ((${#wheels[@]} != 1)); then
    echo "setup.sh: expected one echo_conformance-*.whl in $SOURCE, found ${#wheels[@]}" \
        "(build it with: python3 -m pip wheel --no-deps /path/to/echo-conformance)" >&2
    exit 1
fi

python3 -m pip install "${wheels[0]}"
echo-conformance --version
