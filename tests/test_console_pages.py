"""The console's job, tuning and list pages in a real browser: Cancel from the job page, a
tuning job's chart with one point per trial and its sortable trials table, the lists with
their filters, and a tuning pipeline made through the form."""

from __future__ import annotations

import re
from typing import Any

import pytest

from conftest import SKLEARN, Server, write_wheel
from test_console import PARENT, PROBE, RUN_TIMEOUT_MS, Console, browser, console, probe

pytestmark = pytest.mark.slow
__all__ = ["browser", "console", "probe"]  # fixtures shared with test_console.py

CUSTOM_TASK = "gs://google-cloud-aiplatform/schema/trainingjob/definition/custom_task_1.0.0.yaml"
TUNER = "gs://console-bucket/packages/tuner-0.1-py3-none-any.whl"
TUNER_SOURCE = """
import argparse, json, os, time
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--optimizer", default="sgd")
args, _ = parser.parse_known_args()
value = 1 - (args.lr - 0.3) ** 2 + (0.01 if args.optimizer == "adam" else 0)
path = os.environ.get("CLOUD_ML_HP_METRIC_FILE", "/tmp/hypertune/output.metrics")
os.makedirs(os.path.dirname(path), exist_ok=True)
report = {"timestamp": time.time(), "trial": os.environ.get("CLOUD_ML_TRIAL_ID", ""),
          "accuracy": str(value), "global_step": "1", "checkpoint_path": ""}
with open(path, "w") as out:
    out.write(json.dumps(report) + "\\n")
print("accuracy", value, flush=True)
"""


@pytest.fixture(scope="module", autouse=True)
def tuner(server: Server) -> None:
    folder = server.home / "buckets" / "console-bucket" / "packages"
    write_wheel(folder, "tuner", {"tuner/__init__.py": "", "tuner/task.py": TUNER_SOURCE})


def tuning_job(trials: int) -> dict[str, Any]:
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": "1",
        "pythonPackageSpec": {
            "executorImageUri": SKLEARN,
            "packageUris": [TUNER],
            "pythonModule": "tuner.task",
        },
    }
    return {
        "displayName": "tune-lr",
        "maxTrialCount": trials,
        "parallelTrialCount": 2,
        "labels": {"study": "lr"},
        "studySpec": {
            "metrics": [{"metricId": "accuracy", "goal": "MAXIMIZE"}],
            "parameters": [
                {
                    "parameterId": "lr",
                    "doubleValueSpec": {"minValue": 0.01, "maxValue": 1.0},
                    "scaleType": "UNIT_LINEAR_SCALE",
                },
                {"parameterId": "optimizer", "categoricalValueSpec": {"values": ["sgd", "adam"]}},
            ],
            "algorithm": "RANDOM_SEARCH",
        },
        "trialJobSpec": {
            "workerPoolSpecs": [pool],
            "baseOutputDirectory": {"outputUriPrefix": "gs://console-bucket/out/tune"},
        },
    }


def create(server: Server, collection: str, body: dict[str, Any]) -> dict[str, Any]:
    response = server.client.post(f"/v1/{PARENT}/{collection}", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def probe_job(args: list[str], name: str = "probe") -> dict[str, Any]:
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": "1",
        "pythonPackageSpec": {
            "executorImageUri": SKLEARN,
            "packageUris": [PROBE],
            "pythonModule": "probe.task",
            "args": args,
        },
    }
    return {
        "displayName": name,
        "labels": {"kind": "probe"},
        "jobSpec": {"workerPoolSpecs": [pool]},
    }


def probe_pipeline() -> dict[str, Any]:
    job = probe_job(["--say", "from a listed pipeline"])
    return {
        "displayName": "listed-pipeline",
        "trainingTaskDefinition": CUSTOM_TASK,
        "trainingTaskInputs": {
            **job["jobSpec"],
            "baseOutputDirectory": {"outputUriPrefix": "gs://console-bucket/out/listed"},
        },
        "modelToUpload": {"displayName": "listed-model"},
        "labels": {"from": "api"},
    }


def test_cancel_from_the_job_page(console: Console, server: Server) -> None:
    from playwright.sync_api import expect

    job = create(server, "customJobs", probe_job(["--sleep", "600"], "sleeper"))
    page = console.open(job["name"])
    expect(console.badge()).to_have_text("Running", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#logs .log")).to_contain_text("hello from the probe")
    expect(page.locator("#logs .log-status")).to_contain_text("Following")
    console.shoot("job-running")
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Keep it running").click()
    assert server.get(job["name"])["state"] == "JOB_STATE_RUNNING"
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(console.badge()).to_have_text("Cancelled", timeout=60_000)
    expect(page.get_by_role("button", name="Cancel")).to_be_disabled()
    expect(page.locator(".error-box")).to_contain_text("CANCELED")
    assert server.get(job["name"])["state"] == "JOB_STATE_CANCELLED"
    console.shoot("job-cancelled")


def test_tuning_job_chart_has_one_point_per_trial(console: Console, server: Server) -> None:
    from playwright.sync_api import expect

    job = create(server, "hyperparameterTuningJobs", tuning_job(5))
    page = console.open(job["name"])
    expect(console.badge()).to_have_text("Succeeded", timeout=RUN_TIMEOUT_MS)
    done = server.get(job["name"])
    trials = done["trials"]
    assert len(trials) == 5
    expect(page.locator("#trial-chart circle.point")).to_have_count(len(trials))
    expect(page.locator("#trial-chart circle.point.best")).to_have_count(1)
    expect(page.locator("#trial-chart path.best-line")).to_have_count(1)
    best = max(trials, key=lambda t: t["finalMeasurement"]["metrics"][0]["value"])
    expect(page.locator("#trial-chart circle.best")).to_have_attribute("data-trial", best["id"])
    expect(page.locator("#trials-table tbody tr")).to_have_count(5)
    expect(page.locator("#trials-table tr.best")).to_have_attribute("data-trial", best["id"])

    # Sort by the metric, best first (descending), with the keyboard.
    sort = page.locator('#trials-table button.sort[data-key="metric"]')
    sort.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(page.locator('#trials-table th[aria-sort="descending"]')).to_contain_text("accuracy")
    expect(page.locator("#trials-table tbody tr").first).to_have_attribute("data-trial", best["id"])
    console.shoot("tuning")

    # A trial's logs link opens its job on the chief's log.
    page.locator("#trials-table tbody tr").first.get_by_role("link", name="Logs").click()
    expect(page.locator(".page-head")).to_contain_text("Custom job")
    expect(page.locator("#logs .log")).to_contain_text("accuracy")
    expect(page.locator("#details-title + dl")).to_contain_text(f"Trial {best['id']} of tuning job")
    trial_model = f"gs://console-bucket/out/tune/{best['id']}/model/"
    expect(page.locator("#files-title ~ div")).to_contain_text(trial_model)


def test_lists_filter_and_link(console: Console, server: Server) -> None:
    from playwright.sync_api import expect

    done = create(server, "customJobs", probe_job(["--say", "listed"], "listed-job"))
    pipeline = create(server, "trainingPipelines", probe_pipeline())
    sleeper = create(server, "customJobs", probe_job(["--sleep", "600"], "list-sleeper"))
    server.wait_for(done["name"], "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
    server.wait_for(pipeline["name"], "PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED")

    # The list refreshes by itself while a job on it runs.
    page = console.open(f"{PARENT}/customJobs?q=list-sleeper")
    badge = page.locator("table tbody .badge")
    expect(badge).to_have_text("Running", timeout=RUN_TIMEOUT_MS)
    expect(page.locator(".refresh-note")).to_contain_text("Refreshing")
    server.client.post(f"/v1/{sleeper['name']}:cancel")
    expect(badge).to_have_text("Cancelled", timeout=30_000)
    expect(page.locator(".refresh-note")).to_have_text("")

    page = console.open(f"{PARENT}/customJobs")
    rows = page.locator("table tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 2
    page.get_by_label("State").select_option("JOB_STATE_SUCCEEDED")
    expect(page.locator("table tbody .badge").first).to_have_text("Succeeded")
    for text in page.locator("table tbody .badge").all_inner_texts():
        assert text == "Succeeded"
    page.get_by_label("Filter").fill("listed-job")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=listed-job"))
    page.get_by_label("Filter").fill("kind=probe")
    expect(rows.first).to_contain_text("listed-job")
    console.shoot("list-custom-jobs")
    rows.first.get_by_role("link").first.click()
    expect(page.locator("h1")).to_contain_text("listed-job")
    for collection, name, shown in [
        ("hyperparameterTuningJobs", "list-tuning-jobs", None),
        ("trainingPipelines", "list-pipelines", "listed-pipeline"),
        ("models", "list-models", "listed-model"),
    ]:
        console.open(f"{PARENT}/{collection}")
        expect(page.locator("table")).to_have_attribute("aria-busy", "false")
        if shown:
            expect(page.locator("table tbody")).to_contain_text(shown)
        console.shoot(name)

    # Another project, typed in.
    page.get_by_label("Project / region").select_option("other")
    page.get_by_label("Project", exact=True).fill("fresh")
    page.get_by_role("button", name="Open").click()
    expect(page).to_have_url(re.compile(r"#/projects/fresh/locations/us-central1/models$"))
    expect(page.locator("table tbody")).to_contain_text("Nothing here yet.")


def test_tuning_pipeline_through_the_form(console: Console, server: Server) -> None:
    from playwright.sync_api import expect

    page = console.open(f"{PARENT}/trainingPipelines/create")
    page.get_by_label("Training pipeline name").fill("tuned-from-the-form")
    page.get_by_label("Model framework version").select_option(SKLEARN)
    page.get_by_label("Package location 1", exact=True).fill(TUNER)
    page.get_by_label("Python module").fill("tuner.task")
    page.get_by_label("Model output directory").fill("gs://console-bucket/out/tuned")
    page.get_by_label("Enable hyperparameter tuning").check()
    page.get_by_label("Metric to optimize").fill("accuracy")
    page.get_by_label("Parameter name").fill("lr")
    page.get_by_label("Minimum", exact=True).fill("2")  # above the maximum: refused
    page.get_by_label("Maximum", exact=True).fill("1")
    page.get_by_role("button", name="Add parameter").click()
    page.get_by_label("Parameter name").nth(1).fill("optimizer")
    page.get_by_label("Type").nth(1).select_option("CATEGORICAL")
    page.get_by_label("Values").nth(1).fill("sgd, adam")
    page.get_by_label("Maximum number of trials").fill("3")
    console.allowed += ["status of 400", "status of 501"]  # 501: tuning pipelines not wired
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Start training").click()
    if posted.value.status == 501:  # the pipelines' tuning task is not wired in this build
        expect(page.locator("#form-error")).to_contain_text("tuning")
        console.shoot("create-form-tuning")
        pytest.skip("this vertexd answers UNIMPLEMENTED for tuning pipelines")
    minimum = page.get_by_label("Minimum", exact=True).first
    expect(minimum).to_have_attribute("aria-invalid", "true")
    expect(minimum).to_be_focused()
    expect(page.locator("#parameters-group .field-error:not(:empty)")).to_contain_text("max_value")
    console.shoot("create-form-tuning")
    minimum.fill("0.01")
    page.get_by_role("button", name="Start training").click()
    expect(page).to_have_url(re.compile(r"/trainingPipelines/\d+$"))
    expect(console.badge()).to_have_text("Succeeded", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#study-title")).to_be_visible()
    expect(page.locator("#model-link")).to_be_visible()
    expect(page.locator("#files-title ~ div")).to_contain_text("Model artifacts")
    console.shoot("pipeline-tuning")
    page.locator("#backing-link").click()
    expect(page.locator("#trial-chart circle.point")).to_have_count(3)
    console.shoot("tuning-from-pipeline")


def test_model_page_shows_its_versions(console: Console, server: Server) -> None:
    from playwright.sync_api import expect

    def upload(display_name: str, **request: Any) -> dict[str, Any]:
        model = {"displayName": display_name, "artifactUri": f"gs://console-bucket/{display_name}"}
        response = server.client.post(
            f"/v1/{PARENT}/models:upload", json={"model": model, **request}
        )
        assert response.status_code == 200, response.text
        return dict(response.json()["response"])

    name = upload("versioned-v1", modelId="console-versions")["model"]
    upload("versioned-v2", parentModel=name)
    page = console.open(name)
    rows = page.locator("#versions-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("gs://console-bucket/versioned-v2")
    expect(rows.nth(1)).to_contain_text("default")
    expect(page.locator("#model-details ~ dl")).to_contain_text("1 (default)")
    console.shoot("model-versions")
    rows.nth(0).get_by_role("link", name="2").click()
    expect(page).to_have_url(re.compile(r"models/console-versions@2$"))
    expect(page.locator("#model-details ~ dl")).to_contain_text("2 (no alias)")
    expect(page.locator("#versions-table tr[aria-current]")).to_contain_text("versioned-v2")
