#!/usr/bin/env bash
# Main job: set up .venv, then run the end-to-end demo (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
# The YuNet face detector is fetched on first use (pinned URL + SHA-256, into the user cache);
# on the project machines, which have no internet, the same file from ../shared/models is used.
# If neither works the demo skips the photo step and prints why.
shared=$(cd .. && pwd)/shared/models/face_detection_yunet.onnx
if [ -z "${MMNET_EDGE_FACE_DETECTOR:-}" ] && [ -f "$shared" ]; then
  export MMNET_EDGE_FACE_DETECTOR="$shared"
fi
exec .venv/bin/mmnet-edge demo "$@"
