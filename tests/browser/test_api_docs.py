"""The API docs page works in real Chromium under the site's Content-Security-Policy, with
Swagger UI served from our own static files (no CDN)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_page_renders_the_schema_without_a_csp_violation(
    live_server, browser, screenshot_dir
):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    outside: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type in {"error", "warning"} and "favicon" not in m.location["url"]
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if not r.url.startswith((live_server.url, "data:", "blob:"))
            else None
        ),
    )
    page.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation', function (e) {"
        "  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });"
    )

    response = page.goto(f"{live_server.url}/api/docs/")

    assert response is not None
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Backorder Desk storefront API" in page.locator(".swagger-ui .info .title").inner_text()
    page.get_by_text("/api/v1/orders/{number}/cancel/").first.wait_for()
    page.screenshot(path=str(screenshot_dir / "api-docs.png"), full_page=False)
    assert page.evaluate("window.__csp") == []
    assert problems == []
    assert outside == []
    context.close()
