#!/bin/sh
# Creates the virtualenv that the Dagster side of the benchmarks runs in, if it is missing, and
# installs the pinned versions below into it; running it again changes nothing.
#
# Dagster is never a dependency of wasmorch: the virtualenv lives under bench-out/ (ignored by
# git), and only bench/dagster/run.sh uses it. Set VENV to put it elsewhere, PYTHON to choose the
# interpreter that creates it (python3 by default).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${VENV:-$ROOT/bench-out/venv}
PYTHON=${PYTHON:-python3}

# The versions measured in bench/README.md; change them together with the figures.
PINS="dagster==1.13.29 pyarrow==26.0.1 numpy==2.4.6"

if [ ! -x "$VENV/bin/python" ]; then
	echo "setup.sh: creating $VENV with $($PYTHON --version 2>&1)"
	mkdir -p "$(dirname "$VENV")"
	"$PYTHON" -m venv "$VENV"
fi

missing=""
for pin in $PINS; do
	if ! "$VENV/bin/python" -m pip freeze 2>/dev/null | grep -qix "$pin"; then
		missing="$missing $pin"
	fi
done
if [ -n "$missing" ]; then
	echo "setup.sh: installing$missing into $VENV"
	"$VENV/bin/python" -m pip install --quiet $PINS
fi
"$VENV/bin/python" -c 'import dagster, pyarrow, numpy, sys; print("setup.sh: ready:", sys.executable, "dagster", dagster.__version__, "pyarrow", pyarrow.__version__, "numpy", numpy.__version__)'
