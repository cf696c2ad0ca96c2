#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, then formatting, lints, every
# test (unit, SDK against wiremock, e2e over loopback, properties, snapshots), the browser suite
# (the official SDK from npm in headless Chromium), the Rust SDK's examples against
# `understudy serve`, the conformance corpus against an embedded mock, the JavaScript package
# (js/understudy: tsc, Vitest, Playwright examples with the official SDK), pipecat's HeyGen client
# (pinned in tests/pipecat, with the newest `livekit` Python SDK and 1.0.17), and one pass of every
# benchmark. Exits
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

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"

step "Rust SDK examples against understudy serve on its defaults"
# The server binary and the SDK's examples (`--examples` alone would build no binary).
cargo build -p understudy --bins -p streaming-avatar --examples --locked
binary="$target_dir/debug/understudy"
"$binary" serve --no-https >"$target_dir/examples-serve.log" 2>&1 &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break
  sleep 0.1
done
# Still running: it, not something else on 8080, is what the examples talk to.
kill -0 "$serve_pid" || { cat "$target_dir/examples-serve.log"; exit 1; }
"$target_dir/debug/examples/talk" --base-path http://127.0.0.1:8080 --frame-png "$target_dir/examples-talking.png" >"$target_dir/examples-talk.jsonl"
grep -q '"event":"avatar_start_talking"' "$target_dir/examples-talk.jsonl"
for transport in websocket livekit; do
  "$target_dir/debug/examples/voice" --base-path http://127.0.0.1:8080 --wav fixtures/speech/hello.wav --transport "$transport" >"$target_dir/examples-voice-$transport.jsonl"
  grep -q '"event":"user_stop"' "$target_dir/examples-voice-$transport.jsonl"
done
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
trap - EXIT
echo "examples passed: talk, voice over websocket and livekit"

step "the conformance corpus against an embedded mock"
# Every built-in scenario (fixtures/scenarios), one after another; JUnit for CI systems.
"$binary" conformance --junit "$target_dir/conformance.xml" --json "$target_dir/conformance.json"

step "browser suite: the official SDK in headless Chromium"
if [ "$(id -u)" -ne 0 ]; then
  # The SDK dials wss://<basePath host> on port 443, so the mock must bind it.
  sudo setcap cap_net_bind_service=+ep "$binary"
fi
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && UNDERSTUDY_BIN="$binary" node run.mjs)

step "the JavaScript package: types, its tests, and its examples (Vitest, Playwright with the official SDK)"
# Built first: its tests and examples import the package by name, which resolves to dist/.
(cd js/understudy && npm ci --no-audit --no-fund --loglevel=error && npm run build && npm run typecheck \
  && UNDERSTUDY_BIN="$binary" npx vitest run && UNDERSTUDY_BIN="$binary" npx playwright test)

step "pipecat's HeyGen client: the realtime endpoint and the room, newest livekit and 1.0.17"
tests/pipecat/run.sh "$binary" "$target_dir/pipecat"

step "every benchmark once, in test mode (a broken bench fails here)"
cargo test --workspace --benches --locked
