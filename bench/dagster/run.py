"""Times the pipelines of bench/README.md in Dagster and prints one JSON line per pipeline and mode.

    python run.py            # every pipeline, both modes; JSON lines on stdout, Dagster's logs on stderr

Modes:

- ``in_process``: ``dagster.materialize(assets)`` in this process (the in-process executor, an
  ephemeral instance, outputs pickled to a temporary directory). One repetition builds the asset
  definitions and materializes them.
- ``multiprocess``: ``dagster.execute_job(reconstructable(job), instance)`` with the job's default
  executor, which is Dagster's multiprocess executor (a new Python process per step, at most
  one per CPU at a time). Each repetition runs in a child process of its own with a fresh
  temporary ``DAGSTER_HOME``; the child creates the instance before the clock starts, then times
  ``execute_job``, whose parent also builds the job.

Process start-up and ``import dagster`` are outside every clock (``dagster_import_seconds``
reports the import once). Every repetition checks the final values against the spec.

Environment:

- ``BENCH_DAGSTER_REPS`` (default 5): repetitions of each pipeline and mode,
- ``BENCH_DAGSTER_SLOW_REPS`` (default 1): repetitions of the slow cases, multiprocess
  ``fib_chain`` and ``graph1000`` (a Python process per step: minutes per repetition),
- ``BENCH_DAGSTER_CAP`` (default 120): seconds after which a multiprocess ``graph1000``
  repetition is stopped; its line then reports the steps done in that time and the time the
  whole run would take at that rate (``extrapolated_seconds``). 0 means no cap,
- ``BENCH_DAGSTER_PIPELINES`` and ``BENCH_DAGSTER_MODES``: comma-separated subsets.
"""

import json
import os
import pickle
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MODES = ("in_process", "multiprocess")
SLOW = {("fib_chain", "multiprocess"), ("graph1000", "multiprocess")}
CAPPED = {("graph1000", "multiprocess")}
STEPS = {"fib_chain": 40, "graph1000": 1000, "orders": 3}


def import_dagster():
    started = time.perf_counter()
    try:
        import dagster  # noqa: F401
    except ImportError as err:
        sys.exit(
            f"run.py: cannot import dagster ({err}) with {sys.executable}.\n"
            "Dagster is not a dependency of wasmorch: install it in the benchmark virtualenv with "
            "bench/dagster/setup.sh, then run bench/dagster/run.sh (which uses that virtualenv)."
        )
    return time.perf_counter() - started


def env_int(name, default):
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        sys.exit(f"run.py: {name}={value!r} is not an integer")


def env_list(name, allowed):
    value = os.environ.get(name, "")
    if value == "":
        return list(allowed)
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        sys.exit(f"run.py: {name} names {unknown}, want some of {list(allowed)}")
    return chosen


def run_in_process(pipeline):
    from dagster import materialize

    import pipelines

    build, _, check = pipelines.PIPELINES[pipeline]
    started = time.perf_counter()
    result = materialize(build())
    seconds = time.perf_counter() - started
    if not result.success:
        raise RuntimeError(f"{pipeline}: the in-process run failed")
    check(result.output_for_node)
    return seconds


def child_multiprocess(pipeline, home):
    """The body of one multiprocess repetition, in a child process with DAGSTER_HOME=home."""
    from dagster import DagsterInstance, execute_job, reconstructable

    import pipelines

    _, job, check = pipelines.PIPELINES[pipeline]
    instance = DagsterInstance.get()
    with open(os.path.join(home, "clock-start"), "w") as f:
        f.write(repr(time.time()))
    started = time.perf_counter()
    result = execute_job(reconstructable(job), instance=instance)
    seconds = time.perf_counter() - started
    if not result.success:
        raise RuntimeError(f"{pipeline}: the multiprocess run failed")

    def load(key):  # where the default fs_io_manager keeps an asset's output
        with open(os.path.join(instance.storage_directory(), key), "rb") as f:
            return pickle.load(f)

    check(load)
    print(json.dumps({"seconds": seconds}))


def steps_succeeded(home):
    from dagster import DagsterEventType, DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    instance = DagsterInstance.from_ref(InstanceRef.from_dir(home))
    runs = instance.get_runs()
    if not runs:
        return 0
    return len(instance.all_logs(runs[0].run_id, of_type=DagsterEventType.STEP_SUCCESS))


def read_clock_start(path):
    with open(path) as f:
        text = f.read()
    return float(text) if text else time.time()  # a start being written is a start now


def run_multiprocess(pipeline, cap):
    """Runs one repetition in a child process; returns (seconds, None) or, past cap, (None, partial)."""
    home = tempfile.mkdtemp(prefix="dagster-home-")
    try:
        env = dict(os.environ, DAGSTER_HOME=home, PYTHONPATH=os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")])))
        child = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "run.py"), "--child-multiprocess", pipeline],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # so that a cap stops the step processes too
        )
        clock_start = os.path.join(home, "clock-start")
        while cap and child.poll() is None:
            if os.path.exists(clock_start) and time.time() - read_clock_start(clock_start) >= cap:
                break
            time.sleep(0.2)
        if child.poll() is not None or not cap:
            out, _ = child.communicate()
            if child.returncode != 0:
                raise RuntimeError(f"{pipeline}: the multiprocess child exited with status {child.returncode}")
            return json.loads(out.strip().splitlines()[-1])["seconds"], None
        # Past the cap: stop the run and its step processes, then count what it finished.
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        elapsed = time.time() - read_clock_start(clock_start)
        done = steps_succeeded(home)
        partial = {
            "capped": True,
            "cap_seconds": round(elapsed, 3),
            "steps_done": done,
            "steps_total": STEPS[pipeline],
            "extrapolated_seconds": round(elapsed * STEPS[pipeline] / done, 1) if done else None,
        }
        return None, partial
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--child-multiprocess":
        import_dagster()
        child_multiprocess(sys.argv[2], os.environ["DAGSTER_HOME"])
        return

    import_seconds = import_dagster()
    import dagster

    sys.path.insert(0, HERE)
    import pipelines

    reps = env_int("BENCH_DAGSTER_REPS", 5)
    slow_reps = env_int("BENCH_DAGSTER_SLOW_REPS", 1)
    cap = env_int("BENCH_DAGSTER_CAP", 120)
    chosen = env_list("BENCH_DAGSTER_PIPELINES", list(pipelines.PIPELINES))
    modes = env_list("BENCH_DAGSTER_MODES", MODES)

    for pipeline in chosen:
        for mode in modes:
            n = slow_reps if (pipeline, mode) in SLOW else reps
            times, partial = [], None
            for _ in range(n):
                if mode == "in_process":
                    times.append(run_in_process(pipeline))
                    continue
                seconds, partial = run_multiprocess(pipeline, cap if (pipeline, mode) in CAPPED else 0)
                if partial is not None:
                    break  # one capped repetition says what there is to say
                times.append(seconds)
            line = {
                "pipeline": pipeline,
                "mode": mode,
                "reps": [round(t, 4) for t in times],
                "median": round(statistics.median(times), 4) if times else None,
                "min": round(min(times), 4) if times else None,
                "max": round(max(times), 4) if times else None,
                "steps": STEPS[pipeline],
                "dagster_version": dagster.__version__,
                "python_version": platform.python_version(),
                "dagster_import_seconds": round(import_seconds, 3),
                "cpus": os.cpu_count(),
            }
            if partial is not None:
                line.update(partial)
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
