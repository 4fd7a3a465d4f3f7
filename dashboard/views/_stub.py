"""Placeholder page for screens still being built."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def coming_soon(request: HttpRequest, title: str) -> HttpResponse:
    return render(request, "dashboard/coming_soon.html", {"title": title})
