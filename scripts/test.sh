#!/usr/bin/env bash
# Set up .venv, lint, and run the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
.venv/bin/ruff check .
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
exit "$rc"
