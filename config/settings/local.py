"""Settings for a developer's machine: `python3 dev.py start`."""

import os

from django.core.management.utils import get_random_secret_key

from .base import *  # noqa: F403
from .base import BASE_DIR, env


def _local_secret_key() -> str:
    """Generate a key once and keep it in .secret_key, so sessions survive restarts."""
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(get_random_secret_key())
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="") or _local_secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

# Emails are written to files (one per message) so a first run's console stays readable.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "sent_emails"))

if DEBUG:
    # Django's debug error pages carry inline styles and scripts: the policy only reports here
    # (violations still show in the browser console), and is enforced everywhere else.
    from .base import CONTENT_SECURITY_POLICY

    CONTENT_SECURITY_POLICY_REPORT_ONLY = CONTENT_SECURITY_POLICY
    CONTENT_SECURITY_POLICY = None  # type: ignore[assignment]

# `python3 dev.py start --port N` serves on N: email links follow unless SITE_URL is set.
SITE_URL = env("SITE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}")
