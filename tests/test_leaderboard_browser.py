"""index.html in a real browser: rows, sorting, filtering and the scatter, with the network shut off.

Needs Debian's chromium at /usr/bin/chromium and the ``playwright`` package (never its downloaded browsers).
A screenshot is saved to tmp_path and, when PIP_BENCH_ARTIFACTS names a folder, there too.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from benchmark.leaderboard.collect import load_runs, pareto_front, rows_from_run
from benchmark.leaderboard.view import sections
from tests.test_leaderboard import build, results, three_models, write_runs

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium keeps trying to reach Google services on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed; pip install -e '.[dev]' to run the browser test")
if not CHROMIUM.is_file():
    pytest.skip(f"chromium not found at {CHROMIUM}; install Debian's chromium to run the browser test", allow_module_level=True)


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    runs = three_models()
    runs["results_delta.json"] = results("org/delta", family="florence2", modes={"ar": (0.75, 250.0), "pip": (0.72, 30.0)})
    # ties alpha's AR F1 but slower: off the front, which catches a ">=" for ">" in the page's Pareto rule
    runs["results_epsilon.json"] = results("org/epsilon", modes={"ar": (0.90, 2000.0)})
    runs["results_other.json"] = results(
        "org/alpha", family="llama", dataset="data/other", fingerprint="cd" * 32, modes={"pip": (0.5, 40.0)}
    )
    assert build(write_runs(root / "results", runs), root / "board") == 0
    return root


@pytest.fixture(scope="module")
def page(board):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        requests: list[str] = []
        context.route("http*://**", lambda route: (requests.append(route.request.url), route.abort()))
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto((board / "board" / "index.html").as_uri())
        yield tab
        assert errors == [], errors
        assert requests == [], f"the page tried to reach the network: {requests}"
        browser.close()


def row_ids(page, section: str = "d1") -> list[str]:
    return page.eval_on_selector_all(f'section[data-dataset="{section}"] tbody tr', "trs => trs.map(tr => tr.dataset.row)")


def column(page, key: str, section: str = "d1") -> list[str]:
    return page.eval_on_selector_all(
        f'section[data-dataset="{section}"] tbody td[data-key="{key}"]', "tds => tds.map(td => td.textContent)"
    )


def expected_rows(board: Path) -> list:
    """The synth-kie section's rows as Python orders them (the other dataset sorts first, as d0)."""
    runs, _ = load_runs(board / "results")
    return list(sections([row for name, data in runs for row in rows_from_run(name, data)])[1].rows)


def test_rows_sort_filter_and_scatter(page, board, tmp_path):
    rows = expected_rows(board)
    assert row_ids(page) == [r.row_id for r in rows]
    assert page.get_attribute('section[data-dataset="d1"] th[data-key="f1"]', "aria-sort") == "descending"

    # sorting: F1 ascending, then back to descending; then latency ascending
    page.click('section[data-dataset="d1"] th[data-key="f1"]')
    ascending = [float(v) for v in column(page, "f1")]
    assert ascending == sorted(ascending) and ascending != sorted(ascending, reverse=True)
    assert page.get_attribute('section[data-dataset="d1"] th[data-key="f1"]', "aria-sort") == "ascending"
    page.click('section[data-dataset="d1"] th[data-key="f1"]')
    assert row_ids(page) == [r.row_id for r in rows]
    page.click('section[data-dataset="d1"] th[data-key="p50_ms"]')
    assert [float(v.replace(",", "")) for v in column(page, "p50_ms")] == sorted(r.p50_ms for r in rows)

    # the scatter: one point per row, the Pareto front computed as in Python, one arrow per AR+PIP run
    svg = 'section[data-dataset="d1"] svg.scatter'
    points = page.eval_on_selector_all(f"{svg} circle.point", "cs => cs.map(c => c.dataset.row)")
    assert sorted(points) == sorted(r.row_id for r in rows)
    front = page.get_attribute(f"{svg} path.pareto", "data-rows").split()
    assert front == [rows[i].row_id for i in pareto_front([(r.p50_ms, r.f1) for r in rows])]
    assert page.get_attribute(f"{svg} path.pareto", "d").startswith("M")
    assert page.locator(f"{svg} g.arrow line").count() == 3  # alpha, beta, delta ran both modes; gamma and epsilon only AR

    page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)
    if os.environ.get("PIP_BENCH_ARTIFACTS"):
        artifacts = Path(os.environ["PIP_BENCH_ARTIFACTS"])
        artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "leaderboard.png", artifacts / "leaderboard.png")

    # filtering: the text box, then the mode and dataset menus
    page.fill("#filter", "beta")
    assert column(page, "model") == ["org/beta", "org/beta"]
    assert page.locator(f"{svg} circle.point").count() == 2
    assert page.locator('section[data-dataset="d0"] tbody tr').count() == 0
    page.fill("#filter", "")
    page.select_option("#mode", "pip")
    assert set(column(page, "mode")) == {"PIP"} and len(column(page, "mode")) == 3
    page.select_option("#mode", "")
    page.select_option("#dataset", "d0")
    assert page.locator("section.dataset").count() == 1 and row_ids(page, "d0") != []
    assert page.text_content("#count") == "1 of 9 rows shown"
