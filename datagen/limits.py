"""Every bound a template must respect, named once, with why it is what it is (docs/templates.md, "Limits").

A template is data written by hand, or by a careless or hostile hand: a count of 1e9 line items, a YAML
alias bomb, ``pystr(max_chars=3e8)``, a 0 pt font or ``99999999999999 days`` would otherwise hang the
generator, allocate gigabytes or crash with a traceback far from the line that caused it. Loading a
template (``datagen templates validate`` and ``datagen render`` alike) checks these bounds and reports the
first violation as one located line, so whatever validates also renders, in bounded time and memory.
Each bound is far above what the shipped templates use (the comments give their largest value).
"""

from __future__ import annotations

from pydantic import AfterValidator

# --- the file
MAX_TEMPLATE_BYTES = 256 * 1024  # largest shipped: 17 KB; PyYAML's pure-Python parser reads ~200 KB/s
MAX_YAML_DEPTH = 40  # nested mappings/sequences (shipped: 13); the composer recurses once per level

# --- structure
MAX_BLOCK_DEPTH = 10  # boxes/columns inside each other (shipped: 4); layout recurses per level
MAX_ITEMS = 200  # line items per document (shipped: 15); a long supermarket receipt has ~100
MAX_EXPR_CHARS = 500  # characters of one expression (shipped: 50)
MAX_EXPR_DEPTH = 32  # nodes on the longest path of an expression tree (shipped: 5); evaluation recurses per node

MAX_ATTEMPTS = 16  # fresh samples of one seed whose page overflows even without line items (shipped: 2)
MAX_LAYOUTS = 256  # layouts tried per seed; a template with at most 15 items can never need more (16 x 16)

# --- values
MAX_NUMBER = 10**9  # |int|, |money|, |decimal| bounds and numeric choices (shipped: 640); see below
MAX_PLACES = 6  # decimal places of a `decimal` generator (shipped: 3)
MAX_DATE_OFFSET_DAYS = 73_050  # 200 years either side of the reference day (shipped: 33,000 days, a birth date)
MAX_FAKER_ARG = 1000  # |number| passed to a Faker provider (a length, a count, a digit count)
MAX_VALUE_CHARS = 1000  # characters of one Faker value (shipped: an address, ~80)

# --- geometry (points unless the name says mm; 1 pt = 1/72 inch)
FONT_PT = (2.0, 72.0)  # style.size_pt (shipped: 6.5..14)
SCALE = (0.25, 8.0)  # a block's size relative to the body size (shipped: 0.7..3)
LINE_GAP = (0.0, 2.0)  # extra leading, a fraction of the size (shipped: 0.05..0.45)
JITTER_PT = (0.0, 5.0)  # per-word offset (shipped: 0.4)
MARGIN_MM = (0.0, 50.0)  # page margin (shipped: 2..26)
ROLL_WIDTH_MM = (38.0, 300.0)  # thermal roll width (shipped: 56..80; real rolls are 38..112)
MIN_CONTENT_MM = 10.0  # page width left between the margins at the narrowest roll and widest margin
MAX_LENGTH_PT = 1000.0  # spacer/logo/barcode heights, paddings, gaps, rule thickness (shipped: 70); over an A4 page
MAX_WEIGHT = 100.0  # relative widths of table and columns children (shipped: 6)
MAX_ROLL_MM = 1000.0  # a thermal roll's length; longer content overflows like a fixed page (shipped: 170)

# Why MAX_NUMBER is 1e9: values meet in expressions as exact Decimals with 28 significant digits. A product
# of two values under 1e9 (quantity * unit_price) is under 1e18, and a sum of MAX_ITEMS such products under
# 2e20: 21 digits, plus MAX_PLACES decimals, is 27, so rounding never runs out of digits.


def within(lowest: float, highest: float) -> AfterValidator:
    """Validator for a ``[lo, hi]`` range: ordered, and inside ``[lowest, highest]``, so that a typo (a
    quality of 850, a 30-degree "small" rotation, a 0 pt font) fails at load time, not as garbage pages or
    a hang. The comparison is chained, so NaN (false against everything) and infinities fail too."""

    def check(value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if lo > hi:
            raise ValueError(f"range [{lo}, {hi}] has low > high")
        if not lowest <= lo <= hi <= highest:
            raise ValueError(f"range [{lo}, {hi}] is outside [{lowest}, {highest}]")
        return value

    return AfterValidator(check)
