#!/usr/bin/env bash
# The `mmnet-edge serve` tests in their own environment: NVIDIA PyTriton <= 0.7 needs numpy<2
# (its Python-backend stub is built against numpy 1.x), while the main .venv has numpy 2.
# Called by scripts/test.sh; sets up .venv-serve (torch pinned like the main venv) and runs
# tests/test_serve.py (a real Triton server on 127.0.0.1) and tests/test_triton_repo.py
# (config.pbtxt parsed with tritonclient's model_config schema) there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv-serve/bin/python ] || "$PY" -m venv .venv-serve
stamp=.venv-serve/.mmnet-edge-installed
want=$(cat pyproject.toml scripts/test_serve.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv-serve/bin/python -m pip install --quiet --upgrade pip
  .venv-serve/bin/python -m pip install --quiet "torch==2.13.0"
  .venv-serve/bin/python -m pip install --quiet -e ".[serve,train]" "torch==2.13.0" \
    "pytest>=8" "pytest-timeout>=2.2"
  echo "$want" > "$stamp"
fi
export MMNET_EDGE_FACE_DETECTOR=${MMNET_EDGE_FACE_DETECTOR:-$(cd .. && pwd)/shared/models/face_detection_yunet.onnx}
exec .venv-serve/bin/python -m pytest -p no:cacheprovider tests/test_serve.py tests/test_triton_repo.py "$@"
