from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from storefront.models import ApiKey, SalesChannel
from storefront.selectors import api_key_for
from storefront.services import api_key_touch


class ChannelPrincipal:
    """The caller of the API: a sales channel, identified by one of its keys."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False

    def __init__(self, channel: SalesChannel) -> None:
        self.channel = channel
        self.pk = channel.pk

    def __str__(self) -> str:
        return self.channel.name


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>`: the key's channel is the caller."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ChannelPrincipal, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != self.keyword.lower():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Give the key as 'Authorization: Bearer <key>'.")
        api_key = api_key_for(raw_key=header[1])
        if api_key is None:
            raise exceptions.AuthenticationFailed("This API key is unknown or has been revoked.")
        api_key_touch(api_key=api_key)
        return ChannelPrincipal(api_key.channel), api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A sales channel's API key."}
