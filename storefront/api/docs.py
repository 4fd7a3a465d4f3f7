from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the sidecar's files: no CDN, no inline script or style (the page's CSP)."""

    template_name = "storefront/api_docs.html"
    title = "Backorder Desk storefront API"
