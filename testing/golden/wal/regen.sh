#!/usr/bin/env bash
# Regenerates the golden WAL directories written by the real Prometheus 2.42:
#   snappy/data/wal  (--storage.tsdb.wal-compression)
#   none/data/wal    (--no-storage.tsdb.wal-compression)
# and each one's expected `promtool tsdb dump` output (dump.txt.gz, gzip'ed
# to keep the checked-in files small).
# Prometheus scrapes itself every second for ~20 s and is then killed with
# SIGKILL, so the last segment ends wherever the crash left it. 20 s is far
# below a head chunk (120 samples), so the WAL holds every sample.
# Usage: testing/golden/wal/regen.sh   (needs /usr/bin/prometheus, promtool)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
secs="${GOLDEN_SECONDS:-20}"
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
for mode in snappy none; do
  work="$(mktemp -d)"
  port="$(free_port)"
  sed "s/PORT/${port}/" "${here}/prometheus.yml" > "${work}/prometheus.yml"
  if [[ "${mode}" == snappy ]]; then flag=--storage.tsdb.wal-compression; else flag=--no-storage.tsdb.wal-compression; fi
  prometheus --config.file="${work}/prometheus.yml" --storage.tsdb.path="${work}/data" \
    --web.listen-address="127.0.0.1:${port}" "${flag}" >"${work}/log.txt" 2>&1 &
  pid=$!
  sleep "${secs}"
  kill -9 "${pid}"
  wait "${pid}" 2>/dev/null || true
  rm -rf "${here}/${mode}"
  mkdir -p "${here}/${mode}/data"
  cp -r "${work}/data/wal" "${here}/${mode}/data/"
  if [[ -d "${work}/data/chunks_head" ]]; then cp -r "${work}/data/chunks_head" "${here}/${mode}/data/"; fi
  # Dump a copy: promtool's read-only open may touch the directory.
  cp -r "${here}/${mode}/data" "${work}/dumpcopy"
  promtool tsdb dump "${work}/dumpcopy" | gzip -9n > "${here}/${mode}/dump.txt.gz"
  rm -rf "${work}"
  echo "${mode}: $(du -sh "${here}/${mode}/data/wal" | cut -f1), $(gzip -dc "${here}/${mode}/dump.txt.gz" | wc -l) samples"
done
