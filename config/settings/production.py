"""Production settings: only what differs from base. Every value comes from the environment."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, EMAIL_PROVIDER, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)

# Security: the app sits behind a TLS-terminating proxy that sets X-Forwarded-Proto.

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# The storefront API's per-channel throttle counts in the default cache: give it a shared one
# (e.g. CACHE_URL=redis://127.0.0.1:6379/1, not the broker's database) so every worker counts
# the same requests.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# Static files: hashed, compressed, served by WhiteNoise.

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Email through an Anymail provider, e.g. EMAIL_PROVIDER=postmark and POSTMARK_SERVER_TOKEN=...
# Without EMAIL_PROVIDER, plain SMTP from EMAIL_URL.

if EMAIL_PROVIDER:
    EMAIL_BACKEND = f"anymail.backends.{EMAIL_PROVIDER}.EmailBackend"
    ANYMAIL: dict[str, object] = env.json("ANYMAIL", default={})
    # The usual credential of each common provider, under Anymail's own setting names;
    # anything else goes in the ANYMAIL JSON object.
    for _name in (
        "SENDGRID_API_KEY",
        "POSTMARK_SERVER_TOKEN",
        "MAILGUN_API_KEY",
        "MAILGUN_SENDER_DOMAIN",
        "BREVO_API_KEY",
        "RESEND_API_KEY",
    ):
        if _value := env(_name, default=""):
            ANYMAIL[_name] = _value
    if _value := env("ANYMAIL_WEBHOOK_SECRET", default=""):
        ANYMAIL["WEBHOOK_SECRET"] = _value
    if not ANYMAIL.get("WEBHOOK_SECRET"):
        # Without it the tracking webhook believes anyone: a forged bounce would flag a customer.
        raise ImproperlyConfigured(
            f"EMAIL_PROVIDER={EMAIL_PROVIDER!r} needs ANYMAIL_WEBHOOK_SECRET "
            "(the user:password the provider's tracking webhook sends)"
        )
else:
    # e.g. EMAIL_URL=smtp+tls://user:password@smtp.example.com:587
    _email = env.email_url("EMAIL_URL", default="smtp://localhost:25")
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = _email.get("EMAIL_PORT", 25)
    EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
