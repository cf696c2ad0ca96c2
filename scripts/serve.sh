#!/usr/bin/env bash
# Runs `understudy serve` (release build), installing the system packages it needs first.
# Arguments go to `understudy serve`, e.g. ./scripts/serve.sh --https-port 443
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
exec cargo run --release --locked -p understudy -- serve "$@"
