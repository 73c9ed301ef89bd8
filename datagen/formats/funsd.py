"""FUNSD (Jaume et al., 2019): one JSON annotation and one scanned image per form.

The release unpacks to ``dataset/{training,testing}_data/{annotations,images}/NAME.{json,png}``. An
annotation is ``{"form": [entity, ...]}``; an entity has an ``id``, a ``label`` (question, answer,
header, other), its ``words`` (text and pixel box each) and ``linking`` pairs ``[from_id, to_id]``
joining a question to its answer (both entities list the pair).

Import reads two kinds of annotation, told apart by a top-level ``doc_type``:

- FUNSD itself labels question/answer pairs, not this project's keys. A question whose text is an
  unambiguous label of a form key (:data:`SYNONYMS`) gives that key the words of its linked answers;
  the first header is the ``form_title``. Only keys found that way are annotated: a key FUNSD does not
  mention may still be on the page, so its absence cannot be inferred.
- This project's exports (:func:`write`) label each entity with a schema key or ``other`` and list the
  keys annotated as absent in ``absent``, so every key keeps its state: present (labelled words),
  absent (listed) or not annotated (neither).
"""

from __future__ import annotations

import itertools
import json
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from datagen.doctypes import DOC_TYPES
from datagen.errors import DatagenError
from datagen.formats.common import (
    Box,
    Imported,
    MalformedError,
    Problems,
    Row,
    image_size_of,
    make_record,
    safe_name,
    split_of,
)

SOURCE = "funsd"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
OTHER = "other"  # the FUNSD label of words that belong to no key

# Form key -> question texts (as :func:`normalize_label` leaves them) that name it unambiguously on
# FUNSD's forms. Left out on purpose: a bare "date" (of what?), "title" (a job or the document's),
# "position", "organization"/"firm" (often the addressee's, not the person's employer), "to"/"from".
SYNONYMS: dict[str, tuple[str, ...]] = {
    "full_name": ("name", "full name", "applicant name", "name of applicant", "employee name", "your name", "print name", "printed name"),
    "date_of_birth": ("date of birth", "dob", "d o b", "birth date", "birthdate"),
    "gender": ("sex", "gender"),
    "nationality": ("nationality", "citizenship"),
    "id_number": (
        "ssn",
        "social security",
        "social security no",
        "social security number",
        "soc sec no",
        "id no",
        "id number",
        "identification number",
        "passport no",
        "passport number",
    ),
    "address": ("address", "street address", "home address", "mailing address", "residential address"),
    "postcode": ("zip", "zip code", "zipcode", "postal code", "postcode", "post code"),
    "city": ("city", "town"),
    "phone": ("phone", "phone no", "phone number", "telephone", "telephone no", "telephone number", "tel", "tel no"),
    "email": ("email", "e mail", "email address", "e mail address"),
    "occupation": ("occupation", "profession", "job title"),
    "employer": ("employer", "name of employer", "company", "company name"),
    "marital_status": ("marital status", "civil status"),
    "signature_date": ("date signed", "signature date", "date of signature"),
}
_LABEL_KEY = {label: key for key, labels in SYNONYMS.items() for label in labels}

_BOX = {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}
_ANNOTATION = Draft202012Validator(
    {
        "type": "object",
        "required": ["form"],
        "properties": {
            "form": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "label", "words"],
                    "properties": {
                        "id": {"type": "integer"},
                        "label": {"type": "string"},
                        "words": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["text", "box"],
                                "properties": {"text": {"type": "string"}, "box": _BOX},
                            },
                        },
                        "linking": {
                            "type": "array",
                            "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
                        },
                    },
                },
            },
            "id": {"type": "string"},
            "doc_type": {"type": "string"},
            "absent": {"type": "array", "items": {"type": "string"}},
        },
    }
)


def normalize_label(text: str) -> str:
    """A question's text as :data:`SYNONYMS` spells it: NFKC, case-folded, punctuation (colons, dots,
    "#", dashes) turned into spaces, spaces collapsed, so "Phone No.:" and "PHONE NO" meet."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join("".join(" " if unicodedata.category(c).startswith("P") else c for c in folded).split())


# ----------------------------------------------------------------------------- import


@dataclass
class _Form:
    """An annotation's entities with their words flattened in entity order (the document's words)."""

    entities: list[dict[str, Any]]
    words: list[str]
    boxes: list[Box]
    word_ids: list[list[int]]  # per entity: the indices of its words

    def text(self, ids: Iterable[int]) -> str:
        return " ".join(self.words[i] for i in ids)


def read(path: str, problems: Problems) -> Iterator[Imported]:
    """Every annotation under ``path`` (searched recursively) with the image of the same name in the
    same split; the split comes from the folder names (``training_data`` -> train)."""
    root = Path(path)
    if not root.is_dir():
        raise DatagenError(f"{path}: no such folder")
    annotations, images = _files(root)
    if not annotations:
        raise DatagenError(f"{path}: no FUNSD annotation files (*.json) found")
    for file in annotations:
        split = split_of(file.relative_to(root))
        try:
            image_file = images.get((split, file.stem))
            if image_file is None:
                raise MalformedError(f"no image named {file.stem}{{{','.join(IMAGE_SUFFIXES)}}} in the {split} split")
            image = image_file.read_bytes()
            record = convert(_load(file), file.stem, image_size_of(image, image_file))
        except MalformedError as exc:
            problems.report(file, str(exc))
            continue
        yield Imported(split=split, record=record, image=image)


def _files(root: Path) -> tuple[list[Path], dict[tuple[str, str], Path]]:
    """Annotation files in path order, and images by (split, stem). Why hidden files and ``__MACOSX``
    are passed over: the FUNSD zip carries macOS resource forks (``__MACOSX/.../._NAME.json``)."""
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and not any(part.startswith((".", "__MACOSX")) for part in p.relative_to(root).parts)
    )
    images: dict[tuple[str, str], Path] = {}
    for p in files:
        if p.suffix.lower() in IMAGE_SUFFIXES:
            images.setdefault((split_of(p.relative_to(root)), p.stem), p)
    return [p for p in files if p.suffix.lower() == ".json"], images


def _load(file: Path) -> dict[str, Any]:
    """The parsed annotation, checked against the FUNSD layout (plus this project's extra keys)."""
    try:
        data = json.loads(file.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedError(f"not a UTF-8 JSON file ({exc})") from None
    except RecursionError:
        raise MalformedError("JSON nested too deeply to be an annotation") from None
    error = best_match(_ANNOTATION.iter_errors(data))
    if error is not None:
        raise MalformedError(f"{error.json_path}: {error.message}")
    return data


def convert(annotation: dict[str, Any], stem: str, image_size: tuple[int, int]) -> dict[str, Any]:
    """The record of one (validated) annotation of an image ``image_size`` big: a project export when
    it names its ``doc_type``, FUNSD itself otherwise."""
    form = _form(annotation["form"])
    if "doc_type" in annotation:
        doc_type, doc_id = annotation["doc_type"], annotation.get("id", stem)
        values, links = _project_fields(form, doc_type, annotation.get("absent", []))
    else:
        doc_type, doc_id = "form", stem
        values, links = _funsd_fields(form)
    return make_record(
        source=SOURCE,
        doc_id=doc_id,
        doc_type=doc_type,
        words=form.words,
        boxes=form.boxes,
        image_size=image_size,
        values=values,
        word_ids=links,
    )


def _form(entities: list[dict[str, Any]]) -> _Form:
    """Words of all entities in entity order; words with blank text are dropped, as every FUNSD loader does."""
    form = _Form(entities, [], [], [])
    for entity in entities:
        ids = []
        for word in entity["words"]:
            if word["text"].strip():
                ids.append(len(form.words))
                form.words.append(word["text"])
                x0, y0, x1, y1 = (float(v) for v in word["box"])  # four numbers: _ANNOTATION checked
                form.boxes.append((x0, y0, x1, y1))
        form.word_ids.append(ids)
    return form


def _funsd_fields(form: _Form) -> tuple[dict[str, str | None], dict[str, list[int]]]:
    """The form keys FUNSD's question/answer links reveal (first question per key wins) and the title."""
    values: dict[str, str | None] = {}
    links: dict[str, list[int]] = {}
    header = next((ids for entity, ids in zip(form.entities, form.word_ids, strict=True) if entity["label"] == "header" and ids), None)
    if header:
        values["form_title"], links["form_title"] = form.text(header), header
    for question, answers in _question_answers(form.entities):
        key = _LABEL_KEY.get(normalize_label(form.text(form.word_ids[question])))
        ids = [i for a in answers for i in form.word_ids[a]]
        if key and ids and key not in values:
            values[key], links[key] = form.text(ids), ids
    return values, links


def _question_answers(entities: list[dict[str, Any]]) -> list[tuple[int, list[int]]]:
    """(question, its answers) as entity positions, in entity order. A link may be listed by either
    end and in either direction; one naming an entity that does not exist is ignored (it cannot be
    followed, and the rest of the form is still good)."""
    position: dict[int, int] = {}
    for i, entity in enumerate(entities):
        if position.setdefault(entity["id"], i) != i:
            raise MalformedError(f"entity id {entity['id']} is used twice")
    answers: dict[int, set[int]] = {}
    for entity in entities:
        for a, b in entity.get("linking", []):
            if a not in position or b not in position:
                continue
            ends = {entities[position[a]]["label"]: position[a], entities[position[b]]["label"]: position[b]}
            if ends.keys() == {"question", "answer"}:
                answers.setdefault(ends["question"], set()).add(ends["answer"])
    return [(q, sorted(answers[q])) for q in sorted(answers)]


def _project_fields(form: _Form, doc_type: str, absent: list[str]) -> tuple[dict[str, str | None], dict[str, list[int]]]:
    """Fields of an export of this project: labelled words are present, listed keys absent."""
    schema = DOC_TYPES.get(doc_type)
    if schema is None:
        raise MalformedError(f"unknown doc type {doc_type!r} (known: {', '.join(DOC_TYPES)})")
    links: dict[str, list[int]] = {}
    for entity, ids in zip(form.entities, form.word_ids, strict=True):
        label = entity["label"]
        if label != OTHER and label not in schema:
            raise MalformedError(f"entity {entity['id']}: label {label!r} is neither {OTHER!r} nor a {doc_type} key")
        if label != OTHER and ids:
            links.setdefault(label, []).extend(ids)
    for key in absent:
        if key not in schema or key in links:
            raise MalformedError(f"absent key {key!r} is {'labelled on words' if key in links else f'not a {doc_type} key'}")
    values: dict[str, str | None] = {key: form.text(ids) for key, ids in links.items()}
    values.update(dict.fromkeys(absent))
    return values, links


# ----------------------------------------------------------------------------- export


def write(rows: Iterable[Row], out: Path) -> int:
    """Each row as ``out/{split}/annotations/{stem}.json`` and ``out/{split}/images/{stem}.{png|jpg}``."""
    count = 0
    for row in rows:
        if row.image is None:
            raise DatagenError(f"{row.id}: no image to export (FUNSD needs one per document; build with images)")
        stem = safe_name(row.id)
        annotation = out / row.split / "annotations" / f"{stem}.json"
        if annotation.exists():
            raise DatagenError(f"{row.id}: file name {stem} is taken by another document of the {row.split} split")
        for folder in ("annotations", "images"):
            (out / row.split / folder).mkdir(parents=True, exist_ok=True)
        annotation.write_text(json.dumps(to_funsd(row), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (out / row.split / "images" / f"{stem}.{row.image_ext}").write_bytes(row.image)
        count += 1
    return count


def to_funsd(row: Row) -> dict[str, Any]:
    """A row's FUNSD annotation: entities are the longest runs of words (in word order) on one line with
    one label, the key of the field they belong to or ``other``. No links: the values carry their keys."""
    labels = {i: f["key"] for f in row.fields if f["present"] for i in f["word_ids"]}
    runs = itertools.groupby(range(len(row.words)), key=lambda i: (labels.get(i, OTHER), row.line_ids[i]))
    form = []
    for n, ((label, _), group) in enumerate(runs):
        ids = list(group)
        boxes = [row.boxes[i] for i in ids]
        form.append(
            {
                "box": [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)],
                "text": " ".join(row.words[i] for i in ids),
                "label": label,
                "words": [{"box": list(row.boxes[i]), "text": row.words[i]} for i in ids],
                "linking": [],
                "id": n,
            }
        )
    absent = [f["key"] for f in row.fields if not f["present"]]
    return {"id": row.id, "doc_type": row.doc_type, "absent": absent, "form": form}
