#!/usr/bin/env bash
# A/B of two revoker binaries on one machine: the same N-row job (default 20,000, 20 projects) against
# a fresh revoker-sim on loopback each time. Prints rows/s. Usage:
#   bash crates/revoker/benches/ab.sh OLD_BIN NEW_BIN [N]
set -euo pipefail
SIM=${SIM:-target/release/revoker-sim}
N=${3:-20000}
one() {
  local bin=$1 d url start end
  d=$(mktemp -d)
  "$SIM" --generate "$N" --projects 20 --write-keys "$d/keys.csv" > "$d/urls" 2>/dev/null &
  local sim=$!
  for _ in $(seq 100); do [ -s "$d/urls" ] && break; sleep 0.1; done
  url=$(head -1 "$d/urls")
  start=$(date +%s.%N)
  MCLI_PUBLIC_API_KEY=simpublic MCLI_PRIVATE_API_KEY=sim-private-key \
    "$bin" run --quiet --input "$d/keys.csv" --report "$d/r.csv" --base-url "$url" --concurrency 64 2>/dev/null
  end=$(date +%s.%N)
  kill "$sim"
  echo "$bin: $(echo "$N / ($end - $start)" | bc -l | cut -c1-8) rows/s"
  rm -rf "$d"
}
for _ in 1 2; do one "$1"; one "$2"; done
