#!/usr/bin/env bash
# Main job: set up .venv, then run the end-to-end demo (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
exec .venv/bin/mmnet-edge demo "$@"
