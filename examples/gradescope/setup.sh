#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. The autograder zip
# is unpacked into /autograder/source, so the project is at /autograder/source/echo-conformance.
set -euo pipefail

if ! command -v python3 >/dev/null 2>&1; then
    apt-get update
    apt-get install -y python3 python3-pip
fi

python3 -m pip install /autograder/source/echo-conformance
