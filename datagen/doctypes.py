"""The key schema of each document type: the one place that fixes which keys exist and their order.

Every record lists every key of its doc type in this order (present or absent), and the masked
prompt of later stages lists them in this order too, so the order is part of the data format:
append new keys at the end, never reorder.
"""

from __future__ import annotations

from typing import Literal

# The doc types as a type: what a template's doc_type accepts (tests/test_template_validation.py checks that they agree).
DocType = Literal["receipt", "invoice", "form"]

DOC_TYPES: dict[str, tuple[str, ...]] = {
    # SROIE's four keys (company, date, address, total) come first; the rest are CORD-like extras.
    "receipt": (
        "company",
        "date",
        "address",
        "total",
        "time",
        "phone",
        "receipt_no",
        "cashier",
        "subtotal",
        "tax",
        "payment_method",
    ),
    "invoice": (
        "invoice_no",
        "invoice_date",
        "due_date",
        "po_number",
        "seller_name",
        "seller_address",
        "seller_phone",
        "seller_email",
        "seller_tax_id",
        "buyer_name",
        "buyer_address",
        "buyer_email",
        "currency",
        "subtotal",
        "tax_rate",
        "tax",
        "discount",
        "shipping",
        "total",
        "iban",
        "payment_terms",
    ),
    "form": (
        "form_title",
        "full_name",
        "date_of_birth",
        "gender",
        "nationality",
        "id_number",
        "address",
        "postcode",
        "city",
        "phone",
        "email",
        "occupation",
        "employer",
        "marital_status",
        "signature_date",
    ),
}

# Columns of a line item, in order. Templates may fill a subset; absent columns are empty strings.
LINE_ITEM_COLUMNS: tuple[str, ...] = ("description", "quantity", "unit_price", "amount")
