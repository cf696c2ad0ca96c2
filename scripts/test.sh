#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, then formatting, lints, every
# test (unit, SDK against wiremock, e2e over loopback, properties, snapshots) and a build of
# the benchmarks. Exits non-zero on the first failure.
#
# Environment:
#   PROPTEST_CASES   cases per endpoint in the property tests (default 1000)
#   SKIP_INSTALL=1   do not try to install system packages
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# System packages the build wants. nasm makes openh264's encoder ~3x faster.
apt_packages=(nasm)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ] && [ "${SKIP_INSTALL:-0}" != 1 ]; then
  step "installing ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
INSTA_UPDATE=no cargo test --workspace --locked

step "cargo bench --no-run"
cargo bench --workspace --locked --no-run
