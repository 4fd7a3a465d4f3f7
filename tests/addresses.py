"""A shipping address as the new-order form posts it (the fields it requires, filled in)."""

PHONE_ORDER_ADDRESS = {
    "ship_to_name": "Pat Phone",
    "ship_to_line1": "12 Harbour Road",
    "ship_to_line2": "",
    "ship_to_city": "Portland",
    "ship_to_region": "OR",
    "ship_to_postal_code": "97201",
    "ship_to_country": "US",
    "ship_to_phone": "+1 503 555 0100",
}
