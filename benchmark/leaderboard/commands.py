"""``pip-bench leaderboard build`` and ``pip-bench leaderboard serve``.

``build`` validates every results file before it writes anything: a broken file fails the command (exit 2,
nothing written) unless ``--skip-invalid`` says to leave it out, so a leaderboard never silently misses a run.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmark.errors import BenchError
from benchmark.leaderboard import markdown, page
from benchmark.leaderboard.collect import Row, current_weights, dedupe, load_runs, name_models, rows_from_run
from benchmark.leaderboard.view import family_colours, sections
from datagen.io import write_atomic

DEFAULT_OUT = Path("leaderboard")
DEFAULT_RESULTS = DEFAULT_OUT / "results"
HOST = "127.0.0.1"  # a local look at the page, never exposed to the network


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``leaderboard build`` and ``leaderboard serve`` on the ``pip-bench`` subparsers."""
    parser = sub.add_parser(
        "leaderboard", help="build or serve the leaderboard", description="Compare models at a glance: accuracy and speed."
    )
    actions = parser.add_subparsers(dest="leaderboard_command", required=True)

    build = actions.add_parser(
        "build",
        help="write README.md, index.html and pareto.png/svg from the results files",
        description="Validate every results file, then write README.md, index.html, pareto.png and pareto.svg (each atomically).",
    )
    build.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="folder of results *.json (default: %(default)s)")
    build.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the outputs go (default: %(default)s)")
    build.add_argument("--skip-invalid", action="store_true", help="report invalid results files and build from the rest")
    build.add_argument("--verbose", action="store_true", help="name every older duplicate row left out (default: how many)")
    build.add_argument(
        "--all", action="store_true", help="also show the rows of earlier weights of each model id (default: its current weights only)"
    )
    build.set_defaults(func=run_build)

    serve = actions.add_parser("serve", help=f"serve a built leaderboard on http://{HOST}")
    serve.add_argument("--dir", type=Path, default=DEFAULT_OUT, help="the built leaderboard (default: %(default)s)")
    serve.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one (default: %(default)s)")
    serve.set_defaults(func=run_serve)


def render_outputs(rows: Sequence[Row], num_files: int) -> dict[str, bytes]:
    """Every output file's bytes, rendered in memory so that a failure leaves the old leaderboard untouched."""
    from benchmark.leaderboard import plot  # matplotlib takes a while to import; only build needs it

    tables, colours = sections(rows), family_colours(rows)
    png, svg = plot.render(tables, colours)
    return {
        "README.md": markdown.render(tables, num_files).encode(),
        "index.html": page.render(tables, colours).encode(),
        "pareto.png": png,
        "pareto.svg": svg,
    }


def run_build(args: argparse.Namespace) -> int:
    results_dir: Path = args.results
    if not results_dir.is_dir():
        what = "is not a folder" if results_dir.exists() else "does not exist"
        raise BenchError(f"results folder {results_dir} {what}; write results with `pip-bench evaluate MODEL --output-dir {results_dir}`")
    runs, problems = load_runs(results_dir)
    for problem in problems:
        print(f"pip-bench: invalid results file {problem}", file=sys.stderr)
    if problems and not args.skip_invalid:
        raise BenchError(
            f"{len(problems)} invalid results file(s) in {results_dir}; nothing written (fix or remove them, or pass --skip-invalid)"
        )
    rows, dropped = dedupe([row for name, data in runs for row in rows_from_run(name, data)])
    if args.verbose:
        for message in dropped:
            print(f"pip-bench: {message}", file=sys.stderr)
    elif dropped:  # reruns of one model on one dataset are normal: a count, not a page of lines
        print(
            f"pip-bench: {len(dropped)} older duplicate rows left out (same model sha, dataset, mode, decoding and hardware "
            "as a newer run; --verbose names them)",
            file=sys.stderr,
        )
    if not args.all:
        shown = current_weights(rows)
        if len(shown) < len(rows):
            print(f"pip-bench: {len(rows) - len(shown)} rows of earlier weights left out (--all shows them)", file=sys.stderr)
        rows = shown
    outputs = render_outputs(name_models(rows), len(runs))
    try:
        for name, data in outputs.items():
            write_atomic(args.out / name, data)
    except OSError as exc:
        raise BenchError(f"cannot write to {args.out}: {exc.strerror or exc}") from exc
    skipped = f", {len(problems)} invalid skipped" if problems else ""
    print(f"wrote {', '.join(outputs)} to {args.out}: {len(rows)} rows from {len(runs)} results files{skipped}")
    return 0


def make_server(directory: Path, port: int) -> ThreadingHTTPServer:
    """An HTTP server for ``directory`` on localhost (port 0: any free port, see ``server_port``)."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(directory))
    return ThreadingHTTPServer((HOST, port), handler)


def run_serve(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    if not (directory / "index.html").is_file():
        raise BenchError(f"no {directory / 'index.html'}; run `pip-bench leaderboard build` first")
    if not 0 <= args.port <= 65535:
        raise BenchError(f"--port must be between 0 and 65535, got {args.port}")
    try:
        server = make_server(directory, args.port)
    except OSError as exc:
        raise BenchError(f"cannot listen on {HOST}:{args.port}: {exc.strerror or exc}") from exc
    with server:
        print(f"serving {directory} at http://{HOST}:{server.server_port}/ (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # the normal way to stop it, not an interrupted job to resume
            server.serve_forever()
    return 0
