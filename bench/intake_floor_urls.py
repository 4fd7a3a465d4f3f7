"""The addresses of bench/intake_floor.py's settings: the project's, but the order create is
answered without the order."""

from __future__ import annotations

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as project_urlpatterns
from storefront.api.problems import problem_response
from storefront.api.serializers import OrderCreateSerializer


class OrderCreateFloorView(APIView):
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 255:
            return problem_response(400, "Send an Idempotency-Key header.", kind="invalid")
        form = OrderCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return Response({"external_id": form.validated_data["external_id"]}, status=201)


urlpatterns = [path("api/v1/orders/", OrderCreateFloorView.as_view()), *project_urlpatterns]
