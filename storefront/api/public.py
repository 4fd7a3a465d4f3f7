"""The availability widget's endpoint: read-only, callable with a publishable key from the
store's own web pages (CORS for the channel's allowed origins only)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from inventory.bounds import MAX_QUANTITY
from storefront.models import SalesChannel
from storefront.selectors import (
    ShownStatus,
    api_key_for,
    origin_allowed,
    origin_of_any_channel,
    product_availability,
)

from .authentication import ApiKeyAuthentication, PublishableKeyQueryAuthentication
from .problems import problem_response
from .throttling import ChannelRateThrottle
from .views import problems

# Long enough for a busy page to be served from the browser's cache, short enough that a
# product selling out shows within a minute.
MAX_AGE_SECONDS = 60
PREFLIGHT_MAX_AGE_SECONDS = 600


class PageRateThrottle(ChannelRateThrottle):
    """Widget calls per channel and visitor: one busy page cannot use up the channel's budget
    (nor its server's, which the secret key's calls keep to themselves)."""

    scope = "channel-page"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        channel = getattr(request.user, "channel", None)
        if channel is None:
            return None
        ident = f"{channel.pk}:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AvailabilityQuery(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(
        required=False, default=1, min_value=1, max_value=MAX_QUANTITY
    )


class ProductAvailabilitySerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=[
            (ShownStatus.IN_STOCK, "In stock"),
            (ShownStatus.BACKORDERED, "Backordered"),
            (ShownStatus.PREORDER, "Preorder"),
            (ShownStatus.UNAVAILABLE, "Cannot be ordered"),
        ]
    )
    ships_by = serializers.DateField(
        allow_null=True,
        help_text="For a backorder or preorder: the date an order placed now is promised to "
        "ship by (the ETA its line would get); null when in stock or not known.",
    )


def _preflight(request: HttpRequest) -> HttpResponse:
    """CORS preflight (only a page sending the key in a header needs one)."""
    response = HttpResponse(status=204)
    patch_vary_headers(response, ["Origin"])
    origin = request.headers.get("Origin", "")
    raw_key = request.GET.get("key")
    if raw_key:
        api_key = api_key_for(raw_key=raw_key)
        allowed = api_key is not None and origin_allowed(channel=api_key.channel, origin=origin)
    else:
        allowed = origin_of_any_channel(origin=origin)
    if allowed:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Authorization"
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
    return response


class PublicAvailabilityView(GenericAPIView):
    authentication_classes = [PublishableKeyQueryAuthentication, ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [PageRateThrottle]
    serializer_class = ProductAvailabilitySerializer

    caller: SalesChannel | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "OPTIONS":
            return _preflight(request)
        return super().dispatch(request, *args, **kwargs)

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)
        self.caller = getattr(request.user, "channel", None)

    @extend_schema(
        summary="One product's availability, for a product page",
        description="What the availability widget shows: in stock, or backordered with the "
        "date an order placed now would ship by. Takes a publishable key (`?key=pk_live_…`, "
        "or the Authorization header); answers browsers on the channel's allowed origins "
        f"only (CORS), and may be cached for {MAX_AGE_SECONDS} seconds.",
        operation_id="public_availability_retrieve",
        parameters=[
            OpenApiParameter("sku", str, required=True, description="The product's SKU."),
            OpenApiParameter("quantity", int, description="Units to quote (1 if not given)."),
        ],
        responses={200: ProductAvailabilitySerializer, **problems(400, 401, 404, 429)},
    )
    def get(self, request: Request) -> Response:
        form = AvailabilityQuery(data=request.query_params)
        form.is_valid(raise_exception=True)
        sku, quantity = form.validated_data["sku"], form.validated_data["quantity"]
        found = product_availability(sku=sku, quantity=quantity)
        if found is None:
            return problem_response(404, f"No product has the SKU '{sku}'.", kind="unknown-sku")
        response = Response(ProductAvailabilitySerializer(found).data)
        patch_cache_control(response, max_age=MAX_AGE_SECONDS)
        return response

    def finalize_response(
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_vary_headers(response, ["Origin"])
        origin = request.headers.get("Origin", "")
        if self.caller is not None and origin_allowed(channel=self.caller, origin=origin):
            response["Access-Control-Allow-Origin"] = origin
        return response
