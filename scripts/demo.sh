#!/usr/bin/env bash
# Main job: set up .venv, then run the end-to-end demo (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
# The YuNet face detector is not shipped: use $MMNET_EDGE_FACE_DETECTOR, else the copy in
# ../shared/models (project machines). Without one the demo skips the photo step and says why.
shared=$(cd .. && pwd)/shared/models/face_detection_yunet.onnx
if [ -z "${MMNET_EDGE_FACE_DETECTOR:-}" ] && [ -f "$shared" ]; then
  export MMNET_EDGE_FACE_DETECTOR="$shared"
fi
exec .venv/bin/mmnet-edge demo "$@"
