"""The documentation site: strict build (notebooks executed), API coverage, rendered pages.

The build executes every notebook of ``docs/examples`` (a failing cell fails the build) and
``--strict`` turns broken links and missing pages into errors. The rendered pages are then
opened in headless Chromium, as a reader would, and checked for what must be visible.
"""

from __future__ import annotations

import functools
import http.server
import importlib
import json
import os
import re
import shutil
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _require_docs_tools() -> None:
    for module in ("mkdocs", "mkdocstrings", "mkdocs_jupyter", "jupytext"):
        pytest.importorskip(module, reason='needs the docs extra: pip install -e ".[docs]"')


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_docs_tools()
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=1800,
    )  # fmt: skip
    if run.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{run.stdout[-4000:]}\n{run.stderr[-8000:]}")
    return out


def test_strict_build_executes_every_notebook(site: Path) -> None:
    for notebook in sorted((DOCS / "examples").glob("*.ipynb")):
        page = site / "examples" / notebook.stem / "index.html"
        assert page.exists(), f"{notebook.name} was not rendered"
        html = page.read_text()
        assert "jp-OutputArea" in html, f"{notebook.name} has no executed outputs"
        assert "Traceback" not in html


def test_notebooks_are_paired_with_percent_scripts() -> None:
    jupytext = pytest.importorskip("jupytext")
    notebooks = sorted((DOCS / "examples").glob("*.ipynb"))
    assert notebooks
    for notebook in notebooks:
        script = notebook.with_suffix(".py")
        assert script.exists(), f"{notebook.name} has no paired percent-format script"
        from_script = jupytext.read(script)
        from_notebook = jupytext.read(notebook)
        sources = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
        assert sources(from_script) == sources(from_notebook), (
            f"{notebook.name} and {script.name} differ: run `jupytext --sync {script}`"
        )


def _documented_names() -> set[str]:
    names = set()
    for page in (DOCS / "api").glob("*.md"):
        text = page.read_text()
        names |= set(re.findall(r"^::: ([\w.]+)", text, flags=re.MULTILINE))
        for block in re.findall(r"^::: ([\w.]+)\n((?:    .*\n)+)", text, flags=re.MULTILINE):
            module, options = block
            names |= {f"{module}.{m}" for m in re.findall(r"^\s+- (\w+)$", options, re.MULTILINE)}
    return names


@pytest.mark.parametrize(
    "package",
    ["losses", "encoders", "encoders.presets", "augment", "augment.functional",
     "augment.presets", "fusion",
     "fusion.functional", "heads", "data", "recipes", "evaluation"],
)  # fmt: skip
def test_every_public_name_has_an_api_entry(package: str) -> None:
    module = importlib.import_module(f"mmcontrast.{package}")
    documented = _documented_names()
    missing = [
        name
        for name in module.__all__
        if not isinstance(getattr(module, name), type(module))  # subpackages have their own page
        and f"mmcontrast.{package}.{name}" not in documented
    ]
    assert not missing, f"no API entry (`::: mmcontrast.{package}.<name>`) for {missing}"


def test_docstrings_use_markdown_not_sphinx_roles() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "src").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r":(func|class|meth|mod|attr):`", line) or re.fullmatch(r"\s*Example:", line)
    ]
    assert not offenders, (
        f"Sphinx roles and 'Example:' sections (use 'Examples:') render as plain text: {offenders}"
    )


# ---- headless Chromium --------------------------------------------------------------------------
def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("MMCONTRAST_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed (make test installs it with apt-get)")
        pytest.skip("chromium is not installed")
    return path


@pytest.fixture(scope="session")
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return None


@pytest.fixture(scope="session")
def browser_page(served: str) -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        browser.close()


def _shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "screenshots"


def test_home_page_renders(
    browser_page, served: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page = browser_page
    page.goto(served + "/", wait_until="networkidle")
    assert "mmcontrast" in page.title()
    shots = _shots(tmp_path_factory)
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "home.png"))
    assert (shots / "home.png").stat().st_size > 10_000
    code = "\n".join(page.locator("pre code").all_inner_texts())
    assert "HardNegativeLoss" in code
    nav = page.locator("nav.md-nav--primary").first.inner_text()
    for entry in ("Losses", "API reference", "Changelog"):
        assert entry in nav


@pytest.mark.parametrize(
    ("stem", "min_plots", "texts"),
    [
        ("drop_in", 1, ("held-out top-1 retrieval",)),
        ("multimodal", 3, ("Data source:", "labels (", "supervised baseline")),
        ("augmentations", 7, ("Source:", "gives the same Params: True")),
    ],
)  # fmt: skip
def test_notebook_page_shows_its_plots(
    browser_page,
    served: str,
    tmp_path_factory: pytest.TempPathFactory,
    stem: str,
    min_plots: int,
    texts: tuple[str, ...],
) -> None:
    page = browser_page
    page.goto(f"{served}/examples/{stem}/", wait_until="networkidle")
    sizes = page.evaluate(
        "() => Array.from(document.images).map(i => [i.naturalWidth, i.naturalHeight])"
    )
    plots = [s for s in sizes if s[0] >= 300 and s[1] >= 150]
    assert len(plots) >= min_plots, (
        f"{stem}: {len(plots)} rendered plots, expected at least {min_plots} "
        f"(images: {json.dumps(sizes)})"
    )
    page.locator("img").last.scroll_into_view_if_needed()
    shots = _shots(tmp_path_factory)
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / f"notebook_{stem}.png"))
    body = page.inner_text("body")
    for text in texts:
        assert text in body, f"{stem}: {text!r} is not on the rendered page"


def test_api_reference_renders_signatures_and_parameters(browser_page, served: str) -> None:
    page = browser_page
    page.goto(served + "/api/losses/", wait_until="networkidle")
    body = page.inner_text("body")
    for name in ("HardNegativeLoss", "InfoNCE", "CMKMLoss", "hard_negative_loss"):
        assert name in body
    assert page.locator("table").count() > 5  # parameter tables from the docstrings
    assert "tau_plus" in body and ":func:" not in body
