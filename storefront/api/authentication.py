from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from storefront.keys import is_publishable
from storefront.models import ApiKey, SalesChannel
from storefront.selectors import api_key_for
from storefront.services import api_key_touch

if TYPE_CHECKING:
    from rest_framework.views import APIView


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


class PublishableKeyQueryAuthentication(authentication.BaseAuthentication):
    """`?key=pk_live_…` in the address, for a web page that cannot send headers cheaply."""

    def authenticate(self, request: Request) -> tuple[ChannelPrincipal, ApiKey] | None:
        raw_key = request.query_params.get("key")
        if raw_key is None:
            return None
        if not is_publishable(raw_key):
            # A secret key in an address ends up in logs and browser histories.
            raise exceptions.AuthenticationFailed(
                "Only a publishable key (pk_live_…) may be given in the address."
            )
        api_key = api_key_for(raw_key=raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("This API key is unknown or has been revoked.")
        api_key_touch(api_key=api_key)
        return ChannelPrincipal(api_key.channel), api_key

    def authenticate_header(self, request: Request) -> str:
        # A refused key is then a 401, as with the header.
        return 'Bearer realm="api"'


class SecretKeyRequired(permissions.BasePermission):
    """Every endpoint but the availability widget's needs a secret key."""

    message = (
        "A publishable key can only read availability (GET /api/v1/public/availability/); "
        "this endpoint needs the channel's secret key, from the store's server."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        return not (isinstance(request.auth, ApiKey) and request.auth.is_publishable)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A sales channel's API key."}


class PublishableKeyQueryScheme(OpenApiAuthenticationExtension):
    target_class = PublishableKeyQueryAuthentication
    name = "PublishableKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "query",
            "name": "key",
            "description": "A channel's publishable key (pk_live_…): reads availability only.",
        }
