#!/usr/bin/env bash
# Creates bench/.venv with the pinned peers of bench/requirements.txt. Each peer is installed on its
# own, so that one that cannot be had (no wheel for this Python, no network) is reported and skipped
# instead of failing the whole benchmark; the scripts then say which peer is missing.
set -uo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv || { echo "bench/venv.sh: cannot create a virtual environment (python3 -m venv)" >&2; exit 1; }
fi
grep -vE '^\s*(#|$)' requirements.txt | while read -r pin; do
  .venv/bin/pip install --quiet --disable-pip-version-check "$pin" \
    || echo "bench/venv.sh: could not install $pin; benchmarks that need it will be skipped" >&2
done
