#!/usr/bin/env bash
# Set up .venv, lint, and run the whole test suite (what CI runs); then the `serve` tests in
# their own environment (scripts/test_serve.sh: PyTriton needs numpy<2).
# Arguments go to pytest (e.g. -m "not slow"); with arguments the serve part is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Tests use the YuNet model in ../shared/models (never shipped in this repository).
export MMNET_EDGE_FACE_DETECTOR=${MMNET_EDGE_FACE_DETECTOR:-$(cd .. && pwd)/shared/models/face_detection_yunet.onnx}
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  exit "$rc"
fi
if [ "$#" -eq 0 ] && [ "${MMNET_EDGE_SKIP_SERVE_TESTS:-0}" != "1" ]; then
  echo "== serve tests (.venv-serve: nvidia-pytriton needs numpy<2)"
  bash scripts/test_serve.sh -q
fi
