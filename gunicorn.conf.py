"""gunicorn's settings, read by `gunicorn config.wsgi` when started in the project directory.

Sync workers, two per core and one more: a request spends most of its time in Python, which
the threads of one process cannot run at once, so extra threads only queue behind one
another's GIL (bench/intake.py measures both). WEB_CONCURRENCY sets another number.
"""

import multiprocessing
import os

worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
