from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from storefront.api.docs import ApiDocsView


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
    path("waitlist/", include("storefront.waitlist.urls")),
    path("api/v1/", include("storefront.api.urls")),
    path("storefront/", include("storefront.urls")),
    path("api/intake/", include("storefront.intake.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    *_email_webhooks(),
    path("", RedirectView.as_view(pattern_name="dashboard:overview", permanent=False)),
]

handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
