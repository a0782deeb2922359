"""gcloud's flags that scripts copied from Vertex use, through the CLI against a real server:
the gcloud-wide ones on every command, and what `create` puts in the request body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import SKLEARN, Server
from test_cli import at, created_name, vertexd

pytestmark = pytest.mark.slow

POOL = (
    f"--worker-pool-spec=machine-type=n1-standard-4,executor-image-uri={SKLEARN},"
    "python-module=trainer.task"
)
MISSING_PACKAGE = "--python-package-uris=gs://no-bucket/none-0.1.tar.gz"
KEY = "projects/kp/locations/us/keyRings/ring/cryptoKeys/key"


def create(server: Server, *flags: str) -> tuple[dict, str]:
    """Create a job (its package does not exist: it fails at once); the stored job, stderr."""
    done = vertexd(
        *at(server, "custom-jobs", "create", "--display-name=flags", POOL, MISSING_PACKAGE, *flags)
    )
    assert done.returncode == 0, done.stderr
    return describe(server, created_name(done.stderr)), done.stderr


def describe(server: Server, name: str) -> dict:
    done = vertexd(*at(server, "custom-jobs", "describe", name, "--format=json"))
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_create_puts_vertex_fields_where_vertex_has_them(server: Server) -> None:
    job, _ = create(
        server,
        "--persistent-resource-id=my-cluster",
        f"--kms-key-name={KEY}",
        "--service-account=trainer@p.iam.gserviceaccount.com",
        "--network=projects/1/global/networks/vpc",
        "--enable-web-access",
        "--enable-dashboard-access",
    )
    spec = job["jobSpec"]
    assert spec["persistentResourceId"] == "my-cluster"
    assert spec["serviceAccount"] == "trainer@p.iam.gserviceaccount.com"
    assert spec["network"] == "projects/1/global/networks/vpc"
    assert spec["enableWebAccess"] is True and spec["enableDashboardAccess"] is True
    assert job["encryptionSpec"] == {"kmsKeyName": KEY}
    logs = vertexd(*at(server, "custom-jobs", "stream-logs", job["name"]))
    shown = logs.stdout + logs.stderr
    assert (
        "WARNING: job_spec.persistent_resource_id is stored but not acted on: the job runs on "
        "this host's resources." in shown
    ), shown
    for field in ("service_account", "network", "enable_web_access", "enable_dashboard_access"):
        assert shown.count(f"job_spec.{field} is stored but not acted on") == 1


def test_gcloud_kms_key_flags_make_the_key_name(server: Server) -> None:
    job, _ = create(
        server, "--kms-key=key", "--kms-keyring=ring", "--kms-location=us", "--kms-project=kp"
    )
    assert job["encryptionSpec"] == {"kmsKeyName": KEY}
    job, _ = create(server, f"--kms-key={KEY}")
    assert job["encryptionSpec"] == {"kmsKeyName": KEY}
    job, _ = create(server, "--kms-key=k2", "--kms-keyring=r", "--kms-location=eu")
    expected = "projects/cli-project/locations/eu/keyRings/r/cryptoKeys/k2"  # the job's project
    assert job["encryptionSpec"] == {"kmsKeyName": expected}
    base = at(server, "custom-jobs", "create", "--display-name=x", POOL, MISSING_PACKAGE)
    alone = vertexd(*base, "--kms-key=key")
    assert alone.returncode == 1
    assert alone.stderr.startswith(
        "ERROR: (vertexd.custom-jobs.create) Invalid value for [--kms-key]: the key ID [key] "
        "needs --kms-keyring and --kms-location"
    )
    both = vertexd(*base, "--kms-key=key", f"--kms-key-name={KEY}")
    assert both.returncode == 2 and "At most one of --kms-key | --kms-key-name" in both.stderr
    bad = vertexd(*base, "--kms-key-name=my-key")
    assert (
        bad.returncode == 1 and "is not of the form projects/P/locations/L/keyRings" in bad.stderr
    )


def test_account_flags_are_accepted_and_ignored_with_one_line_each(server: Server) -> None:
    job, stderr = create(
        server,
        "--account=me@example.com",
        "--impersonate-service-account=sa@p.iam.gserviceaccount.com",
        "--billing-project=billing",
        "--configuration=prod",
        "--trace-token=abc",
        "--access-token-file=/nowhere",
        "-q",
        "--quiet",
        "--log-http",
    )
    lines = stderr.splitlines()
    assert (
        "WARNING: --account is accepted for gcloud compatibility and ignored: vertexd has no "
        "Google accounts." in lines
    )
    for flag in (
        "--impersonate-service-account",
        "--billing-project",
        "--configuration",
        "--trace-token",
        "--access-token-file",
    ):
        assert sum(line.startswith(f"WARNING: {flag} is accepted") for line in lines) == 1
    assert "HTTP Request: POST" in stderr  # --log-http: one line per request
    assert job["displayName"] == "flags"


def test_global_flags_work_before_the_group_and_on_every_command(server: Server) -> None:
    job, _ = create(server)
    name = job["name"]
    for command in (
        ["custom-jobs", "describe", name],
        ["custom-jobs", "list"],
        ["custom-jobs", "cancel", name],
        ["custom-jobs", "stream-logs", name],
        ["hp-tuning-jobs", "list"],
    ):
        done = vertexd("-q", "--account=a@b.c", *at(server, *command), "--billing-project=b")
        # The job has failed already: cancel says so, as Vertex does.
        assert done.returncode == (1 if "cancel" in command else 0), (command, done.stderr)
        assert "No such option" not in done.stderr
        assert "WARNING: --account is accepted" in done.stderr
        assert "WARNING: --billing-project is accepted" in done.stderr
    # A value after a gcloud-wide flag is no command name: list still takes its --project.
    listed = vertexd("--verbosity", "error", *at(server, "custom-jobs", "list"), "--uri")
    assert listed.returncode == 0 and name in listed.stdout, listed.stderr
    # --project where the command has none, --format where it prints nothing: ignored too.
    done = vertexd(*at(server, "custom-jobs", "cancel", name), "--format=json")
    assert "WARNING: --format is accepted for gcloud compatibility and ignored" in done.stderr


def test_verbosity_sets_the_log_level(server: Server) -> None:
    job, _ = create(server)
    describe_job = at(server, "custom-jobs", "describe", job["name"])
    debug = vertexd(*describe_job, "--verbosity=debug")
    assert debug.returncode == 0
    assert "DEBUG: Running [vertexd.custom-jobs.describe] with arguments: [" in debug.stderr
    info = vertexd(*describe_job, "--verbosity", "info")
    assert "INFO: HTTP Request: GET" in info.stderr and "DEBUG:" not in info.stderr
    quiet = vertexd(*describe_job, "--verbosity=error", "--account=a@b.c")
    assert quiet.returncode == 0 and "WARNING" not in quiet.stderr and quiet.stdout
    missing = at(server, "custom-jobs", "describe", "nosuchjob")
    error = vertexd(*missing, "--verbosity=error")
    assert error.returncode == 1 and error.stderr.startswith(
        "ERROR: (vertexd.custom-jobs.describe)"
    )
    none = vertexd(*missing, "--verbosity=none")
    assert none.returncode == 1 and none.stderr == ""
    bad = vertexd(*describe_job, "--verbosity=loud")
    assert bad.returncode == 2
    assert bad.stderr == (
        "ERROR: (vertexd.custom-jobs.describe) argument --verbosity: Invalid choice: 'loud'. "
        "Valid choices are [debug, info, warning, error, critical, none].\n"
    )


def test_user_output_can_be_turned_off(server: Server) -> None:
    job, _ = create(server)
    describe_job = at(server, "custom-jobs", "describe", job["name"])
    off = vertexd(*describe_job, "--no-user-output-enabled")
    assert off.returncode == 0 and off.stdout == ""
    on = vertexd(*describe_job, "--user-output-enabled", "--format=value(name)")
    assert on.stdout == f"{job['name']}\n"


def test_flags_file_holds_flags_as_yaml(server: Server, tmp_path: Path) -> None:
    flags = {
        "--display-name": "from-file",
        "--worker-pool-spec": {
            "machine-type": "n1-standard-4",
            "executor-image-uri": SKLEARN,
            "python-module": "trainer.task",
        },
        "--python-package-uris": "gs://no-bucket/none-0.1.tar.gz",
        "--labels": ["team=ml", "env=dev"],
        "--enable-web-access": True,
        "--account": "me@example.com",
    }
    path = tmp_path / "flags.yaml"
    path.write_text(yaml.safe_dump(flags))
    done = vertexd(*at(server, "custom-jobs", "create", f"--flags-file={path}"))
    assert done.returncode == 0, done.stderr
    assert "WARNING: --account is accepted" in done.stderr
    job = describe(server, created_name(done.stderr))
    assert job["displayName"] == "from-file"
    assert job["labels"] == {"team": "ml", "env": "dev"}
    assert job["jobSpec"]["enableWebAccess"] is True
    missing = vertexd(*at(server, "custom-jobs", "list", f"--flags-file={tmp_path / 'none'}"))
    assert missing.returncode == 1
    assert missing.stderr.startswith(
        "ERROR: (vertexd.custom-jobs.list) Invalid value for [--flags-file]: Unable to read"
    )


def test_hp_tuning_create_takes_the_kms_flags(server: Server, tmp_path: Path) -> None:
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": 1,
        "pythonPackageSpec": {
            "executorImageUri": SKLEARN,
            "packageUris": ["gs://no-bucket/none-0.1.tar.gz"],
            "pythonModule": "trainer.task",
        },
    }
    study = {
        "metrics": [{"metricId": "loss", "goal": "MINIMIZE"}],
        "parameters": [{"parameterId": "lr", "doubleValueSpec": {"minValue": 0.1, "maxValue": 1}}],
    }
    config = tmp_path / "hp.yaml"
    config.write_text(
        yaml.safe_dump({"studySpec": study, "trialJobSpec": {"workerPoolSpecs": [pool]}})
    )
    done = vertexd(
        *at(server, "hp-tuning-jobs", "create", f"--config={config}", "--display-name=hp"),
        f"--kms-key-name={KEY}",
        "--format=json",
        "--account=me@example.com",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["encryptionSpec"] == {"kmsKeyName": KEY}
    assert "WARNING: --account is accepted" in done.stderr


RUN_SH = """\
set -e
echo "bash says $1 $2"
echo "data: $(cat data/notes.txt)"
echo "job $CLOUD_ML_JOB_ID"
exit "${EXIT_CODE:-0}"
"""


def test_a_shell_script_runs_with_bash_in_the_package_folder(
    server: Server, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("from the package folder")
    (tmp_path / "run.sh").write_text(RUN_SH)
    pool = (
        "--worker-pool-spec=machine-type=n1-standard-4,replica-count=1,"
        f"executor-image-uri={SKLEARN},local-package-path={tmp_path},script=run.sh"
    )
    done = vertexd(
        *at(server, "custom-jobs", "create", "--display-name=sh", pool),
        "--args=hello,world",
        "--stream-logs",
    )
    assert done.returncode == 0, done.stderr
    assert "bash says hello world" in done.stdout
    assert "data: from the package folder" in done.stdout
    job = describe(server, created_name(done.stderr))
    package = job["jobSpec"]["workerPoolSpecs"][0]["pythonPackageSpec"]
    assert package["pythonModule"] == "vertexd_script_runner"
    assert len(package["packageUris"]) == 2
    assert f"job {job['name'].rsplit('/', 1)[-1]}" in done.stdout
    missing = vertexd(
        *at(server, "custom-jobs", "create", "--display-name=sh", pool.replace("run.sh", "no.sh"))
    )
    assert missing.returncode == 1
    assert "File 'no.sh' is not found under the package" in missing.stderr
