"""The project's own Faker providers, added to every Faker that datagen creates.

Why: Faker's ``company`` has no Malaysian business names (its ``en_MS`` locale reuses the US ones:
"Dominguez LLC"), while the receipts that real KIE benchmarks report on (SROIE) are Malaysian shops:
"SYARIKAT PERNIAGAAN GIN KEE", "99 SPEED MART S/B (519537-X)", "RESTORAN WAN SHENG". A model trained on
synthetic receipts must have seen that shape, legal suffix and registration number included. Other
locales keep Faker's ``company``, whose formats already carry their suffixes (GmbH, SARL, S.L., Ltd).
"""

from __future__ import annotations

from faker import Faker
from faker.providers import BaseProvider

# Malaysian business-name parts, as printed on receipts (upper case is the norm there).
_MS_STEMS = (
    "GIN KEE",
    "WAN SHENG",
    "HOCK SENG",
    "AH LIM",
    "KIM HENG",
    "SOON HUAT",
    "CHOP TECK SENG",
    "LEE HUP",
    "YEW HENG",
    "TECK GUAN",
    "SIN HUAT",
    "KHIAM SENG",
    "FU YUAN",
    "HENG HUAT",
    "SAN SAN",
    "TONG HING",
    "NAM FATT",
    "WING HENG",
    "MAJU JAYA",
    "SRI MURNI",
    "MAKMUR",
    "SENTOSA",
    "GEMILANG",
    "BESTARI",
    "INDAH",
    "MUTIARA",
    "SETIA",
    "SURIA",
    "MURUGAN",
    "SRI ANANDA",
    "KAMATCHI",
    "MALAR",
    "ZAIN",
    "AL-AMIN",
    "NUR FATIMAH",
    "HAJI ABU",
    "SPEED MART",
    "MR. D.I.Y.",
    "BOOK TA.K",
    "UNIHAIKKA",
    "GARDENIA",
    "OJC MARKETING",
    "EVERGREEN LIGHT",
    "DAISO",
    "POPULAR BOOK",
    "SANYOU",
    "TOH HUAT",
    "PASARAYA BORONG",
    "UNITED CAR CARE",
    "ZHENG HUI",
)
_MS_KINDS = (
    "HARDWARE",
    "TRADING",
    "STATIONERY",
    "BAKERY",
    "MINI MARKET",
    "ELECTRICAL",
    "FOOD INDUSTRIES",
    "MARKETING",
    "AUTO PARTS",
    "BOOKSTORE",
)
_MS_PLACES = ("(TAMAN DAYA)", "(KL)", "(SETAPAK)", "(M)", "(JOHOR)", "(PJ)", "(PUCHONG)", "(KEPONG)", "(AMPANG)")
_MS_SUFFIXES = ("SDN BHD", "SDN. BHD.", "SDN.BHD", "S/B", "BHD", "ENTERPRISE", "TRADING", "ENTERPRISE SDN BHD")
_MS_PREFIXES = ("SYARIKAT", "PERNIAGAAN", "SYARIKAT PERNIAGAAN", "RESTORAN", "KEDAI", "KEDAI RUNCIT", "KEDAI MAKAN")


class ShopProvider(BaseProvider):
    """``shop_name``: the name a shop prints at the top of its receipts (Faker's ``company`` by default)."""

    def shop_name(self) -> str:
        return self.generator.company()


class MalaysianShopProvider(ShopProvider):
    """``shop_name`` for Malaysian locales: prefixes, trade words, branch, legal suffix, registration number."""

    def shop_name(self) -> str:
        stem = self.random_element(_MS_STEMS)
        shape = self.random_int(0, 9)
        if shape <= 1:  # RESTORAN WAN SHENG, SYARIKAT PERNIAGAAN GIN KEE
            return f"{self.random_element(_MS_PREFIXES)} {stem}"
        name = f"{stem} {self.random_element(_MS_KINDS)}" if shape <= 4 else stem
        if self.random_int(0, 2) == 0:
            name = f"{name} {self.random_element(_MS_PLACES)}"
        name = f"{name} {self.random_element(_MS_SUFFIXES)}"
        if self.random_int(0, 2) == 0:  # company registration number, old style: (519537-X)
            name = f"{name} ({self.numerify('#####%')}-{self.random_uppercase_letter()})"
        return name


def new_faker(locale: str) -> Faker:
    """``Faker(locale)`` with the project's providers added; the one way datagen makes a Faker."""
    fake = Faker(locale)
    fake.add_provider(MalaysianShopProvider if locale.endswith("_MS") else ShopProvider)
    return fake
