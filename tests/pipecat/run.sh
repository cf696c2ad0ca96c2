#!/usr/bin/env bash
# pipecat's HeyGen client against `understudy serve`: one virtual environment per pinned
# requirements file (the newest `livekit` Python SDK, and 1.0.17), made once and reused while
# the file is unchanged, then heygen_client.py with each, side by side against one server, and
# once more with pipecat's LiveAvatar service on the newest.
#
# Usage: tests/pipecat/run.sh UNDERSTUDY_BINARY WORK_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="$1"
work="$2"
mkdir -p "$work"

venv_for() {
  local requirements="$1" name venv stamp
  name="$(basename "$requirements" .txt)"
  venv="$work/$name"
  stamp="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ "$(cat "$venv/.requirements" 2>/dev/null)" != "$stamp" ]]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    echo "$stamp" >"$venv/.requirements"
  fi
  echo "$venv"
}

pids=()
venvs=()
for requirements in "$here"/requirements-*.txt; do
  venv_for "$requirements" >"$work/$(basename "$requirements" .txt).venv" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
for requirements in "$here"/requirements-*.txt; do
  venvs+=("$(cat "$work/$(basename "$requirements" .txt).venv")")
done

"$binary" serve --port 0 --no-https >"$work/serve.log" 2>&1 &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
base=""
for _ in $(seq 100); do
  base="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" | head -1 || true)"
  [[ -n "$base" ]] && break
  sleep 0.1
done
[[ -n "$base" ]] || { cat "$work/serve.log"; exit 1; }

# Each run waits past a 160 s idle timeout (pipecat keeps alive every 150 s): in parallel.
runs=()
for venv in "${venvs[@]}"; do
  log="$venv.log"
  "$venv/bin/python" "$here/heygen_client.py" --base "$base" --idle-timeout 160 >"$log" 2>&1 &
  runs+=("$!:$log")
done
# pipecat's LiveAvatar service (LITE) with the newest livekit SDK (the last file), beside them.
log="${venvs[-1]}.liveavatar.log"
"${venvs[-1]}/bin/python" "$here/heygen_client.py" --base "$base" --service liveavatar --idle-timeout 0 >"$log" 2>&1 &
runs+=("$!:$log")
failed=0
for run in "${runs[@]}"; do
  pid="${run%%:*}"
  log="${run#*:}"
  if wait "$pid"; then
    grep -E '^(ok|FAIL|pipecat)' "$log"
  else
    failed=1
    grep -vE '\| DEBUG' "$log" | tail -40
  fi
done
exit "$failed"
