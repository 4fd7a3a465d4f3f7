from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from compliance.services import rule_run


class Command(BaseCommand):
    help = (
        "Run the FTC Mail Order Rule engine now over every open order (what the hourly beat "
        "task does): deadlines, delay notices, deemed consent and automatic cancellations."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.MAIL_ORDER_RULE_ENABLED:
            raise CommandError("The Mail Order Rule engine is off (MAIL_ORDER_RULE_ENABLED=false).")
        evaluated = rule_run()
        self.stdout.write(self.style.SUCCESS(f"Mail Order Rule: {evaluated} orders evaluated."))
