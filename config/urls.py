from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView


def _email_webhooks() -> list[URLPattern | URLResolver]:
    """Only the configured provider's tracking webhook: every other provider's URL is a 404."""
    from anymail import urls as anymail_urls

    provider = getattr(settings, "EMAIL_PROVIDER", "")
    names = {f"{provider}_tracking_webhook", f"{provider}_webhook"}
    mounted = [p for p in anymail_urls.urlpatterns if getattr(p, "name", None) in names]
    return [path("anymail/", include((mounted, "anymail")))] if mounted else []


urlpatterns = [
    path("admin/", admin.site.urls),
    path("orders/", include("compliance.urls")),
    path("dashboard/", include("dashboard.urls")),
    *_email_webhooks(),
    path("", RedirectView.as_view(pattern_name="dashboard:overview", permanent=False)),
]
