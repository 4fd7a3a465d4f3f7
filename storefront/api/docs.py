from __future__ import annotations

from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularSwaggerSplitView

# Swagger UI draws its icons as data: images; nothing else on the page needs more than the
# site's policy, and only this page gets this.
DOCS_CSP = {"img-src": ["data:"]}


@method_decorator(csp_update(DOCS_CSP), name="dispatch")
@method_decorator(csp_update(DOCS_CSP, REPORT_ONLY=True), name="dispatch")
class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the sidecar's files: no CDN, no inline script or style."""

    template_name = "storefront/api_docs.html"
    title = "Backorder Desk storefront API"
