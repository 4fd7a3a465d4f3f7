"""Importing products and stock counts from CSV: upload, preview, apply once, all or nothing."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from inventory.models import Product, Stock, StockMovement, Supplier
from orders.models import OrderLine
from orders.services import (
    ImportRefused,
    catalogue_import_apply,
    catalogue_import_plan,
    imports,
    stock_adjust,
)
from tests.factories import ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db
URL = reverse("dashboard:product_import")


@pytest.fixture
def manager(client: Client) -> Client:
    client.force_login(staff_in("Managers"))
    return client


def upload(client: Client, text: str | bytes, kind: str = "products"):
    content = text.encode() if isinstance(text, str) else text
    return client.post(
        URL,
        {
            "kind": kind,
            "file": SimpleUploadedFile("import.csv", content, "text/csv"),
            "preview": "1",
        },
    )


def apply(client: Client, preview, once: str = "import-once-0123456789abcdef"):
    form = preview.context["apply_form"]
    assert form is not None, "the preview offers no apply button"
    return client.post(URL, {**form.initial, "apply": "1", "submission_token": once}, follow=True)


def text_of(response) -> str:
    """The page's text as a person reads it (entities such as &#x27; turned back)."""
    return html.unescape(response.content.decode())


def on_hand(product: Product) -> int:
    return Stock.objects.get(pk=product.pk).on_hand


def test_only_managers_may_import(client):
    client.force_login(staff_in("Operations"))
    assert client.get(URL).status_code == 403
    assert upload(client, "sku,name,price\nNEW-1,New,1.00\n").status_code == 403
    client.force_login(staff_in("Managers"))
    assert client.get(URL).status_code == 200
    assert not Product.objects.exists()


def test_the_products_preview_says_what_will_be_created_changed_and_left_alone(manager):
    Supplier.objects.create(name="Acme Cables")
    ProductFactory(sku="CAB-1", name="Braided cable", unit_price=Decimal("9.50"))
    ProductFactory(sku="LAMP-1", name="Desk lamp", unit_price=Decimal("40.00"))
    csv_text = (
        "SKU,Name,Price,Backorder policy,Backorder cap,Lead time days,Supplier\n"
        "NEW-1,Gooseneck kettle,59.00,deny,,7,acme cables\n"
        "cab-1,,12.00,,25,,\n"
        "LAMP-1,Desk lamp,40.00,,,,\n"
    )

    response = upload(manager, csv_text)

    assert response.status_code == 200
    page = text_of(response)
    assert "1 to create, 1 to change, 1 left alone." in page
    assert "price: 9.50 → 12.00; backorder cap: — → 25" in page
    assert "name: Gooseneck kettle; price: 59.00; backorder policy: deny" in page
    assert Product.objects.count() == 2
    assert Product.objects.get(sku="CAB-1").unit_price == Decimal("9.50")


def test_applying_products_creates_and_changes_them_in_one_go(manager):
    supplier = Supplier.objects.create(name="Acme Cables", lead_time_days=30)
    ProductFactory(sku="CAB-1", name="Braided cable", unit_price=Decimal("9.50"), backorder_cap=5)
    preview = upload(
        manager,
        "sku,name,price,policy,cap,lead time,supplier\n"
        "NEW-1,Gooseneck kettle,59,deny,,7,Acme Cables\n"
        "CAB-1,,12.00,,none,,\n",
    )

    response = apply(manager, preview)

    assert "Import applied: 1 created, 1 changed, 0 left alone." in text_of(response)
    kettle = Product.objects.get(sku="NEW-1")
    assert (kettle.name, kettle.unit_price, kettle.backorder_policy, kettle.lead_time_days) == (
        "Gooseneck kettle",
        Decimal("59.00"),
        "deny",
        7,
    )
    assert kettle.preferred_supplier == supplier
    assert on_hand(kettle) == 0
    cable = Product.objects.get(sku="CAB-1")
    assert (cable.unit_price, cable.backorder_cap, cable.name) == (
        Decimal("12.00"),
        None,
        "Braided cable",
    )


def test_row_errors_name_the_row_and_nothing_can_be_applied(manager):
    ProductFactory(sku="CAB-1")
    csv_text = (
        "sku,name,price,backorder policy,backorder cap,lead time days,supplier\n"
        "NEW-1,Kettle,abc,,,,\n"  # row 2
        "NEW-2,,5.00,,,,\n"  # row 3
        "CAB-1,,,maybe,,,\n"  # row 4
        "CAB-1,,1.00,,,,\n"  # row 5
        "NEW-3,Lamp,1.005,,-2,400,Nobody Ltd\n"  # row 6
        ",Nameless,1.00,,,,\n"  # row 7
        "NEW-4,Fine,=1+1,,,,\n"  # row 8
        "NEW-5,Fine,2.00,,,,\n"  # row 9: right, but the file is not applied
    )

    response = upload(manager, csv_text)

    assert response.status_code == 200
    errors = [(e.row, e.message) for e in response.context["plan"].errors]
    assert errors == [
        (2, "The price must be an amount such as 12.50 (got 'abc')."),
        (3, "NEW-2 is a new product: give its name."),
        (4, "The backorder policy is 'allow' or 'deny' (got 'maybe')."),
        (5, "CAB-1 is already on row 4."),
        (
            6,
            "The price has more than two decimals (got 1.005). The backorder cap must be between "
            "0 and 1,000,000 (got -2). The lead time (days) must be between 0 and 365 (got 400). "
            "No supplier is named 'Nobody Ltd'; add it first.",
        ),
        (7, "The SKU is empty."),
        (8, "The price must be an amount such as 12.50 (got '=1+1')."),
    ]
    assert "7 rows cannot be imported" in text_of(response)
    assert response.context["apply_form"] is None
    assert 'name="apply"' not in text_of(response)
    assert Product.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("sku,colour\nA,red\n", "Unknown column 'colour'."),
        ("name,price\nA,1\n", "The file needs a 'sku' column."),
        ("sku,name\n", "The file has a header but no rows."),
        ("", "The file is empty."),
        ("sku,name\nA,caf\xe9\n".encode("latin-1"), "The file is not UTF-8 text"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_clearly(manager, content, message):
    response = upload(manager, content)

    assert response.status_code == 400
    assert message in text_of(response)
    assert not Product.objects.exists()


def test_the_file_size_and_row_count_are_bounded(manager, monkeypatch):
    too_big = b"sku,name,price\n" + b"A" * imports.MAX_IMPORT_BYTES
    response = upload(manager, too_big)
    assert response.status_code == 400
    assert "The file is larger than 1 MB; split it up." in text_of(response)

    rows = "".join(f"SKU-{n},Thing {n},1.00\n" for n in range(imports.MAX_IMPORT_ROWS + 1))
    response = upload(manager, "sku,name,price\n" + rows)
    assert response.status_code == 400
    assert "The file has more than 5,000 rows; split it up." in text_of(response)
    assert not Product.objects.exists()


def test_formula_looking_cells_are_plain_text(manager):
    preview = upload(
        manager,
        'sku,name,price\n=SKU-1,"=HYPERLINK(""http://evil.example"")",1.00\n'
        "SKU-2,'=SUM(A1:A2),2.00\n",
    )
    assert "=HYPERLINK(&quot;http://evil.example&quot;)" in preview.content.decode()

    apply(manager, preview)

    assert dict(Product.objects.values_list("sku", "name")) == {
        "=SKU-1": '=HYPERLINK("http://evil.example")',
        # Our own exports put a ' before a would-be formula: read back as the text it was.
        "SKU-2": "=SUM(A1:A2)",
    }


def test_stock_counts_become_adjustments_and_fill_waiting_orders(manager):
    counted_down = ProductFactory(sku="CAB-1", on_hand=10)
    counted_up = ProductFactory(sku="LAMP-1", on_hand=0)
    same = ProductFactory(sku="KET-1", on_hand=4)
    order = place_order((counted_up, 3))
    csv_text = "sku,counted\nCAB-1,7\nlamp-1,5\nKET-1,4\n"

    preview = upload(manager, csv_text, kind="stock_counts")

    assert "2 to change, 1 left alone." in text_of(preview)
    assert "on hand: 10 → 7" in text_of(preview)
    assert "on hand: 0 → 5" in text_of(preview)
    response = apply(manager, preview)
    assert "Import applied: 2 stock counts adjusted, 1 left alone." in text_of(response)
    assert (on_hand(counted_down), on_hand(counted_up), on_hand(same)) == (7, 5, 4)
    adjustments = StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTMENT)
    assert sorted(adjustments.values_list("product_id", "quantity", "reason")) == sorted(
        [
            (counted_down.pk, -3, "stock count import"),
            (counted_up.pk, 5, "stock count import"),
        ]
    )
    line = OrderLine.objects.get(order=order)
    assert (line.quantity_allocated, line.quantity_backordered) == (3, 0)


def test_importing_the_same_counts_again_changes_nothing(manager):
    ProductFactory(sku="CAB-1", on_hand=10)
    csv_text = "sku,counted\nCAB-1,7\n"
    apply(
        manager, upload(manager, csv_text, kind="stock_counts"), once="first-once-0123456789abcdef"
    )
    movements = StockMovement.objects.count()

    again = upload(manager, csv_text, kind="stock_counts")
    assert "0 to change, 1 left alone." in text_of(again)
    response = apply(manager, again, once="second-once-0123456789abcdef")

    assert "Import applied: 0 stock counts adjusted, 1 left alone." in text_of(response)
    assert StockMovement.objects.count() == movements


def test_a_repeated_apply_with_one_token_applies_once(manager):
    ProductFactory(sku="CAB-1", on_hand=10)
    preview = upload(manager, "sku,counted\nCAB-1,7\n", kind="stock_counts")

    apply(manager, preview)
    repeat = apply(manager, preview)

    assert "already submitted; nothing was done again" in text_of(repeat)
    assert StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTMENT).count() == 1


def test_counts_applied_after_the_stock_moved_are_previewed_again_not_applied(manager):
    cable = ProductFactory(sku="CAB-1", on_hand=10)
    preview = upload(manager, "sku,counted\nCAB-1,7\n", kind="stock_counts")
    stock_adjust(product=cable, quantity=-1, reason="dropped one")

    response = apply(manager, preview)

    assert response.status_code == 409
    assert "changed since the preview" in text_of(response)
    assert "on hand: 9 → 7" in text_of(response)
    assert on_hand(cable) == 9


def test_unknown_skus_in_a_count_are_row_errors(manager):
    ProductFactory(sku="CAB-1", on_hand=10)
    response = upload(manager, "sku,counted\nCAB-1,x\nNOPE-1,3\n", kind="stock_counts")

    errors = [(e.row, e.message) for e in response.context["plan"].errors]
    assert errors == [
        (2, "The count must be a whole number (got 'x')."),
        (3, "No product has the SKU 'NOPE-1'."),
    ]


def test_the_service_refuses_a_file_with_a_bad_row_and_writes_nothing():
    ProductFactory(sku="CAB-1", on_hand=10)
    content = b"sku,counted\nCAB-1,7\nNOPE-1,3\n"
    plan = catalogue_import_plan(kind="stock_counts", content=content)

    with pytest.raises(ImportRefused) as caught:
        catalogue_import_apply(kind="stock_counts", content=content, fingerprint=plan.fingerprint)

    assert caught.value.messages == ["Row 3: No product has the SKU 'NOPE-1'."]
    assert Stock.objects.get().on_hand == 10


def test_an_imported_lead_time_moves_the_etas_of_waiting_lines(manager):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0, lead_time_days=10)
    line = place_order((lamp, 1)).lines.get()
    before = line.eta

    apply(manager, upload(manager, "sku,lead time days\nLAMP-1,40\n"))

    line.refresh_from_db()
    assert before is not None
    assert line.eta is not None
    assert line.eta > before
    assert Product.objects.get(pk=lamp.pk).lead_time_days == 40
