"""The project's own Faker providers, added to every Faker that datagen creates.

Why: Faker's ``company`` has no Malaysian business names (its ``en_MS`` locale reuses the US ones:
"Dominguez LLC"), while the receipts that real KIE benchmarks report on (SROIE) are Malaysian shops, whose
names have a shape of their own: a Malay prefix (RESTORAN, KEDAI RUNCIT, SYARIKAT PERNIAGAAN), a romanised
Chinese, a Malay or an Indian name, a trade word, a branch in brackets and a legal suffix (SDN BHD, S/B,
ENTERPRISE). A model trained on synthetic receipts must have seen that shape. Other locales keep Faker's
``company``, whose formats already carry their suffixes (GmbH, SARL, S.L., Ltd).

The names are composed at random from generic parts (common romanised syllables, Malay words, Indian and
Malay given names, trade vocabulary), so they look like such shops without copying any: no string of a
real dataset (shop names, addresses, items) may enter the generator, and ``tests/test_real_leak.py``
checks that against the real receipts at hand. Invented examples: "SYARIKAT PERNIAGAAN HOCK LEONG",
"KIM SOON HARDWARE (KLANG) SDN BHD", "SINAR MAKMUR ENTERPRISE", "SRI KANNAN TEXTILE S/B".

The company registration number is not part of the name. Malaysian receipts print it after or under the
name, and SROIE's ``company`` never includes it, so ``company_reg_no`` gives it as text of its own (for a
template's var, printed on a line of its own): Malaysian shapes for ``en_MS`` ("(123456-X)",
"Co. No: 201501012345 (1123456-A)", a business registration such as "(JM0123456-T)"), and elsewhere the
country's registry id as receipts print it (HRB, RCS/SIREN, CIF, KvK, REA, Companies House). Every value is
drawn digit by digit from a pattern: none is a real company's.

Two more print what real receipts carry around the fields, never inside them: ``person_name``, a name printed
above the shop's name (an owner's or a cashier's: SROIE's receipts often start with one), composed for
``en_MS`` from Chinese, Malay and Indian name parts ("TAN KOK SENG", "ROSLAN BIN ISMAIL",
"MEENA A/P KANNAN"; Faker's ``en_MS`` names are its US ones) and Faker's ``name`` elsewhere; and
``till_codes``, the terminal, till, shift and receipt codes printed on the date's line ("#03",
"S02 T4 R00041377", "POS03 00017625").

``shop_phone`` is the number under the address (Malaysian landline and mobile shapes for ``en_MS``, whose
Faker numbers are US ones). ``tax_id`` is the seller's tax number as receipts print it near the address: a label and a number drawn digit by
digit from the country's shape, so no two receipts share one ("GST ID No : 000306012345" or "(GST REG NO:
001234567890)" or "SST No: W10-1808-32000123" for ``en_MS``, "USt-IdNr.: DE123456789", "N° TVA : FR12345678901",
...). Why not a list of fixed lines: a model shown the same few lines learns to stop a value before those lines,
not before a tax number.

``tax_rate`` is the VAT/GST/sales-tax rate a document of the locale's country charges (standard or reduced, as
data in ``_TAX_RATES``), so that a template's one generator never prints a German 21 % or a French 7 %.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

from faker import Faker
from faker.providers import BaseProvider

# Malaysian business-name parts, as printed on receipts (upper case is the norm there).
_MS_SYLLABLES = (  # romanised Hokkien, Cantonese, Hakka and Teochew name syllables
    "AH", "AIK", "BENG", "CHEONG", "CHIN", "CHOON", "CHUAN", "FATT", "FOOK", "GUAN", "HENG", "HIN",
    "HOCK", "HONG", "HUAT", "HUP", "HWA", "KEAT", "KEE", "KHENG", "KIAT", "KIM", "KOK", "KWONG",
    "LAI", "LEONG", "LIAN", "LOONG", "MENG", "MING", "NAM", "ONN", "POH", "SENG", "SIANG", "SIN",
    "SOON", "TAI", "TAT", "TECK", "TONG", "WAH", "WENG", "WING", "YEW", "YONG", "YUEN",
)  # fmt: skip
_MS_MALAY_WORDS = (  # auspicious Malay words
    "MAJU", "JAYA", "SENTOSA", "MAKMUR", "CAHAYA", "BAHAGIA", "SINAR", "BINTANG", "PERMATA", "MUTIARA",
    "SETIA", "GEMILANG", "BESTARI", "MURNI", "HARMONI", "AMAN", "DAMAI", "WAWASAN", "SURIA", "BAYU",
    "PUTRA", "BUDI", "TEGUH", "BERJAYA", "CEMERLANG", "BAKTI", "SEJAHTERA", "KENCANA",
)  # fmt: skip
_MS_MALAY_NAMES = ("AHMAD", "AMINAH", "FAUZI", "HALIM", "HASSAN", "ISMAIL", "KAMAL", "RAHMAN", "ROSLAN", "SALMAH",
                   "YUSOF", "ZAINAL")  # fmt: skip
_MS_INDIAN_NAMES = ("MUTHU", "RAJU", "KUMAR", "SELVAM", "GANESH", "SARAVANA", "KRISHNA", "DEVI", "LAKSHMI",
                    "PERUMAL", "VELU", "KANNAN", "MEENA", "SUBRAMANIAM")  # fmt: skip
_MS_EN_FIRST = ("GOLDEN", "BRIGHT", "ROYAL", "PRIME", "GRAND", "LUCKY", "SUNRISE", "EASTERN", "METRO",
                "PACIFIC", "SILVER", "UNITY", "RAINBOW", "CRYSTAL", "EVERBEST", "TRIPLE")  # fmt: skip
_MS_EN_SECOND = ("PEARL", "STAR", "DRAGON", "PHOENIX", "LOTUS", "HORIZON", "HARVEST", "VALLEY", "LEAF",
                 "BRIDGE", "CROWN", "RIVER", "MOUNTAIN", "GARDEN", "ACE", "WAVE")  # fmt: skip
_MS_KINDS = (
    "HARDWARE", "TRADING", "STATIONERY", "BAKERY", "MINI MARKET", "ELECTRICAL", "FOOD INDUSTRIES",
    "MARKETING", "AUTO PARTS", "BOOKSTORE", "FURNITURE", "PHARMACY", "TEXTILE", "SEAFOOD RESTAURANT",
    "CONFECTIONERY", "ENGINEERING", "MACHINERY", "PRINTING", "FROZEN FOOD", "OPTICAL", "FLORIST",
    "BUILDING MATERIALS", "MOTOR", "PLASTIC INDUSTRIES",
)  # fmt: skip
_MS_BRANCHES = ("(M)", "(M)", "(KL)", "(PJ)", "(JB)", "(PENANG)", "(IPOH)", "(KLANG)", "(MELAKA)", "(SEREMBAN)",
                "(KUANTAN)", "(SELANGOR)", "(KUCHING)", "(SABAH)", "(PERAK)")  # fmt: skip
_MS_SUFFIXES = ("SDN BHD", "SDN BHD", "SDN. BHD.", "SDN.BHD.", "S/B", "BHD", "BERHAD", "ENTERPRISE", "ENTERPRISE",
                "TRADING", "ENTERPRISE SDN BHD", "PLT")  # fmt: skip
_MS_PREFIXES = ("SYARIKAT", "PERNIAGAAN", "SYARIKAT PERNIAGAAN", "RESTORAN", "KEDAI", "KEDAI RUNCIT",
                "KEDAI MAKAN", "KEDAI KOPI", "PASARAYA", "KEDAI UBAT")  # fmt: skip
_MS_FAMILY = ("& SONS", "& CO", "& BROTHERS", "& SONS SDN BHD")
# A shop's unit in a building, printed before the street: "LOT G-12, GROUND FLOOR, WISMA SINAR" ("#" a digit).
_MS_UNITS = ("LOT", "UNIT", "SHOP LOT", "LOT NO.")
_MS_UNIT_CODES = ("G-##", "#-##", "F#-##", "G##", "B-#-##", "L#-##", "##A")
_MS_FLOORS = ("GROUND FLOOR", "GROUND FLOOR", "1ST FLOOR", "2ND FLOOR", "LEVEL 3", "LOWER GROUND FLOOR", "TINGKAT BAWAH")
_MS_BUILDINGS = ("WISMA", "MENARA", "PLAZA", "KOMPLEKS", "BANGUNAN", "MEDAN")

# Malaysian person names: romanised Chinese surnames (with given names from _MS_SYLLABLES), Malay and Indian
# given names; composed "SURNAME GIVEN GIVEN", "NAME BIN/BINTI FATHER", "NAME A/L / A/P FATHER".
_MS_SURNAMES = ("TAN", "LIM", "LEE", "NG", "WONG", "CHAN", "ONG", "TEH", "GOH", "CHONG", "YAP", "LOW", "LAU", "CHEAH",
                "KHOO", "FOO", "SIM", "TAY", "TEO", "CHOW", "HO", "YEOH", "KOH", "CHUA", "LOH", "PANG")  # fmt: skip
_MS_MALAY_MEN = ("AHMAD", "FAUZI", "HALIM", "HASSAN", "ISMAIL", "KAMAL", "RAHMAN", "ROSLAN", "YUSOF", "ZAINAL", "AZMAN",
                 "HAFIZ", "NORDIN", "RIDZUAN", "SHAHRUL", "MOHD AMIN", "MOHD RIZAL", "ABDUL KARIM")  # fmt: skip
_MS_MALAY_WOMEN = ("AMINAH", "SALMAH", "NORAINI", "FARIDAH", "ROSNAH", "SITI AISYAH", "ZALEHA", "NURUL HUDA")
_MS_INDIAN_MEN = ("MUTHU", "RAJU", "KUMAR", "SELVAM", "GANESH", "SARAVANA", "KRISHNA", "PERUMAL", "VELU", "KANNAN",
                  "SUBRAMANIAM", "ARUMUGAM")  # fmt: skip
_MS_INDIAN_WOMEN = ("DEVI", "LAKSHMI", "MEENA", "KAVITHA", "PRIYA", "VASANTHI")
# Codes printed on a till's date line: terminal, till, shift, cashier and receipt numbers ("#" a digit, "%" a
# non-zero digit, "^" a printed "#").
_TILL_CODES = ("^0%", "^%#", "T0%", "S0% T% R00######", "POS0% 000#####", "TILL % ######", "C0% T0% #######",
               "CT0% INV########", "SH% POS% ######", "M%# R########", "OP0% #####", "T% ^0%")  # fmt: skip

# Check characters of Malaysian registration numbers, and state codes of old business registrations.
_MS_CHECK = "ADHKMPTUVWX"
_MS_STATES = ("JM", "SA", "PG", "IP", "KT", "CA", "MA", "AS", "NS", "TR", "KL", "CT")
_MS_REG_LABELS = ("Co. Reg. No.", "Co. Reg. No:", "Company No.", "Company No:", "Co. No:", "Reg. No:", "ROC No.")

# Registry ids as receipts of other countries print them ("#" a digit, "%" a non-zero digit, "?" a letter);
# the shipped templates print none for the US, whose receipts carry no registry id.
_CITY = "{city}"
_REGISTRY = {
    "GB": ("Company No. 0#######", "Registered in England No. 0#######", "Reg. No. 1#######",
           "Registered in England and Wales No. 0#######", "Company Reg. No. SC%#####"),
    "DE": ("HRB %####", "Amtsgericht {city} HRB %####", "Handelsregister: HRB %####", "Registergericht {city}, HRB %####",
           "HRA %###"),
    "AT": ("FN %#####?", "Firmenbuch FN %####?", "FN %#####? HG Wien"),
    "FR": ("RCS {city} B %## ### ###", "SIREN %## ### ###", "SIRET %## ### ### #####", "R.C.S. {city} %########"),
    "ES": ("CIF: B########", "CIF: A-########", "NIF B-########", "Reg. Merc. {city}, T. %###, F. %#, H. ?-%#####"),
    "NL": ("KvK %#######", "KvK-nr. %#######", "KvK nummer: %#######", "Handelsregister %#######"),
    "IT": ("R.E.A. MI-%######", "REA RM %#####", "Reg. Imprese {city} 0##########", "Iscr. Reg. Imprese di {city} n. 0##########"),
    "US": ("EIN %#-#######",),
}  # fmt: skip
_REGISTRY_CITIES = {
    "DE": ("Köln", "München", "Hamburg", "Berlin-Charlottenburg", "Frankfurt am Main", "Stuttgart", "Düsseldorf", "Leipzig"),
    "FR": ("Paris", "Lyon", "Marseille", "Lille", "Nantes", "Bordeaux", "Toulouse", "Strasbourg"),
    "ES": ("Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Málaga"),
    "IT": ("Milano", "Roma", "Torino", "Napoli", "Bologna", "Firenze"),
}
_REGISTRY_DEFAULT = ("Reg. No. %#######",)

# Tax numbers (VAT, GST, SST) as labels and digit patterns; a label and a pattern are drawn independently.
_TAX_IDS = {
    "DE": (("USt-IdNr.:", "USt-ID:", "USt-IdNr", "UST-ID-NR"), ("DE%########", "DE %## ### ###")),
    "AT": (("UID:", "UID-Nr.:", "USt-IdNr.:"), ("ATU%#######",)),
    "FR": (("N° TVA :", "TVA intracom.", "N° TVA", "TVA :"), ("FR%# %########", "FR %# %## ### ###", "FR%##########")),
    "ES": (("NIF:", "NIF-IVA:", "CIF/NIF", "N.I.F."), ("B%#######", "ESB%#######", "A-%#######", "B-%#######")),
    "NL": (("BTW-nr.:", "BTW", "BTW-id", "BTW nummer:"), ("NL%########B0#", "NL%###.##.###.B0#")),
    "IT": (("P.IVA", "P. IVA", "Partita IVA", "C.F. e P.IVA"), ("0##########", "IT0##########")),
    "GB": (("VAT No.", "VAT Reg. No.", "VAT Registration No:", "VAT No:"), ("GB %## #### ##", "%## #### ##")),
    "US": (("Sales Tax ID", "Tax ID:", "Seller's Permit #"), ("%##-#######", "%########")),
}  # fmt: skip
_TAX_IDS_DEFAULT = (("Tax ID:",), ("%########",))
# Malaysia: GST (2015-2018) numbers are 12 digits, SST ones (from 2018) a station code, a date and a serial
_MS_GST_LABELS = ("GST ID", "GST ID NO", "GST ID No", "GST REG NO", "GST Reg No", "GST NO", "GST No", "GST REG. NO", "GST ID NO.")
_MS_SST_LABELS = ("SST ID", "SST NO", "SST No", "SST REG NO", "SST Reg. No.", "SST ID NO")
_MS_TAX_SEPARATORS = (": ", " : ", " :", ":", " ")


# Tax rates a document of each country prints, with weights (the standard rate most often): per-locale data, so a
# German receipt never charges 21 % nor a French one 7 %. Rates in force on the goods such documents list.
_TAX_RATES: dict[str, dict[str, int]] = {
    "DE": {"0.19": 3, "0.07": 2},  # Mehrwertsteuer: standard, reduced (food, books)
    "FR": {"0.20": 3, "0.10": 2, "0.055": 2},  # TVA: normal, intermédiaire (restaurants), réduit (food)
    "ES": {"0.21": 3, "0.10": 2},  # IVA: general, reducido
    "IT": {"0.22": 3, "0.10": 2},  # IVA: ordinaria, ridotta
    "NL": {"0.21": 3, "0.09": 2},  # BTW: hoog, laag
    "GB": {"0.20": 1},  # VAT: standard
    "MS": {"0.06": 6, "0.10": 2, "0.08": 1},  # GST 6 % (2015-2018), SST sales tax 10 %, service tax 8 %
    "US": {"0.06": 2, "0.0625": 1, "0.07": 2, "0.0725": 1, "0.08": 1, "0.0825": 1},  # state + local sales taxes
}


class ShopProvider(BaseProvider):
    """``shop_name``: the name a shop prints at the top of its receipts (Faker's ``company`` by default);
    ``shop_address``: the address under it (Faker's ``address``); ``company_reg_no``: its registration number,
    printed on a line of its own."""

    def shop_name(self) -> str:
        return self.generator.company()

    def shop_address(self) -> str:
        """The address a shop prints under its name (Faker's ``address`` by default)."""
        return self.generator.address()

    def company_reg_no(self) -> str:
        country = self._country()
        pattern = self.random_element(_REGISTRY.get(country, _REGISTRY_DEFAULT))
        if _CITY in pattern:
            pattern = pattern.replace(_CITY, self.random_element(_REGISTRY_CITIES[country]))
        return self.bothify(pattern, letters="ABCDEFGHKMPTVWXYZ")

    def person_name(self) -> str:
        return self.generator.name()

    def shop_phone(self) -> str:
        """The phone number a shop prints (Faker's ``phone_number`` by default)."""
        return self.generator.phone_number()

    def tax_id(self) -> str:
        labels, patterns = _TAX_IDS.get(self._country(), _TAX_IDS_DEFAULT)
        return f"{self.random_element(labels)} {self.bothify(self.random_element(patterns), letters='ABCDEFGHJKLMNPQRSTUVWXYZ')}"

    def tax_rate(self) -> Decimal:
        """A tax rate the document's country charges (``_TAX_RATES``), as an exact Decimal for the template's sums."""
        rates = _TAX_RATES.get(self._country())
        if rates is None:
            raise ValueError(f"no tax rates for country {self._country()!r} (datagen.providers._TAX_RATES)")
        return Decimal(self.random_elements(OrderedDict(rates), length=1, use_weighting=True)[0])

    def till_codes(self) -> str:
        return self.numerify(self.random_element(_TILL_CODES)).replace("^", "#")

    def _country(self) -> str:
        try:
            return self.generator.current_country_code()  # "MS" for en_MS, "DE" for de_DE: no randomness drawn
        except (AttributeError, IndexError, ValueError):  # a locale without a territory
            return ""


class MalaysianShopProvider(ShopProvider):
    """Malaysian shop names (prefix, stem, trade word, branch, legal suffix) and registration numbers."""

    def shop_name(self) -> str:
        stem = self._stem()
        shape = self.random_int(0, 9)
        if shape <= 1:  # SYARIKAT PERNIAGAAN HOCK LEONG, RESTORAN CAHAYA MAKMUR
            return f"{self.random_element(_MS_PREFIXES)} {stem}"
        if shape == 9:  # TECK POH & SONS
            return f"{stem} {self.random_element(_MS_FAMILY)}"
        name = f"{stem} {self.random_element(_MS_KINDS)}" if shape <= 4 else stem
        if self.random_int(0, 2) == 0:
            name = f"{name} {self.random_element(_MS_BRANCHES)}"
        return f"{name} {self.random_element(_MS_SUFFIXES)}"

    def _stem(self) -> str:
        origin = self.random_int(0, 19)
        if origin < 9:  # two or three romanised Chinese syllables: HOCK LEONG, TECK GUAN HIN
            return " ".join(self.random_elements(_MS_SYLLABLES, length=2 + (origin < 3), unique=True))
        if origin < 14:  # two Malay words: SINAR MAKMUR
            return " ".join(self.random_elements(_MS_MALAY_WORDS, length=2, unique=True))
        if origin < 16:  # an Indian given name: SRI KANNAN, MUTHU
            name = self.random_element(_MS_INDIAN_NAMES)
            return f"SRI {name}" if origin == 14 else name
        if origin == 16:  # a Malay given name: HALIM
            return self.random_element(_MS_MALAY_NAMES)
        return f"{self.random_element(_MS_EN_FIRST)} {self.random_element(_MS_EN_SECOND)}"  # GOLDEN LOTUS

    def person_name(self) -> str:
        """A Malaysian name as receipts print it: Chinese (surname first), Malay (bin/binti) or Indian (a/l, a/p)."""
        origin = self.random_int(0, 9)
        if origin < 5:  # TAN KOK SENG
            return f"{self.random_element(_MS_SURNAMES)} {' '.join(self.random_elements(_MS_SYLLABLES, length=2, unique=True))}"
        woman = self.random_int(0, 2) == 0
        malay = origin < 8  # ROSLAN BIN ISMAIL, SALMAH BINTI HASSAN; else MEENA A/P KANNAN
        men, women, words = (
            (_MS_MALAY_MEN, _MS_MALAY_WOMEN, ("BIN", "BINTI")) if malay else (_MS_INDIAN_MEN, _MS_INDIAN_WOMEN, ("A/L", "A/P"))
        )
        given, father = self.random_elements(men, length=2, unique=True)  # a son is not named after his father
        if woman:
            given = self.random_element(women)
        return f"{given} {words[woman]} {father}"

    def shop_address(self) -> str:
        """A Malaysian shop's address as receipts print it, from Faker's ``en_MS`` parts.

        Why: Faker's ``en_MS`` address always has four parts and ends with the state ("No. 7, Jalan 2/3,
        Taman Suria, 47400 Bandar Baru, Selangor"), so a model trained on it learns that an address ends with a
        state after the postcode's town. Shops print a unit in a building first, leave out the area, the
        postcode or the state, end with the town ("..., 40150 BANDAR PUTERI"), add "MALAYSIA" or a full stop,
        and join the parts with ", ", "," or a space.
        """
        parts = [self._unit()] if self.random_int(0, 9) < 3 else []
        parts.append(self.generator.street_address())
        if self.random_int(0, 9) < 6:
            parts.append(self.generator.city())  # the area: TAMAN ANGKASA, USJ 50, PJU31H
        town = self.generator.city()
        parts.append(f"{self.generator.postcode()} {town}" if self.random_int(0, 9) < 8 else town)
        if self.random_int(0, 1):
            parts.append(self.generator.state())
        if self.random_int(0, 9) == 0:
            parts.append("MALAYSIA")
        text = self.random_element((", ", ", ", ", ", ",", " ")).join(parts)
        return f"{text}." if self.random_int(0, 6) == 0 else text

    def _unit(self) -> str:
        """LOT G-12, GROUND FLOOR, WISMA SINAR: a shop's unit, floor and (sometimes) building."""
        unit = f"{self.random_element(_MS_UNITS)} {self.numerify(self.random_element(_MS_UNIT_CODES))}"
        unit = f"{unit}, {self.random_element(_MS_FLOORS)}"
        if self.random_int(0, 1):
            unit = f"{unit}, {self.random_element(_MS_BUILDINGS)} {self.random_element(_MS_MALAY_WORDS)}"
        return unit

    def shop_phone(self) -> str:
        """A Malaysian landline (area code 03-09, 7 or 8 digits) or mobile (01X), spaced or not; Faker's ``en_MS``
        ``phone_number`` gives US numbers."""
        area = self.random_element(("03", "03", "03", "04", "05", "06", "07", "09", "012", "016", "019"))
        digits = self.numerify("%#######" if area == "03" else "%######")
        number = self.random_element((digits, f"{digits[:-4]} {digits[-4:]}", f"{digits[:-4]}-{digits[-4:]}"))
        return self.random_element((f"{area}-{number}", f"{area}-{number}", f"{area} {number}", f"6{area}-{number}"))

    def tax_id(self) -> str:
        """A GST number (mostly: the SROIE years) or an SST one, labelled, sometimes in brackets."""
        if self.random_int(0, 3):
            label, number = self.random_element(_MS_GST_LABELS), self.numerify(f"00{self.random_int(0, 2)}#########")
        else:
            station = self.random_element("BJWCKMNP") + self.numerify("%#")
            month = f"{self.random_int(18, 19)}{self.random_int(1, 12):02d}"  # registered from September 2018
            label, number = self.random_element(_MS_SST_LABELS), f"{station}-{month}-{self.numerify('3#######')}"
        text = f"{label}{self.random_element(_MS_TAX_SEPARATORS)}{number}"
        return f"({text})" if self.random_int(0, 2) == 0 else text

    def company_reg_no(self) -> str:
        """A Malaysian registration number: company (old "123456-X", new 12 digits) or business (ROB)."""
        check = self.random_element(_MS_CHECK)
        year = self.random_int(1990, 2024)
        shape = self.random_int(0, 9)
        if shape <= 5:  # a company: old number, alone or after the new 12-digit one
            old = f"{self.numerify('%#####' if self.random_int(0, 1) else '1######')}-{check}"
            new = f"{year}01{self.numerify('0#####')}"
            number = old if shape <= 3 or year < 2017 else f"{new} ({old})"
        else:  # a business (sole proprietor, partnership): state code and seven digits
            rob = f"{self.random_element(_MS_STATES)}{self.numerify('0######')}"
            rob = f"{rob}-{check}" if self.random_int(0, 1) else rob
            number = rob if shape <= 7 or year < 2017 else f"{year}03{self.numerify('0#####')} ({rob})"
        form = self.random_int(0, 4)
        if form == 4:  # bare on its own line: 123456-X
            return number
        if form == 0:
            return f"({number})"
        label = self.random_element(_MS_REG_LABELS)
        return f"({label} {number})" if form == 1 else f"{label} {number}"


def new_faker(locale: str) -> Faker:
    """``Faker(locale)`` with the project's providers added; the one way datagen makes a Faker."""
    fake = Faker(locale)
    fake.add_provider(MalaysianShopProvider if locale.endswith("_MS") else ShopProvider)
    return fake
