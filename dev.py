#!/usr/bin/env python3
"""Developer entry point, standard library only.

python3 dev.py start     set up, migrate, seed demo data, run the server
                         (--port N: serve on 127.0.0.1:N; emails link there unless SITE_URL is set)
python3 dev.py test ...  run the test suite (extra arguments go to pytest)
python3 dev.py lint      ruff check, ruff format --check and mypy
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

if sys.version_info < (3, 11):  # noqa: UP036 - this script must explain itself on old Pythons
    sys.exit(
        f"Backorder Desk needs Python 3.11 or newer; this is {sys.version.split()[0]}. "
        "Run it with a newer python3."
    )

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
INSTALLED_HASH = VENV / ".installed-hash"

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-backorder"  # noqa: S105 - the local demo login, printed on start
OPS_USERNAME = "ops"
OPS_PASSWORD = "ops-backorder"  # noqa: S105 - a demo Operations login, printed on start
HOST = "127.0.0.1"
DEFAULT_PORT = 8000
APPS = ("config", "inventory", "orders", "notifications", "compliance", "dashboard", "storefront")

ENSURE_DEMO_USER = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
User = get_user_model()
user, _ = User.objects.get_or_create(username={DEMO_USERNAME!r})
user.email = "demo@example.com"
user.is_staff = True
user.is_superuser = True
user.is_active = True
user.set_password({DEMO_PASSWORD!r})
user.save()
user.groups.add(Group.objects.get(name="Managers"))
ops, _ = User.objects.get_or_create(username={OPS_USERNAME!r})
ops.email = "ops@example.com"
ops.is_staff = True
ops.is_active = True
ops.set_password({OPS_PASSWORD!r})
ops.save()
ops.groups.add(Group.objects.get(name="Operations"))
"""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(a) for a in args], cwd=ROOT, check=check)  # noqa: S603


def manage(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return run(VENV_PYTHON, "manage.py", *args, check=check)


def bootstrap() -> None:
    """Create .venv and install the project into it when pyproject.toml changed."""
    if not VENV_PYTHON.exists():
        say("Creating virtual environment in .venv")
        run(sys.executable, "-m", "venv", VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    installed = INSTALLED_HASH.read_text().strip() if INSTALLED_HASH.exists() else ""
    if installed != wanted:
        say("Installing dependencies")
        run(VENV_PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        run(VENV_PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[test]")
        INSTALLED_HASH.write_text(wanted + "\n")


def has_command(name: str) -> bool:
    probe = subprocess.run(  # noqa: S603
        [str(VENV_PYTHON), "manage.py", "help", name],
        cwd=ROOT,
        capture_output=True,
    )
    return probe.returncode == 0


def start_port(args: list[str]) -> int:
    """The port of `start [--port N | --port=N]`; SystemExit with a message when it is wrong."""
    port = str(DEFAULT_PORT)
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--port" and rest:
            port = rest.pop(0)
        elif arg.startswith("--port="):
            port = arg.partition("=")[2]
        else:
            raise SystemExit(f"dev.py start: unknown argument {arg!r} (use --port N)")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise SystemExit(f"dev.py start: --port needs a number from 1 to 65535, not {port!r}")
    return int(port)


def start(args: list[str] | None = None) -> int:
    port = start_port(args or [])
    address = f"{HOST}:{port}"
    # The local settings build SITE_URL (links in emails) from PORT when SITE_URL is not set.
    os.environ["PORT"] = str(port)
    bootstrap()
    say("Applying migrations")
    manage("migrate", "--noinput")
    if has_command("seed_demo"):
        say("Seeding demo data")
        manage("seed_demo")
        say("Running the Mail Order Rule engine over the demo orders")
        manage("mail_order_rule")
    else:
        say("WARNING: no seed_demo command yet; starting without demo data")
    say(f"Ensuring the demo staff users {DEMO_USERNAME!r} and {OPS_USERNAME!r} exist")
    manage("shell", "--no-imports", "-c", ENSURE_DEMO_USER)
    print()
    say(f"Backorder Desk: http://{address}/dashboard/  (Django admin: http://{address}/admin/)")
    say(f"Log in as {DEMO_USERNAME} / {DEMO_PASSWORD} (manager and admin)")
    say(f"       or {OPS_USERNAME} / {OPS_PASSWORD} (operations staff)")
    print(flush=True)
    os.chdir(ROOT)
    os.execv(VENV_PYTHON, [str(VENV_PYTHON), "manage.py", "runserver", address])  # noqa: S606
    return 0  # not reached


def test_workers() -> int:
    """How many processes run the whole suite: one a core, at most eight."""
    return max(1, min(os.cpu_count() or 1, 8))


def test(pytest_args: list[str]) -> int:
    bootstrap()
    if not pytest_args:
        # The whole suite spreads over the cores.
        pytest_args = ["-n", str(test_workers())]
    say("Running tests: pytest " + " ".join(pytest_args))
    code = run(VENV_PYTHON, "-m", "pytest", *pytest_args, check=False).returncode
    if code == 5:
        say("FAILED: pytest collected no tests")
        return 1
    return code


def lint() -> int:
    bootstrap()
    say("ruff check")
    checked = run(VENV_PYTHON, "-m", "ruff", "check", ".", check=False).returncode
    say("ruff format --check")
    formatted = run(VENV_PYTHON, "-m", "ruff", "format", "--check", ".", check=False).returncode
    say("mypy")
    typed = run(VENV_PYTHON, "-m", "mypy", *APPS, check=False).returncode
    return 1 if checked or formatted or typed else 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"start", "test", "lint"}:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    try:
        if command == "start":
            return start(rest)
        if command == "test":
            return test(rest)
        return lint()
    except subprocess.CalledProcessError as exc:
        say(f"FAILED ({exc.returncode}): {' '.join(map(str, exc.cmd))}")
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
