#!/usr/bin/env bash
# Regenerates data/ (chunks_head + wal) written by the real Prometheus 2.42
# and dump.txt.gz, the expected `promtool tsdb dump` of it.
#
# Prometheus scrapes itself every 100 ms for ~40 s (so each series gets a few
# head chunks cut and m-mapped) and is then stopped with SIGTERM: 2.42 keeps
# m-mapped chunks in a 4 MiB write buffer until it is full or the mapper is
# closed, so after a SIGKILL this small a run would leave only the file
# headers. The files keep their 128 KiB fallocate'd zero tail.
# Usage: testing/golden/chunks_head/regen.sh  (needs /usr/bin/prometheus, promtool)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
secs="${GOLDEN_SECONDS:-40}"
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
work="$(mktemp -d)"
port="$(free_port)"
sed "s/PORT/${port}/" "${here}/prometheus.yml" > "${work}/prometheus.yml"
prometheus --config.file="${work}/prometheus.yml" --storage.tsdb.path="${work}/data" \
  --web.listen-address="127.0.0.1:${port}" >"${work}/log.txt" 2>&1 &
pid=$!
sleep "${secs}"
kill -TERM "${pid}"
wait "${pid}" 2>/dev/null || true
rm -rf "${here}/data"
mkdir -p "${here}/data"
cp -r "${work}/data/chunks_head" "${work}/data/wal" "${here}/data/"
cp -r "${here}/data" "${work}/dumpcopy"
promtool tsdb dump "${work}/dumpcopy" | gzip -9n > "${here}/dump.txt.gz"
rm -rf "${work}"
echo "chunks_head: $(ls -l "${here}/data/chunks_head" | tail -n +2 | wc -l) files," \
  "$(gzip -dc "${here}/dump.txt.gz" | wc -l) samples"
