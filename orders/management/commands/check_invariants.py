from typing import Any

from django.core.management.base import BaseCommand, CommandError

from orders.selectors import invariant_violations


class Command(BaseCommand):
    help = "Check every invariant of the stock and order books; exit non-zero on any violation."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = invariant_violations()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} invariant violation(s).")
        self.stdout.write(self.style.SUCCESS("All invariants hold."))
