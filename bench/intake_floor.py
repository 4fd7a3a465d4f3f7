"""The framework floor of bench/intake.py: gunicorn serves these settings, whose only address is
`POST /api/v1/orders/`, answered by a view that does what every order must before any order
work (the project's middleware; the API key's lookup, last-use record, permissions and
throttle; the Idempotency-Key check; parsing and validating the body with the order
serializer) and then answers 201 with a small JSON body, writing nothing. No order code can
be faster over HTTP on the same machine, so the floor's ratio to the database limit bounds
what intake can reach there."""

from config.settings.local import *  # noqa: F403

ROOT_URLCONF = "bench.intake_floor_urls"
