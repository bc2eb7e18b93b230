#!/usr/bin/env bash
# The one command to run on a machine with an NVIDIA GPU: sets up .venv, installs
# mmnet-edge with the training extra (for the tiny test model) and, where pip can, the
# TensorRT extra (cuda-python pinned by CUDA major) and pycuda, then runs
# `mmnet-edge doctor --acceptance`. Exit code: 0 all passed/skipped, 1 a step failed.
#
#   scripts/gpu_acceptance.sh [--output DIR] [--cuda13]
#
# On Jetson keep JetPack's TensorRT: the venv is created with --system-site-packages so
# the `tensorrt` module from JetPack is visible, and the tensorrt extra is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRA=tensorrt
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cuda13) EXTRA=tensorrt-cu13; shift ;;
    *) ARGS+=("$1"); shift ;;
  esac
done

JETSON=0
if [ -f /etc/nv_tegra_release ]; then JETSON=1; fi

if [ ! -x .venv/bin/python ]; then
  if [ "$JETSON" = 1 ]; then
    "$PY" -m venv --system-site-packages .venv
  else
    "$PY" -m venv .venv
  fi
fi
VPY=.venv/bin/python
"$VPY" -m pip install -q --upgrade pip
"$VPY" -m pip install -q -e '.[train]'
if [ "$JETSON" = 1 ]; then
  "$VPY" -m pip install -q 'cuda-python>=12,<13' || echo "warning: cuda-python did not install" >&2
else
  "$VPY" -m pip install -q -e ".[$EXTRA]" \
    || echo "warning: the $EXTRA extra did not install; TensorRT steps will be skipped" >&2
  # onnxruntime and onnxruntime-gpu ship the same module: swap, or put the CPU one back
  if "$VPY" -m pip download -q --no-deps -d .venv/.ortgpu 'onnxruntime-gpu>=1.17' >/dev/null 2>&1; then
    "$VPY" -m pip uninstall -q -y onnxruntime
    "$VPY" -m pip install -q 'onnxruntime-gpu>=1.17' || "$VPY" -m pip install -q 'onnxruntime>=1.17'
  else
    echo "warning: onnxruntime-gpu is not available for this platform; its step will be skipped" >&2
  fi
fi
"$VPY" -m pip install -q 'pycuda>=2022.2' \
  || echo "warning: pycuda did not build/install; its buffer step will be skipped" >&2

.venv/bin/mmnet-edge doctor
exec .venv/bin/mmnet-edge doctor --acceptance ${ARGS[@]+"${ARGS[@]}"}
