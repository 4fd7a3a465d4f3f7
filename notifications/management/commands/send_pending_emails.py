from typing import Any

from django.core.management.base import BaseCommand

from notifications.services import notifications_send_due


class Command(BaseCommand):
    help = (
        "Send every email that is due now, batch after batch (without a broker, a change sends "
        "one batch after it commits and leaves the rest to later drains)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        outcomes = notifications_send_due()
        self.stdout.write(self.style.SUCCESS(f"{len(outcomes)} due email(s) handled."))
