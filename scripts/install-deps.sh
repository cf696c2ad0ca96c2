#!/usr/bin/env bash
# Installs the system packages Understudy needs, with apt, only when missing.
#   build: nasm (openh264's fast kernels), libvpx-dev and pkg-config (VP8)
#   --browser adds chromium, for the browser suite, and Python's venv (the pipecat test) where
#   python3 lacks it
# SKIP_INSTALL=1 skips it all (for machines managed some other way).
set -euo pipefail

packages=(nasm libvpx-dev pkg-config)
if [ "${1:-}" = "--browser" ]; then
  packages+=(chromium)
  command -v python3 >/dev/null || packages+=(python3)
  python3 -c 'import venv, ensurepip' 2>/dev/null || packages+=(python3-venv)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ] || [ "${SKIP_INSTALL:-0}" = 1 ]; then
  exit 0
fi

echo "==> installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
