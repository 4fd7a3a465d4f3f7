"""The database-level limit of bench/intake.py: per order one transaction that locks the
order's 3 stock rows in id order, inserts the order and its 3 lines and bumps the allocated
counts, in raw SQL through psycopg on tables of its own, `connections` at once."""

from __future__ import annotations

import random
import threading
import time

LIMIT_SETUP = [
    "DROP TABLE IF EXISTS bench_i_line, bench_i_order, bench_i_stock",
    "CREATE TABLE bench_i_stock (id int PRIMARY KEY, on_hand int, allocated int, "
    "CHECK (allocated <= on_hand))",
    "CREATE TABLE bench_i_order (id bigserial PRIMARY KEY, email text, "
    "placed_at timestamptz DEFAULT now())",
    "CREATE TABLE bench_i_line (id bigserial PRIMARY KEY, "
    "order_id bigint REFERENCES bench_i_order, product_id int REFERENCES bench_i_stock, "
    "qty int, allocated int)",
    "INSERT INTO bench_i_stock SELECT g, 1000000, 0 FROM generate_series(1, 200) g",
]


def database_limit(*, dsn: str, orders: int, connections: int, seed: int) -> float:
    """Orders per second of the same locks and inserts in raw SQL, `connections` at once."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in LIMIT_SETUP:
            conn.execute(statement)
    barrier = threading.Barrier(connections + 1)

    def worker(count: int, number: int) -> None:
        rng = random.Random(seed + number)
        with psycopg.connect(dsn) as conn:
            barrier.wait()
            for _ in range(count):
                products = sorted(rng.sample(range(1, 201), 3))
                with conn.transaction():
                    conn.execute(
                        "SELECT id FROM bench_i_stock WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                        (products,),
                    )
                    row = conn.execute(
                        "INSERT INTO bench_i_order (email) VALUES ('a@bench.example') RETURNING id"
                    ).fetchone()
                    assert row is not None
                    conn.cursor().executemany(
                        "INSERT INTO bench_i_line (order_id, product_id, qty, allocated) "
                        "VALUES (%s, %s, 1, 1)",
                        [(row[0], product) for product in products],
                    )
                    conn.execute(
                        "UPDATE bench_i_stock SET allocated = allocated + 1 WHERE id = ANY(%s)",
                        (products,),
                    )

    per = max(1, orders // connections)
    threads = [threading.Thread(target=worker, args=(per, n)) for n in range(connections)]
    seconds = run_together(threads, barrier)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_i_line, bench_i_order, bench_i_stock")
    return per * connections / seconds


def run_together(threads: list[threading.Thread], barrier: threading.Barrier) -> float:
    """Start the threads, let them go at once (each waits on `barrier` when ready; so does
    this one), and return the seconds until the last one ends."""
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began
