from typing import Any

from django.core.management.base import BaseCommand, CommandError

from compliance.selectors import ship_by_mismatches
from orders.selectors import invariant_violations


class Command(BaseCommand):
    help = "Check every invariant of the stock and order books; exit non-zero on any violation."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = invariant_violations()
        # The ship-by date stored on each order is its Mail Order Rule record's.
        for number, stored, expected in ship_by_mismatches():
            problems.append(
                f"{number}: ship-by date stored as {stored or 'none'} but its rule record "
                f"says {expected or 'none'}."
            )
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} invariant violation(s).")
        self.stdout.write(self.style.SUCCESS("All invariants hold."))
