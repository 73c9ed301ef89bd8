"""``datagen``: list, validate and render templates.

Bad input (an invalid template, an unknown template id, an unwritable output directory) is reported
as one line on stderr with exit code 2; nothing is left half-written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from datagen import __version__
from datagen.errors import DatagenError

EXIT_USAGE = 2


def _cmd_templates_list(args: argparse.Namespace) -> int:
    from datagen.template import list_templates, load_template

    rows = []
    for path in list_templates():
        t = load_template(path)
        rows.append({"id": t.id, "doc_type": t.doc_type, "fields": list(t.fields), "locales": t.locales, "description": t.description})
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    width = max(len(r["id"]) for r in rows) if rows else 2
    print(f"{'id':<{width}}  {'type':<7}  {'fields':>6}  locales")
    for r in rows:
        print(f"{r['id']:<{width}}  {r['doc_type']:<7}  {len(r['fields']):>6}  {','.join(r['locales'])}")
    return 0


def _cmd_templates_validate(args: argparse.Namespace) -> int:
    from datagen.template import list_templates
    from datagen.validate import validate_file

    paths = [Path(p) for p in args.paths] or list_templates()
    for path in paths:
        t = validate_file(path)
        print(f"ok  {path}  ({t.id}: {len(t.fields)} fields, {len(t.locales)} locales)")
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from datagen.io import write_atomic
    from datagen.pipeline import encode_image, generate
    from datagen.template import load_template, template_path

    path = template_path(args.template)
    if not path.exists():
        raise DatagenError(f"no template {args.template!r} (looked for {path}); see 'datagen templates list'")
    template = load_template(path)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatagenError(f"cannot create output directory {out}: {exc.strerror}") from None
    stem = f"{template.id.replace('/', '_')}_{args.seed}"
    gen = generate(
        template,
        args.seed,
        args.locale,
        width=args.width,
        dpi=args.dpi,
        mode=args.mode,
        raster=args.image_format != "none",
        pdf=not args.no_pdf,
        augmentations=not args.no_augment,
    )
    written = []
    try:
        if gen.image is not None:
            ext = "jpg" if args.image_format == "jpeg" else "png"
            write_atomic(out / f"{stem}.{ext}", encode_image(gen.image, args.image_format, args.quality))
            written.append(f"{stem}.{ext}")
        if gen.pdf is not None:
            write_atomic(out / f"{stem}.pdf", gen.pdf)
            written.append(f"{stem}.pdf")
        record = json.dumps(gen.record, ensure_ascii=False, indent=1).encode() + b"\n"
        write_atomic(out / f"{stem}.json", record)
        written.append(f"{stem}.json")
    except OSError as exc:
        raise DatagenError(f"cannot write to {out}: {exc.strerror}") from None
    print(f"{template.id} seed {args.seed} ({gen.doc.locale}) -> {out}/: {', '.join(written)}")
    return 0


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be a non-negative integer, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be a non-negative integer, not {text!r}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line (the usage text is one ``--help`` away)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="datagen", description="Synthetic invoices, receipts and forms with exact ground truth.")
    parser.add_argument("--version", action="version", version=f"datagen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    templates = sub.add_parser("templates", help="list or validate templates")
    tsub = templates.add_subparsers(dest="action", required=True, parser_class=_Parser)
    p = tsub.add_parser("list", help="every shipped template with doc type, fields and locales")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_templates_list)
    p = tsub.add_parser("validate", help="check template files (default: all shipped templates)")
    p.add_argument("paths", nargs="*", help="template YAML files")
    p.set_defaults(func=_cmd_templates_validate)

    p = sub.add_parser("render", help="render one document: image, PDF and ground-truth JSON")
    p.add_argument("--template", required=True, help="template id (e.g. receipt/thermal-basic) or a YAML path")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--locale", default=None, help="one of the template's locales (default: chosen by the seed)")
    p.add_argument("--out", default="preview", help="output directory (default: preview/)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--width", type=_positive, default=1024, help="raster width in pixels (default 1024)")
    size.add_argument("--dpi", type=_positive, default=None, help="raster resolution instead of --width (e.g. 200)")
    p.add_argument("--mode", choices=["RGB", "L"], default="RGB")
    p.add_argument("--image-format", choices=["png", "jpeg", "none"], default="png")
    p.add_argument("--quality", type=_positive, default=90, help="JPEG quality")
    p.add_argument("--no-pdf", action="store_true", help="skip the PDF")
    p.add_argument("--no-augment", action="store_true", help="render the clean page")
    p.set_defaults(func=_cmd_render)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except DatagenError as exc:
        print(f"datagen: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("datagen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
