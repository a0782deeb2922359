"""The web console in a real browser (Playwright driving Debian's chromium): a training
pipeline created through the form runs to SUCCEEDED on its page, with its logs; the job and
model pages; a bad field shows the API's error beside it. Other console tests import the
fixtures and helpers here. Screenshots of every page go to artifacts/screenshots/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Server
from probe_package import probe_wheel

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
PARENT = "projects/console/locations/us-central1"
PROBE = "gs://console-bucket/packages/probe-0.1-py3-none-any.whl"
SKLEARN_1_0 = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest"
RUN_TIMEOUT_MS = 240_000


def need_chromium() -> None:
    """Chromium and Playwright are required in CI (CI=true); elsewhere their tests skip."""
    problem = ""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "the playwright package is not installed (pip install -e '.[dev]')"
    if not problem and not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"console tests need a browser: {problem}")
        pytest.skip(f"console tests need a browser: {problem}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


class Console:
    """One browser tab on the server's console; collects console errors as it goes."""

    def __init__(self, browser: Any, server: Server) -> None:
        self.server = server
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.allowed: list[str] = []
        self.loads = 0
        self.page.on("console", lambda m: self._console(m.type, m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def _console(self, kind: str, text: str) -> None:
        if kind == "error" and not any(a in text for a in self.allowed):
            self.errors.append(text)

    def open(self, route: str) -> Any:
        """Loads the console afresh (a new document, not a hash change) on `route`."""
        self.loads += 1
        self.page.goto(f"{self.server.url}/?load={self.loads}#/{route}")
        return self.page

    def shoot(self, name: str) -> None:
        """Full-page screenshots at 1280 and 390 px wide."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        for width in (1280, 390):
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.wait_for_timeout(150)
            self.page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        self.page.set_viewport_size({"width": 1280, "height": 900})

    def badge(self) -> Any:
        return self.page.locator(".page-head .badge")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def console(browser: Any, server: Server) -> Iterator[Console]:
    tab = Console(browser, server)
    yield tab
    tab.close()
    assert tab.errors == [], tab.errors


@pytest.fixture(scope="module", autouse=True)
def probe(server: Server) -> None:
    probe_wheel(server.home / "buckets" / "console-bucket" / "packages")


def fill_form(page: Any, name: str, package: str, args: list[str], output: str) -> None:
    page.get_by_label("Training pipeline name").fill(name)
    page.get_by_label("Model framework", exact=True).select_option("sklearn")
    page.get_by_label("Model framework version").select_option(SKLEARN_1_0)
    page.get_by_label("Package location 1", exact=True).fill(package)
    page.get_by_label("Python module").fill("probe.task")
    page.get_by_label("Arguments").fill("\n".join(args))
    page.get_by_label("Model output directory").fill(output)


def test_form_creates_a_pipeline_that_succeeds_with_its_logs(
    console: Console, server: Server
) -> None:
    from playwright.sync_api import expect

    page = console.open(f"{PARENT}/trainingPipelines/create")
    expect(page.locator("#executor-image")).to_have_text(re.compile("sklearn-cpu"))
    console.shoot("create-form")
    fill_form(page, "from-the-form", PROBE, ["--say", "hello from the console form"],
              "gs://console-bucket/out/form")  # fmt: skip
    page.get_by_label("Labels").fill("team=console")
    page.get_by_role("button", name="Start training").click()

    expect(page).to_have_url(re.compile(r"/trainingPipelines/\d+$"))
    expect(page.locator("h1")).to_contain_text("from-the-form")
    expect(console.badge()).to_have_text("Succeeded", timeout=RUN_TIMEOUT_MS)
    logs = page.locator("#logs .log")
    expect(logs).to_contain_text("hello from the console form", timeout=30_000)
    expect(page.locator("#logs .log-status")).to_contain_text("End of log")
    expect(page.locator("#model-link")).to_be_visible(timeout=30_000)
    pipeline = server.get(PARENT + "/trainingPipelines/" + page.url.rsplit("/", 1)[-1])
    assert pipeline["labels"] == {"team": "console"}
    inputs = pipeline["trainingTaskInputs"]["workerPoolSpecs"][0]["pythonPackageSpec"]
    assert inputs["executorImageUri"] == SKLEARN_1_0 and inputs["packageUris"] == [PROBE]
    console.shoot("pipeline")

    # The backing job's page: spec, history, logs of the chief, output files.
    model_dir = server.home / "buckets" / "console-bucket" / "out" / "form" / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "model.joblib").write_bytes(b"x" * 2048)
    page.locator("#backing-link").click()
    expect(page.locator(".page-head")).to_contain_text("Custom job")
    expect(console.badge()).to_have_text("Succeeded")
    expect(page.locator("#spec-title + .pool")).to_contain_text("probe.task")
    expect(page.locator("ol.timeline li")).to_have_count(3)
    expect(page.locator("ul.files").first).to_contain_text("model/model.joblib")
    page.get_by_label("Replica").select_option("workerpool0-0")
    expect(page.locator("#logs .log")).to_contain_text("hello from the console form")
    expect(page.locator("#logs .log .task").first).to_have_text("workerpool0-0")
    expect(page.get_by_role("button", name="Cancel")).to_be_disabled()
    console.shoot("job")

    page.go_back()
    page.locator("#model-link").click()
    expect(page.locator(".page-head")).to_contain_text("Model")
    expect(page.locator("ul.files")).to_contain_text("model.joblib")
    console.shoot("model")


UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute("aria-label")
    && !c.getAttribute("aria-labelledby"))
  .map((c) => c.outerHTML)"""


def test_every_form_field_has_a_label(console: Console) -> None:
    from playwright.sync_api import expect

    page = console.open(f"{PARENT}/trainingPipelines/create")
    expect(page.locator("#executor-image")).not_to_be_empty()
    page.get_by_label("Enable hyperparameter tuning").check()
    page.get_by_role("button", name="Add parameter").click()
    page.get_by_label("Add a worker pool").check()
    page.get_by_label("Custom container").check()
    assert page.evaluate(UNLABELLED) == []
    # Keyboard only: type into a field, Tab to the next one in reading order.
    page.get_by_label("Training pipeline name").focus()
    page.keyboard.type("typed")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "upload-model"


def test_bad_fields_show_the_api_error_beside_them(console: Console) -> None:
    from playwright.sync_api import expect

    console.allowed.append("status of 400")  # the refused POSTs, expected here
    page = console.open(f"{PARENT}/trainingPipelines/create")
    page.get_by_role("button", name="Start training").click()
    name_error = page.locator("#display-name-error")
    expect(name_error).to_have_text("is required.")
    expect(page.get_by_label("Training pipeline name")).to_be_focused()

    fill_form(page, "bad-fields", "s3://nope/trainer.whl", [], "gs://console-bucket/out/bad")
    page.get_by_role("button", name="Start training").click()
    expect(name_error).to_have_text("")
    expect(page.locator("#packages-error")).to_contain_text("s3://")
    expect(page.get_by_label("Package location 1", exact=True)).to_have_attribute(
        "aria-invalid", "true"
    )

    page.get_by_label("Package location 1", exact=True).fill(PROBE)
    page.locator("#replica-count-0").fill("3")
    page.get_by_role("button", name="Start training").click()
    expect(page.locator("#replica-count-0-error")).not_to_be_empty()
    expect(page.locator("#replica-count-0")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/trainingPipelines/create$"))
    console.shoot("create-form-error")
