"""Checks that need sampled documents: glyph coverage and generators that fail at run time.

Structure and meaning are checked when a template loads (``datagen.template``). Whether a font can
print what a locale produces depends on the values themselves (a German street name, a French
label, a currency sign), so this module lays out a few documents per locale and checks every word
against the font it is set in, plus every literal label variant against every font it may use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datagen.errors import DatagenError, TemplateError
from datagen.fonts import get_font
from datagen.layout import Word
from datagen.pipeline import make_layout
from datagen.template import Template, load_template

SEEDS_PER_LOCALE = 4


def _label_strings(node: Any, lang: str) -> list[tuple[str, str]]:
    """(path, text) of every literal label/text variant a block tree can print in ``lang``."""
    out: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in value.values()) and value:
                variants = value.get(lang) or value.get("en") or next(iter(value.values()))
                out.extend((path, v) for v in variants)
                return
            for k, v in value.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")

    walk(node, "")
    return out


def check_glyphs(template: Template) -> None:
    """Raise TemplateError naming the locale, font and missing characters, if any.

    Sampling and layout errors are located at their generator (or the page) and name the seed and locale,
    so the failing document can be rendered again.
    """
    file = template.source or template.id
    fonts = {get_font(f, bold) for f in template.style.fonts for bold in (False, True)}
    for i, locale in enumerate(template.locales):
        lang = locale.split("_")[0]
        labels = _label_strings(template.model_dump(include={"blocks"}, by_alias=True), lang)
        for section, gens in (("vars", template.vars), ("fields", template.fields)):
            labels += [(f"{section}.{key}.labels", text) for key in gens for text in template.labels_for(key, lang) or []]
        for path, text in labels:
            for font in fonts:
                missing = font.missing(text)
                if missing:
                    raise TemplateError(
                        file, path, f"font {font.key!r} lacks {''.join(sorted(missing))!r} needed for {text!r} in locale {locale}"
                    )
        for seed in range(SEEDS_PER_LOCALE):
            try:
                _, layout = make_layout(template, seed, locale)
            except TemplateError:  # located at its generator or the page, naming seed and locale
                raise
            except DatagenError as exc:
                raise template.error(("locales", i), f"generating seed {seed} for {locale} failed: {exc}") from None
            for word in layout.words:
                _check_word(word, template, locale, i)


def _check_word(word: Word, template: Template, locale: str, index: int) -> None:
    missing = word.font.missing(word.text)
    if missing:
        what = f"field {word.field}" if word.field else f"line item {word.item[1]}" if word.item else "label"
        raise template.error(
            ("locales", index),
            f"font {word.font.key!r} lacks {''.join(sorted(missing))!r} needed for locale {locale} ({what}: {word.text!r})",
        )


def validate_file(path: str | Path) -> Template:
    """Everything: structure, meaning, glyphs. Returns the template when it is valid."""
    template = load_template(path)
    check_glyphs(template)
    return template
