"""The back-in-stock waitlist: shoppers who would rather not order are told, in the order they
joined, when a product is back, once every backordered line has its units, and never more of
them than units are free. Services in `services`, reads in `selectors`, the public form in
`views`; the API endpoint is in storefront.api.waitlist."""
