from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from storefront.models import SalesChannel
from storefront.services import api_key_create, channel_create


class Command(BaseCommand):
    help = "Create an API key for a sales channel (the channel too, if new); prints the key once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", required=True, help="The channel's name.")
        parser.add_argument(
            "--kind", choices=SalesChannel.Kind.values, default=SalesChannel.Kind.CUSTOM
        )
        parser.add_argument("--name", default="", help="What will use the key.")

    def handle(self, *args: Any, channel: str, kind: str, name: str, **options: Any) -> None:
        sales_channel = SalesChannel.objects.filter(name=channel).first()
        if sales_channel is None:
            sales_channel = channel_create(name=channel, kind=kind)
            self.stderr.write(f"Created the sales channel {sales_channel.name!r}.")
        _, raw_key = api_key_create(channel=sales_channel, name=name)
        self.stderr.write("The key is shown once; store it in the storefront now:")
        self.stdout.write(raw_key)
