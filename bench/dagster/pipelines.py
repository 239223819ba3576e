"""The three side-by-side pipelines of bench/README.md as Dagster software-defined assets.

Each pipeline is a factory that builds fresh asset definitions, so that building the definitions
is inside the timed run, and a module-level ``*_job`` function that Dagster's multiprocess
executor can reconstruct in every step process (``dagster.reconstructable`` needs a module-level
function in an importable module). ``check_*`` verifies the final values against the spec, so a
wrong result fails the benchmark instead of being timed.

This file must not import anything outside dagster, pyarrow and numpy: it is loaded by every
step process of the multiprocess executor.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dagster import AssetIn, Definitions, asset, define_asset_job

JOB_NAME = "bench"


def _job(assets):
    defs = Definitions(assets=assets, jobs=[define_asset_job(JOB_NAME)])
    return defs.resolve_job_def(JOB_NAME)


# --- a. fib_chain -------------------------------------------------------------------------------

FIB_CHAIN_LENGTH = 40


def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def fib_chain_assets():
    assets = []
    for i in range(FIB_CHAIN_LENGTH):
        name = f"fib_{i:02d}"
        if i == 0:

            @asset(name=name)
            def first():
                return fibonacci(10)

            assets.append(first)
        else:

            @asset(name=name, ins={"upstream": AssetIn(f"fib_{i - 1:02d}")})
            def step(upstream):
                return upstream + fibonacci(10)

            assets.append(step)
    return assets


def fib_chain_job():
    return _job(fib_chain_assets())


def check_fib_chain(load):
    got = load(f"fib_{FIB_CHAIN_LENGTH - 1:02d}")
    want = 55 * FIB_CHAIN_LENGTH
    if got != want:
        raise AssertionError(f"fib_chain: fib_{FIB_CHAIN_LENGTH - 1:02d} is {got!r}, want {want}")


# --- b. graph1000 -------------------------------------------------------------------------------

STAGES = 100
LEAVES = 9  # the hub's fan-in below is written for exactly 9 inputs


def hub_name(k):
    return f"hub_{k:03d}"


def leaf_name(k, j):
    return f"leaf_{k:03d}_{j}"


def graph1000_assets():
    assets = []
    for k in range(STAGES):
        if k == 0:

            @asset(name=hub_name(k))
            def root():
                return 1

            assets.append(root)
        else:
            ins = {f"i{j}": AssetIn(leaf_name(k - 1, j)) for j in range(LEAVES)}

            @asset(name=hub_name(k), ins=ins)
            def hub(i0, i1, i2, i3, i4, i5, i6, i7, i8):
                return 1 + max(i0, i1, i2, i3, i4, i5, i6, i7, i8)

            assets.append(hub)
        for j in range(LEAVES):

            @asset(name=leaf_name(k, j), ins={"upstream": AssetIn(hub_name(k))})
            def leaf(upstream):
                return 1 + upstream

            assets.append(leaf)
    return assets


def graph1000_job():
    return _job(graph1000_assets())


def check_graph1000(load):
    for j in range(LEAVES):
        got = load(leaf_name(STAGES - 1, j))
        if got != 2 * STAGES:
            raise AssertionError(f"graph1000: {leaf_name(STAGES - 1, j)} is {got!r}, want {2 * STAGES}")


# --- c. orders ----------------------------------------------------------------------------------

ORDERS_ROWS = 1_000_000
ORDERS_SEED = 42
REGIONS = ["north", "south", "east", "west"]

RAW_ORDERS_SCHEMA = pa.schema(
    [
        pa.field("Order_ID", pa.int64()),
        pa.field("Customer", pa.string()),
        pa.field("Region", pa.string()),
        pa.field("Amount", pa.float64()),
        pa.field("Order_Date", pa.string()),
    ]
)
REVENUE_SCHEMA = pa.schema(
    [pa.field("region", pa.string(), nullable=False), pa.field("revenue", pa.float64(), nullable=False)]
)

# Cents per region in the spec (bench/README.md), for N = 1,000,000 and SEED = 42.
EXPECTED_CENTS = {
    "east": 12_008_286_820,
    "north": 11_967_912_381,
    "south": 11_982_729_568,
    "west": 12_056_830_052,
}
EXPECTED_CLEANED_ROWS = 960_894


def splitmix64(seed, n):
    """Returns h for rows 0..n-1: the standard splitmix64 sequence, modulo 2**64 as the spec says."""
    u = np.uint64
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = u(seed) + i * u(0x9E3779B97F4A7C15)
        z = (z ^ (z >> u(30))) * u(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> u(27))) * u(0x94D049BB133111EB)
    return z ^ (z >> u(31))


def generate_raw_orders(n=ORDERS_ROWS, seed=ORDERS_SEED):
    u = np.uint64
    h = splitmix64(seed, n)
    id_null = (h % u(50)) == 0
    amount_null = ((h >> u(32)) % u(50)) == 0
    ids = pa.array(np.arange(1, n + 1, dtype=np.int64), mask=id_null)
    customers = pa.array([f"customer_{c}" for c in range(10000)]).take(((h >> u(8)) % u(10000)).astype(np.int64))
    regions = pa.array(REGIONS).take(((h >> u(24)) % u(4)).astype(np.int64))
    amounts = pa.array(((h >> u(40)) % u(100000)).astype(np.float64) / 100, mask=amount_null)
    dates = pa.array([f"2026-01-{d:02d}" for d in range(1, 29)]).take(((h >> u(56)) % u(28)).astype(np.int64))
    return pa.Table.from_arrays([ids, customers, regions, amounts, dates], schema=RAW_ORDERS_SCHEMA)


def clean_orders(raw):
    keep = pc.and_(pc.is_valid(raw["Order_ID"]), pc.is_valid(raw["Amount"]))
    cleaned = raw.filter(keep)
    return cleaned.rename_columns([name.lower() for name in cleaned.column_names])


def revenue_by_region(orders):
    orders = orders.filter(pc.is_valid(orders["amount"]))
    cents = pc.cast(pc.round(pc.multiply(orders["amount"], 100)), pa.int64())
    region = pc.fill_null(orders["region"], "unknown")
    sums = pa.table({"region": region, "cents": cents}).group_by("region").aggregate([("cents", "sum")])
    sums = sums.sort_by("region")
    revenue = pc.divide(pc.cast(sums["cents_sum"], pa.float64()), 100.0)
    return pa.Table.from_arrays([sums["region"], revenue], schema=REVENUE_SCHEMA)


def orders_assets():
    @asset(name="raw_orders", group_name="orders")
    def raw_orders():
        return generate_raw_orders()

    @asset(name="cleaned_orders", group_name="orders", ins={"raw": AssetIn("raw_orders")})
    def cleaned_orders(raw):
        return clean_orders(raw)

    @asset(name="revenue_by_region", group_name="orders", ins={"orders": AssetIn("cleaned_orders")})
    def revenue(orders):
        return revenue_by_region(orders)

    return [raw_orders, cleaned_orders, revenue]


def orders_job():
    return _job(orders_assets())


def check_orders(load):
    cleaned = load("cleaned_orders")
    if cleaned.num_rows != EXPECTED_CLEANED_ROWS:
        raise AssertionError(f"orders: cleaned_orders has {cleaned.num_rows} rows, want {EXPECTED_CLEANED_ROWS}")
    got = load("revenue_by_region").to_pydict()
    want = {
        "region": sorted(EXPECTED_CENTS),
        "revenue": [EXPECTED_CENTS[r] / 100 for r in sorted(EXPECTED_CENTS)],
    }
    if got != want:
        raise AssertionError(f"orders: revenue_by_region is {got}, want {want}")


PIPELINES = {
    "fib_chain": (fib_chain_assets, fib_chain_job, check_fib_chain),
    "graph1000": (graph1000_assets, graph1000_job, check_graph1000),
    "orders": (orders_assets, orders_job, check_orders),
}
