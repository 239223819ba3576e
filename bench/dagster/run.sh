#!/bin/sh
# Runs the Dagster side of the side-by-side benchmarks (bench/README.md) in the virtualenv that
# setup.sh makes, and writes one JSON line per pipeline and mode to bench-out/dagster.jsonl;
# Dagster's own logs go to bench-out/dagster.log. The BENCH_DAGSTER_* variables of run.py pass
# through; BENCH_DAGSTER_OUT names the output instead (default "dagster": bench-out/dagster.jsonl
# and .log). Dagster keeps its storage under TMPDIR. Takes about 10 minutes on 2 cores with the
# defaults.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${VENV:-$ROOT/bench-out/venv}
OUT=$ROOT/bench-out
NAME=${BENCH_DAGSTER_OUT:-dagster}

if [ ! -x "$VENV/bin/python" ]; then
	echo "run.sh: no virtualenv at $VENV; create it with bench/dagster/setup.sh" >&2
	exit 2
fi
mkdir -p "$OUT"
"$VENV/bin/python" "$ROOT/bench/dagster/run.py" >"$OUT/$NAME.jsonl.tmp" 2>"$OUT/$NAME.log" || {
	status=$?
	echo "run.sh: run.py failed (status $status); the end of $OUT/$NAME.log:" >&2
	tail -n 20 "$OUT/$NAME.log" >&2
	exit "$status"
}
mv "$OUT/$NAME.jsonl.tmp" "$OUT/$NAME.jsonl"
cat "$OUT/$NAME.jsonl"
