"""A manager uploads a stock count CSV in a real browser, reads the preview and applies it."""

from __future__ import annotations

import pytest

from inventory.models import Stock, StockMovement
from tests.browser.test_dashboard_flows import HEIGHT, WIDTH, log_in, staff
from tests.browser.test_double_submit import in_another_thread
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def manager() -> str:
    ProductFactory(sku="CAB-1", name="Braided cable", on_hand=10)
    ProductFactory(sku="LAMP-1", name="Desk lamp", on_hand=2)
    return staff("maria", "Managers")


def test_a_manager_uploads_counts_previews_and_applies_them(
    live_server, manager, browser, screenshot_dir
):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, manager)

    page.goto(f"{live_server.url}/dashboard/products/")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_role("radio", name="Stock counts").check()
    page.get_by_label("CSV file", exact=True).set_input_files(
        {
            "name": "counts.csv",
            "mimeType": "text/csv",
            "buffer": b"sku,counted\nCAB-1,7\nLAMP-1,2\nNOPE-9,\n",
        }
    )
    page.get_by_role("button", name="Preview the import").click()
    errors = page.locator("#import-errors tbody tr")
    assert errors.all_inner_texts() == ["4\tNo product has the SKU 'NOPE-9'."]
    assert page.get_by_role("button", name="Apply the import").count() == 0

    page.get_by_role("radio", name="Stock counts").check()
    page.get_by_label("CSV file", exact=True).set_input_files(
        {
            "name": "counts.csv",
            "mimeType": "text/csv",
            "buffer": b"sku,counted\nCAB-1,7\nLAMP-1,2\n",
        }
    )
    page.get_by_role("button", name="Preview the import").click()
    assert page.locator("#import-summary").inner_text() == "1 to change, 1 left alone."
    assert page.locator("#import-rows tbody tr").all_inner_texts() == [
        "2\tCAB-1\tchanged\ton hand: 10 → 7"
    ]
    page.screenshot(path=str(screenshot_dir / "product-import-preview.png"), full_page=True)
    page.get_by_role("button", name="Apply the import").click()

    page.wait_for_url(f"{live_server.url}/dashboard/products/import/")
    assert "Import applied: 1 stock count adjusted, 1 left alone." in page.content()
    page.screenshot(path=str(screenshot_dir / "product-import-applied.png"), full_page=True)
    context.close()
    assert in_another_thread(
        lambda: (
            list(Stock.objects.order_by("product__sku").values_list("on_hand", flat=True)),
            list(
                StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTMENT).values_list(
                    "quantity", "reason"
                )
            ),
        )
    ) == ([7, 2], [(-3, "stock count import")])
