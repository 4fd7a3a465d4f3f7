"""The API's waitlist endpoint: a storefront puts a shopper on a product's waitlist."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from storefront.waitlist.selectors import product_for_waitlist
from storefront.waitlist.services import waitlist_join

from .views import _channel, problems


class WaitlistJoinSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    product_url = serializers.URLField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="The product's page in the store: the back-in-stock email links to it.",
    )


class WaitlistEntrySerializer(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    email = serializers.EmailField()
    joined_at = serializers.DateTimeField()
    invited_at = serializers.DateTimeField(allow_null=True)


class WaitlistJoinView(GenericAPIView):
    serializer_class = WaitlistJoinSerializer

    @extend_schema(
        summary="Put a shopper on a product's waitlist",
        description="The shopper is emailed once the product is back and every backordered "
        "line has its units, in the order of joining, never more shoppers than units are free. "
        "Joining again is safe: it answers 200 with the entry already there (201 for a new one).",
        operation_id="waitlist_join",
        request=WaitlistJoinSerializer,
        responses={
            200: WaitlistEntrySerializer,
            201: WaitlistEntrySerializer,
            **problems(400, 401, 404, 429),
        },
    )
    def post(self, request: Request, sku: str) -> Response:
        product = product_for_waitlist(sku=sku)
        if product is None:
            raise Http404("No such product.")
        form = WaitlistJoinSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        joined = waitlist_join(
            product=product,
            email=form.validated_data["email"],
            channel=_channel(request),
            product_url=form.validated_data["product_url"],
        )
        return Response(
            WaitlistEntrySerializer(joined.entry).data, status=201 if joined.created else 200
        )
