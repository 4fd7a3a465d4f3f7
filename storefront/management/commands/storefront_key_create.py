from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from storefront.models import ApiKey, SalesChannel
from storefront.services import api_key_create, channel_create


class Command(BaseCommand):
    help = "Create an API key for a sales channel (the channel too, if new); prints the key once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", required=True, help="The channel's name.")
        parser.add_argument(
            "--kind", choices=SalesChannel.Kind.values, default=SalesChannel.Kind.CUSTOM
        )
        parser.add_argument("--name", default="", help="What will use the key.")
        parser.add_argument(
            "--publishable",
            action="store_true",
            help="A publishable key (pk_live_…) for the availability widget: reads only.",
        )

    def handle(
        self, *args: Any, channel: str, kind: str, name: str, publishable: bool, **options: Any
    ) -> None:
        sales_channel = SalesChannel.objects.filter(name=channel).first()
        if sales_channel is None:
            sales_channel = channel_create(name=channel, kind=kind)
            self.stderr.write(f"Created the sales channel {sales_channel.name!r}.")
        key_kind = ApiKey.Kind.PUBLISHABLE if publishable else ApiKey.Kind.SECRET
        _, raw_key = api_key_create(channel=sales_channel, name=name, kind=key_kind)
        if not publishable:
            self.stderr.write("The key is shown once; store it in the storefront now:")
        self.stdout.write(raw_key)
