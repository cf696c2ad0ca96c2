#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, then formatting, lints, every
# test (unit, SDK against wiremock, e2e over loopback, properties, snapshots), the browser suite
# (the official SDK from npm in headless Chromium) and a build of the benchmarks. Exits
# non-zero on the first failure.
#
# Environment:
#   PROPTEST_CASES   cases per endpoint in the property tests (default 1000)
#   SKIP_INSTALL=1   do not try to install system packages (see scripts/install-deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

./scripts/install-deps.sh --browser

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
INSTA_UPDATE=no cargo test --workspace --locked

step "browser suite: the official SDK in headless Chromium"
cargo build -p understudy --locked
binary="$PWD/target/debug/understudy"
if [ "$(id -u)" -ne 0 ]; then
  # The SDK dials wss://<basePath host> on port 443, so the mock must bind it.
  sudo setcap cap_net_bind_service=+ep "$binary"
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && UNDERSTUDY_BIN="$binary" node run.mjs)

step "cargo bench --no-run"
cargo bench --workspace --locked --no-run
