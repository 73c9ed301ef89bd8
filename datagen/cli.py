"""``datagen``: list, validate and render templates.

Bad input (an invalid template, an unknown template id, an unwritable output directory) is reported
as one line on stderr with exit code 2; nothing is left half-written.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from datagen import __version__
from datagen.errors import DatagenError
from datagen.resolution import TEXT_PX

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
    from datagen.ocr_noise import noise_model
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
        ocr_noise=None if args.no_ocr_noise else noise_model(),
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


def _cmd_build(args: argparse.Namespace) -> int:
    from datagen.build import build
    from datagen.build_plan import BuildConfig, parse_count

    def csv(text: str | None) -> tuple[str, ...] | None:
        return tuple(x.strip() for x in text.split(",") if x.strip()) if text else None

    try:
        ratios = tuple(float(x) for x in args.split_ratios.split(","))
    except ValueError:
        raise DatagenError(f"--split-ratios must be three numbers like 0.8,0.1,0.1, not {args.split_ratios!r}") from None
    if len(ratios) != 3:
        raise DatagenError(f"--split-ratios needs three numbers (train,validation,test), not {args.split_ratios!r}")
    config = BuildConfig(
        n=parse_count(args.n),
        seed=args.seed,
        doc_types=csv(args.doc_types) or BuildConfig.doc_types,
        locales=csv(args.locales),
        templates=csv(args.templates),
        splits=tuple(zip(("train", "validation", "test"), ratios, strict=True)),
        image_format=args.image_format,
        width=args.width,
        mode=args.mode,
        quality=args.quality,
        pdf=args.pdf,
        augment=not args.no_augment,
        ocr_noise=not args.no_ocr_noise,
        ocr=args.ocr,
        tokenizer=args.tokenizer,
        shard_size=args.shard_size,
        calibration_docs=args.calibration_docs,
    )
    # Each document's values are one encode_batch of ~20 short strings: the Rust tokenizer's thread pool
    # costs more than it saves there, and its threads take time from the workers on the same cores
    # (~8% of a one-worker layout-only build). The user's own setting wins.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    card = build(config, Path(args.out), workers=args.workers, shards=args.shards, command=shlex.join(["datagen", *args.argv]))
    if card is None:
        print(f"slice {args.shards} of {args.out} done; when every slice is, run: datagen merge {args.out}")
    else:
        print(f"dataset ready in {args.out} (card: {card})")
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    from datagen.build_state import finalize_build

    card = finalize_build(Path(args.dir))
    print(f"all shards present and matching their checksums; card written: {card}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from datagen.build_state import verify_build

    splits = tuple(args.split) if args.split else None
    docs = verify_build(Path(args.dir), splits)
    print(f"{args.dir}: {docs:,} documents; every shard{' of ' + ', '.join(splits) if splits else ''} matches its SHA-256")
    return 0


def _cmd_stats(args: argparse.Namespace) -> int:
    from datagen.build_plan import BuildConfig, shard_plan
    from datagen.build_state import check_shards, read_state
    from datagen.card import aggregate, statistics_markdown

    out = Path(args.dir)
    state = read_state(out)
    # statistics of what is there: sizes are checked, checksums are 'datagen verify''s job
    plan = shard_plan(BuildConfig.from_json(state["config"]))
    checked = check_shards(out, plan, trusted=frozenset(s.name for s in plan))
    sidecars = [info for _, info, _ in checked if info is not None]
    stats = aggregate(sidecars)
    if args.json:
        print(json.dumps(stats, indent=1))
        return 0
    print(f"{out}: {stats['total']['rows']:,} documents in {len(sidecars)}/{len(plan)} shards (config {state['config_hash']})\n")
    print(statistics_markdown(state, stats))
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    from datagen.publish import publish

    plan = publish(Path(args.dir), args.repo_id, private=args.private, dry_run=args.dry_run)
    verb = "would upload" if args.dry_run else "uploaded"
    print(
        f"{args.dir}: {len(plan.files)} files checked (the card and the shards); {verb} them ({plan.total_bytes / 1e6:.1f} MB) to datasets/{args.repo_id}"
    )
    if args.dry_run:
        for path in plan.files:
            print(f"  {path.relative_to(args.dir)}  {path.stat().st_size:,} B")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from datagen.formats.convert import REPORT_FILE, import_dataset

    summary = import_dataset(args.kind, args.path, Path(args.out), strict=args.strict, tokenizer=args.tokenizer)
    counts = ", ".join(f"{split} {n:,}" for split, n in summary.documents.items())
    skipped = f"; skipped {len(summary.skipped)} malformed (see {args.out}/{REPORT_FILE})" if summary.skipped else ""
    print(f"imported {sum(summary.documents.values()):,} {args.kind} documents into {args.out} ({counts}){skipped}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from datagen.formats.convert import export_dataset

    n = export_dataset(args.format, Path(args.dir), Path(args.out))
    print(f"exported {n:,} documents of {args.dir} as {args.format} into {args.out}")
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


def _int_in(low: int, high: int, why: str) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high]; the bound's reason is part of the error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low:,} to {high:,}, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low:,} to {high:,} ({why}), not {text!r}")
        return value

    return parse


# Bounds of the numeric options: values outside them are mistakes that would otherwise run for minutes
# and then die (a 1e8-pixel-wide page) or produce nothing (a negative shard size).
WIDTH = _int_in(64, 10_000, "pixels across the page: 10,000 is an A4 page at 850 dpi")


def _width(text: str) -> int | None:
    """``auto`` (None: text-matched, ``datagen.resolution.raster_width``) or a width in pixels."""
    return None if text == "auto" else WIDTH(text)


DPI = _int_in(18, 1_200, "dots per inch of the page")
QUALITY = _int_in(1, 100, "JPEG quality")
CALIBRATION_DOCS = _int_in(1, 100_000, "documents laid out to choose the mask budgets; 100,000 take about a minute")
SHARD_SIZE = _int_in(0, 1_000_000, "documents per shard; 0 chooses by image format")


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line (the usage text is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
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
    p.add_argument(
        "--seed", type=_seed, default=0, help="document seed: the same seed, template and version give the same bytes (default 0)"
    )
    p.add_argument("--locale", default=None, help="one of the template's locales (default: chosen by the seed)")
    p.add_argument("--out", default="preview", help="output directory (default: preview/)")
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--width", type=_width, default=1024, help=f"raster width in pixels, or auto: the median word {TEXT_PX:g} px tall (default 1024)"
    )
    size.add_argument("--dpi", type=DPI, default=None, help="raster resolution instead of --width (e.g. 200)")
    p.add_argument("--mode", choices=["RGB", "L"], default="RGB", help="colour (RGB) or grayscale (L) raster (default RGB)")
    p.add_argument(
        "--image-format", choices=["png", "jpeg", "none"], default="png", help="raster format; none: ground truth only (default png)"
    )
    p.add_argument("--quality", type=QUALITY, default=90, help="JPEG quality (default 90)")
    p.add_argument("--no-pdf", action="store_true", help="skip the PDF")
    p.add_argument(
        "--no-augment",
        action="store_true",
        help="render the clean page, without the template's augmentations (rotation, perspective, blur, noise, ink fade, paper texture, JPEG)",
    )
    p.add_argument(
        "--no-ocr-noise",
        action="store_true",
        help="receipt words exactly as generated, not as an OCR engine would read them (default: OCR-like, datagen/ocr_noise.yaml)",
    )
    p.set_defaults(func=_cmd_render)

    p = sub.add_parser("build", help="build a Hugging Face dataset (parquet shards + card); rerun to resume")
    p.add_argument("--n", required=True, help="number of documents: 5000, 1e6 or 1_000_000")
    p.add_argument("--out", required=True, help="output folder (new or empty, or a build to resume)")
    p.add_argument("--seed", type=_seed, default=0, help="build seed: document i of a build gets a seed derived from it (default 0)")
    p.add_argument("--doc-types", default=None, help="comma-separated: invoice,receipt,form (default: all, equal mix)")
    p.add_argument("--locales", default=None, help="comma-separated locales (default: every template's)")
    p.add_argument("--templates", default=None, help="comma-separated template ids (default: all of the doc types)")
    p.add_argument("--split-ratios", default="0.8,0.1,0.1", help="train,validation,test (default 0.8,0.1,0.1)")
    p.add_argument("--image-format", choices=["jpeg", "png", "none"], default="jpeg", help="none: layout only, images rendered on access")
    p.add_argument(
        "--width",
        type=_width,
        default=None,
        help=f"raster width in pixels, or auto: each page as wide as puts its median word at {TEXT_PX:g} px (default auto)",
    )
    p.add_argument("--mode", choices=["RGB", "L"], default="L", help="grayscale (L) or colour (RGB) images (default L)")
    p.add_argument(
        "--quality", type=QUALITY, default=50, help="JPEG quality (default 50: read by a real OCR engine as well as quality 90 at 1024 px)"
    )
    p.add_argument("--pdf", action="store_true", help="also store each document's PDF bytes")
    p.add_argument(
        "--no-augment",
        action="store_true",
        help="clean pages, without the templates' augmentations (rotation, perspective, blur, noise, ink fade, paper texture, JPEG)",
    )
    p.add_argument(
        "--no-ocr-noise",
        action="store_true",
        help="receipt words exactly as generated, not as an OCR engine would read them (default: OCR-like, datagen/ocr_noise.yaml)",
    )
    p.add_argument(
        "--ocr",
        default=None,
        metavar="ENGINE",
        help="read every rendered page with this OCR engine (rapidocr; pip install -e '.[ocr]', ~2 s a page a core): its words "
        "and line boxes replace the generated ones, field values stay as printed",
    )
    p.add_argument("--tokenizer", default="default", help="tokenizer for PIP mask budgets (default: the project's)")
    p.add_argument("--calibration-docs", type=CALIBRATION_DOCS, default=2000, help="documents measured to choose mask budgets")
    p.add_argument("--shard-size", type=SHARD_SIZE, default=0, help="documents per shard (default: by image format)")
    p.add_argument("--workers", type=_positive, default=None, help="processes (default: CPU count); never changes the bytes")
    p.add_argument("--shards", default=None, help="K/N: build only every N-th shard from K, for multi-machine builds")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("stats", help="counts, field coverage, budgets and length histograms of a build")
    p.add_argument("dir", help="the dataset folder (a build or an import)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_stats)

    p = sub.add_parser("publish", help="check a build and upload it to the Hugging Face Hub")
    p.add_argument("dir", help="the finished build to upload")
    p.add_argument("--repo-id", required=True, help="ORG/NAME of the dataset repository")
    p.add_argument("--private", action="store_true", help="create the repository as private (default: public)")
    p.add_argument("--dry-run", action="store_true", help="check and list what would be uploaded; upload nothing")
    p.set_defaults(func=_cmd_publish)

    from datagen.formats import FORMATS

    kinds = "; ".join(f"{name}: {text}" for name, text in FORMATS.items())
    p = sub.add_parser("import", help="convert a real KIE dataset (SROIE, CORD, FUNSD, ...) into the project's dataset format")
    p.add_argument("kind", choices=list(FORMATS), help=kinds)
    p.add_argument("path", help="the source: a folder (sroie, funsd), or a Hub-style dataset folder or Hub id (cord, layoutlm)")
    p.add_argument("--out", required=True, help="new (or empty) output folder")
    p.add_argument("--strict", action="store_true", help="stop at the first malformed file (default: skip it and report it)")
    p.add_argument("--tokenizer", default="default", help="tokenizer for the PIP mask budgets (default: the project's)")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("export", help="write a dataset (a build or an import) in a standard KIE format")
    p.add_argument("format", choices=list(FORMATS), help=kinds)
    p.add_argument("dir", help="the dataset folder")
    p.add_argument("--out", required=True, help="new (or empty) output folder")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("merge", help="check a (sliced) build is complete and write its card")
    p.add_argument("dir", help="the build folder the slices wrote into")
    p.set_defaults(func=_cmd_merge)

    p = sub.add_parser("verify", help="check every shard of a build against its SHA-256 (bit flips, truncation, strays)")
    p.add_argument("dir", help="the build folder")
    p.add_argument("--split", action="append", help="check only this split (repeatable)")
    p.set_defaults(func=_cmd_verify)
    return parser


def run_command(prog: str, args: argparse.Namespace, user_errors: type[Exception]) -> int:
    """Run the parsed subcommand; bad input (``user_errors``) becomes one line on stderr and exit 2.

    Shared by ``datagen`` and ``pip-bench`` so both report errors, interrupts and closed pipes alike.
    """
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except user_errors as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the command as typed, for the card
    return run_command("datagen", args, DatagenError)


if __name__ == "__main__":
    sys.exit(main())
