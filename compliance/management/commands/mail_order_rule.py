from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from compliance.services import RULE_BATCH_SIZE, rule_run


class Command(BaseCommand):
    help = (
        "Run the FTC Mail Order Rule engine now over every open order (what the hourly beat "
        "task does): deadlines, delay notices, deemed consent and automatic cancellations."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=RULE_BATCH_SIZE,
            help="Orders decided per transaction; their products' stock stays locked meanwhile "
            f"(default {RULE_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.MAIL_ORDER_RULE_ENABLED:
            raise CommandError("The Mail Order Rule engine is off (MAIL_ORDER_RULE_ENABLED=false).")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be a whole number above zero.")
        evaluated = rule_run(batch_size=options["batch_size"])
        self.stdout.write(self.style.SUCCESS(f"Mail Order Rule: {evaluated} orders evaluated."))
