"""The CLI's flag parsing and spec building, as pure functions (no server)."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from vertexd.cli.common import (
    CliError,
    FlagSyntaxError,
    InvalidFlagValue,
    custom_job_name,
    resolve_home,
    resolve_project,
    resolve_region,
)
from vertexd.cli.flag_values import (
    last_list_flag,
    merge_list_flag,
    parse_dict,
    parse_labels,
    split_list,
)
from vertexd.cli.job_spec import (
    build_custom_job,
    build_job_spec,
    load_config,
    validate_config_pools,
)
from vertexd.cli.listing import field_value, sort_keys
from vertexd.cli.logs import model_directory, report_end
from vertexd.cli.output import format_log_entry, local_time, render_resource
from vertexd.cli.packaging import (
    generated_pyproject,
    module_from_script,
    stage_file,
    stage_local_package,
)
from vertexd.cli.worker_pool_flags import (
    LocalPackage,
    build_worker_pool_specs,
    parse_worker_pool_flags,
    validate_worker_pool_flags,
)

IMAGE = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest"


def pools(*values: str) -> list[dict[str, Any]]:
    specs = parse_worker_pool_flags(values)
    validate_worker_pool_flags(specs)
    return specs


def rejected(*values: str) -> str:
    with pytest.raises(CliError) as caught:
        pools(*values)
    return caught.value.message


# -- gcloud's list and dict syntax ---------------------------------------------------------------


def test_lists_split_on_commas_or_a_chosen_delimiter() -> None:
    assert split_list("a,b,c", "--args") == ["a", "b", "c"]
    assert split_list("a,b,", "--args") == ["a", "b"]
    assert split_list("", "--args") == []
    assert split_list("^:^--x=1,2:--y", "--args") == ["--x=1,2", "--y"]
    assert split_list("a;b", "--x", delimiter=";") == ["a", "b"]


def test_dicts_keep_values_with_equals_signs_and_check_keys() -> None:
    assert parse_dict("a=1,b=x=y", "--labels") == {"a": "1", "b": "x=y"}
    with pytest.raises(FlagSyntaxError) as caught:
        parse_dict("a", "--labels")
    assert caught.value.message.startswith("argument --labels: Bad syntax for dict arg: [a].")
    assert caught.value.exit_code == 2


def test_unknown_worker_pool_keys_and_bad_integers_are_syntax_errors() -> None:
    with pytest.raises(FlagSyntaxError) as caught:
        parse_worker_pool_flags(["machine-type=m,colour=red"])
    assert caught.value.message == (
        "argument --worker-pool-spec: valid keys are [accelerator-count, accelerator-type, "
        "container-image-uri, executor-image-uri, extra-dirs, extra-packages, "
        "local-package-path, machine-type, output-image-uri, python-module, replica-count, "
        "requirements, script]; received: colour"
    )
    with pytest.raises(FlagSyntaxError, match=r"Invalid value \[two\] for key \[replica-count\]"):
        parse_worker_pool_flags(["machine-type=m,replica-count=two"])


def test_repeated_args_merge_and_a_repeated_item_is_an_error() -> None:
    assert merge_list_flag(["--a=1,--b", "--c"], "--args") == ["--a=1", "--b", "--c"]
    assert merge_list_flag(None, "--args") is None
    with pytest.raises(FlagSyntaxError, match='argument --args: "x" cannot be specified multiple'):
        merge_list_flag(["x,x"], "--args")
    assert last_list_flag(["a,b", "c"], "--python-package-uris") == ["c"]


def test_labels_merge_and_follow_the_label_rules() -> None:
    assert parse_labels(["team=ml,env=dev", "run=7"]) == {"team": "ml", "env": "dev", "run": "7"}
    with pytest.raises(InvalidFlagValue, match="Keys must start with a lowercase character"):
        parse_labels(["Team=ml"])
    with pytest.raises(InvalidFlagValue):
        parse_labels(["team=ML"])
    with pytest.raises(FlagSyntaxError, match='"team" cannot be specified multiple times'):
        parse_labels(["team=a", "team=b"])


# -- gcloud's rules for --worker-pool-spec -------------------------------------------------------


def test_first_pool_must_not_be_empty_and_needs_a_machine_type() -> None:
    assert rejected("", "machine-type=m,container-image-uri=i") == (
        "Invalid value for [--worker-pool-spec]: Empty value is not allowed for the first "
        "`--worker-pool-spec` flag."
    )
    assert rejected("replica-count=1,container-image-uri=i") == (
        "Invalid value for [--worker-pool-spec]: Key [machine-type] required in dict arg but "
        "not provided."
    )


def test_accelerators_need_a_known_type() -> None:
    assert "Key [accelerator-type] required as [accelerator-count] is specified." in rejected(
        "machine-type=m,accelerator-count=2,container-image-uri=i"
    )
    message = rejected("machine-type=m,accelerator-type=GTX_1080,container-image-uri=i")
    assert "Found invalid value of [accelerator-type]: GTX_1080. Available values are [" in message
    assert "NVIDIA_TESLA_T4" in message and "TPU_V3" in message
    assert "ACCELERATOR_TYPE_UNSPECIFIED" not in message


def test_each_pool_runs_exactly_one_kind_of_software() -> None:
    both = "machine-type=m,container-image-uri=i,executor-image-uri=e,python-module=p"
    assert rejected(both).endswith(
        "Exactly one of keys [executor-image-uri, container-image-uri] is required."
    )
    assert rejected("machine-type=m").endswith(
        "Exactly one of keys [executor-image-uri, container-image-uri] is required."
    )
    assert rejected("machine-type=m,container-image-uri=i,python-module=p").endswith(
        "Key [python-module] is not allowed together with key [container-image-uri]."
    )
    assert rejected("machine-type=m,executor-image-uri=e").endswith(
        "Key [python-module] is required."
    )
    assert "Keys [requirements, script] are not allowed" in rejected(
        "machine-type=m,executor-image-uri=e,python-module=p,script=s.py,requirements=x"
    )


def test_later_pools_follow_the_same_rules_and_may_be_empty() -> None:
    first = "machine-type=m,container-image-uri=i"
    assert pools(first, "", first)[1] == {}
    assert rejected(first, "machine-type=m").endswith(
        "Exactly one of keys [executor-image-uri, container-image-uri] is required."
    )
    assert rejected(first, "machine-type=m,local-package-path=.,script=a.py").endswith(
        "Key [local-package-path] is only allowed in the first `--worker-pool-spec` flag."
    )


def test_a_local_package_needs_an_executor_one_entry_point_and_a_directory(
    tmp_path: Path,
) -> None:
    local = f"machine-type=m,local-package-path={tmp_path}"
    assert rejected(f"{local},python-module=p").endswith(
        "Key [executor-image-uri] is required when `local-package-path` is specified."
    )
    assert rejected(f"{local},executor-image-uri=e").endswith(
        "Exactly one of keys [python-module, script] is required when `local-package-path` "
        "is specified."
    )
    missing = tmp_path / "nowhere"
    assert rejected(f"machine-type=m,local-package-path={missing},script=a.py").endswith(
        f"Directory '{missing}' is not found."
    )
    message = rejected(f"{local},executor-image-uri=e,script=a.py", "machine-type=m,script=b.py")
    assert "Keys [script] are not allowed: A local package has been specified" in message
    assert pools(f"{local},executor-image-uri=e,script=a.py", "machine-type=m,replica-count=2")


# -- WorkerPoolSpec messages ---------------------------------------------------------------------


def test_pools_become_worker_pool_specs() -> None:
    specs = pools(
        "machine-type=n1-standard-4,replica-count=1,container-image-uri=local/busybox:1",
        "",
        "machine-type=n1-standard-8,replica-count=2,accelerator-type=NVIDIA_TESLA_T4,"
        f"executor-image-uri={IMAGE},python-module=trainer.task",
    )
    built = build_worker_pool_specs(specs, ["gs://b/pkg.tar.gz"])
    assert built == [
        {
            "machineSpec": {"machineType": "n1-standard-4"},
            "replicaCount": "1",
            "containerSpec": {"imageUri": "local/busybox:1"},
        },
        {},
        {
            "machineSpec": {
                "machineType": "n1-standard-8",
                "acceleratorType": "NVIDIA_TESLA_T4",
                "acceleratorCount": 1,
            },
            "replicaCount": "2",
            "pythonPackageSpec": {
                "packageUris": ["gs://b/pkg.tar.gz"],
                "executorImageUri": IMAGE,
                "pythonModule": "trainer.task",
            },
        },
    ]


def test_a_local_package_runs_in_every_pool() -> None:
    specs: list[dict[str, Any]] = [
        {"machine-type": "m", "local-package-path": ".", "executor-image-uri": IMAGE},
        {"machine-type": "m", "replica-count": 3},
    ]
    package = LocalPackage(IMAGE, "trainer.task", ["gs://vertexd-staging/packages/x/t.tar.gz"])
    built = build_worker_pool_specs(specs, ["gs://b/extra.whl"], package)
    for pool in built:
        assert pool["pythonPackageSpec"] == {
            "executorImageUri": IMAGE,
            "packageUris": ["gs://vertexd-staging/packages/x/t.tar.gz", "gs://b/extra.whl"],
            "pythonModule": "trainer.task",
        }
    assert built[1]["replicaCount"] == "3"


# -- --config and the flags that override it ----------------------------------------------------


def write_yaml(path: Path, content: Any) -> Path:
    path.write_text(yaml.safe_dump(content))
    return path


def container_pool(image: str = "local/busybox:1", **extra: Any) -> dict[str, Any]:
    return {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": 1,
        "containerSpec": {"imageUri": image, **extra},
    }


def test_config_reads_a_custom_job_spec(tmp_path: Path) -> None:
    config = {
        "workerPoolSpecs": container_pool(args=["port=8500"], command=["start"]),
        "baseOutputDirectory": {"outputUriPrefix": "gs://bucket/out"},
        "scheduling": {"timeout": "3600s"},
    }
    loaded = load_config(write_yaml(tmp_path / "job.yaml", config))
    assert loaded["workerPoolSpecs"] == [config["workerPoolSpecs"]]
    assert loaded["baseOutputDirectory"] == {"outputUriPrefix": "gs://bucket/out"}


def test_config_rejects_unknown_and_snake_case_fields(tmp_path: Path) -> None:
    config = {"workerPoolSpecs": [{"machine_spec": {"machineType": "m"}, "replicaCount": 1}]}
    with pytest.raises(InvalidFlagValue) as caught:
        load_config(write_yaml(tmp_path / "job.yaml", config))
    assert caught.value.message.startswith(
        "Invalid value for [--config]: Unrecognized fields in the YAML config file: "
        "[workerPoolSpecs[0].machine_spec]."
    )
    with pytest.raises(InvalidFlagValue, match="must hold a YAML mapping"):
        load_config(write_yaml(tmp_path / "list.yaml", [1, 2]))
    with pytest.raises(InvalidFlagValue, match=r"Unable to read file \["):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("a: [1,\n")
    with pytest.raises(InvalidFlagValue, match=r"Failed to parse YAML from \["):
        load_config(tmp_path / "bad.yaml")


def test_config_pools_run_exactly_one_kind_of_software() -> None:
    validate_config_pools({"workerPoolSpecs": [container_pool(), {}]})
    neither = {"workerPoolSpecs": [{"machineSpec": {"machineType": "m"}}]}
    both = {"workerPoolSpecs": [{**container_pool(), "pythonPackageSpec": {"pythonModule": "m"}}]}
    for config in (neither, both):
        with pytest.raises(InvalidFlagValue) as caught:
            validate_config_pools(config)
        assert caught.value.message == (
            "Invalid value for [--config]: Exactly one of fields [pythonPackageSpec, "
            "containerSpec] is required for a [workerPoolSpecs] in the YAML config file."
        )


def test_flags_override_the_config() -> None:
    python_pool = {"pythonPackageSpec": {"executorImageUri": IMAGE, "pythonModule": "t"}}
    config: dict[str, Any] = {
        "workerPoolSpecs": [container_pool(args=["old"]), python_pool],
        "network": "from-file",
    }
    spec = build_job_spec(config, None, ["--epochs=3"], ["python3", "-c"], network="from-flag")
    container, package = spec["workerPoolSpecs"]
    assert container["containerSpec"]["args"] == ["--epochs=3"]
    assert container["containerSpec"]["command"] == ["python3", "-c"]
    assert package["pythonPackageSpec"]["args"] == ["--epochs=3"]
    assert "command" not in package["pythonPackageSpec"]
    assert spec["network"] == "from-flag"
    assert config["workerPoolSpecs"][0]["containerSpec"]["args"] == ["old"]  # left untouched

    replaced = build_job_spec(config, [container_pool("other")], serviceAccount=None)
    assert replaced["workerPoolSpecs"] == [container_pool("other")]
    assert "serviceAccount" not in replaced
    job = build_custom_job("name", replaced, {"team": "ml"})
    assert job == {"displayName": "name", "jobSpec": replaced, "labels": {"team": "ml"}}
    assert "labels" not in build_custom_job("name", replaced, {})


# -- names and defaults --------------------------------------------------------------------------


def test_job_names_come_from_an_id_or_a_full_name() -> None:
    full = "projects/p/locations/europe-west4/customJobs/123"
    assert custom_job_name("123", "p", "us-central1") == (
        "projects/p/locations/us-central1/customJobs/123"
    )
    assert custom_job_name(full, "other", "us-central1") == full
    assert custom_job_name(f"http://127.0.0.1:8080/v1/{full}", "x", "y") == full
    for bad in ("projects/p/customJobs/1", "a/b", ""):
        with pytest.raises(InvalidFlagValue):
            custom_job_name(bad, "p", "r")


def test_project_region_and_home_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("VERTEXD_PROJECT", "CLOUDSDK_CORE_PROJECT", "CLOUDSDK_AI_REGION", "VERTEXD_HOME"):
        monkeypatch.delenv(name, raising=False)
    assert resolve_project(None) == "vertexd"
    assert resolve_region(None) == "us-central1"
    assert resolve_home(None) == Path.home() / ".vertexd"
    monkeypatch.setenv("CLOUDSDK_CORE_PROJECT", "gcloud-project")
    assert resolve_project(None) == "gcloud-project"
    monkeypatch.setenv("VERTEXD_PROJECT", "vertexd-project")
    assert resolve_project(None) == "vertexd-project"
    assert resolve_project("flag") == "flag"
    monkeypatch.setenv("CLOUDSDK_AI_REGION", "europe-west4")
    assert resolve_region(None) == "europe-west4"
    assert resolve_region("asia-east1") == "asia-east1"
    monkeypatch.setenv("VERTEXD_HOME", str(tmp_path))
    assert resolve_home(None) == tmp_path
    assert resolve_home(tmp_path / "flag") == tmp_path / "flag"


# -- packaging -----------------------------------------------------------------------------------


def test_scripts_become_modules() -> None:
    assert module_from_script("trainer/task.py") == "trainer.task"
    assert module_from_script("train.py") == "train"
    for bad in ("run.sh", "/abs/task.py", "../up.py"):
        with pytest.raises(InvalidFlagValue, match="Key \\[script\\] must be a relative path"):
            module_from_script(bad)


def test_generated_project_lists_packages_and_modules(tmp_path: Path) -> None:
    (tmp_path / "trainer" / "utils").mkdir(parents=True)
    (tmp_path / "trainer" / "task.py").write_text("")
    (tmp_path / "trainer" / "utils" / "io.py").write_text("")
    (tmp_path / "train.py").write_text("")
    text = generated_pyproject(tmp_path, "vertexd-trainer-x", ["numpy>=1"])
    assert 'packages = ["trainer", "trainer.utils"]' in text
    assert 'py-modules = ["train"]' in text
    assert 'dependencies = ["numpy>=1"]' in text


def test_staged_files_are_named_by_their_content(tmp_path: Path) -> None:
    package = tmp_path / "pkg-0.1.tar.gz"
    package.write_bytes(b"content")
    uri = stage_file(package, tmp_path / "buckets")
    digest = uri.split("/")[-2]
    assert uri == f"gs://vertexd-staging/packages/{digest}/pkg-0.1.tar.gz"
    assert len(digest) == 16
    staged = tmp_path / "buckets" / "vertexd-staging" / "packages" / digest / "pkg-0.1.tar.gz"
    assert staged.read_bytes() == b"content"


def test_a_plain_directory_is_built_into_an_sdist_and_staged(tmp_path: Path) -> None:
    source = tmp_path / "My Trainer"
    (source / "trainer").mkdir(parents=True)
    (source / "trainer" / "task.py").write_text("print('hello')\n")
    (source / "requirements.txt").write_text("# deps\nsix\n")
    spec = {
        "machine-type": "m",
        "local-package-path": str(source),
        "executor-image-uri": IMAGE,
        "script": "trainer/task.py",
        "requirements": ["pyyaml"],
    }
    package = stage_local_package(spec, tmp_path / "buckets")
    assert package.python_module == "trainer.task"
    assert package.executor_image_uri == IMAGE
    (uri,) = package.package_uris
    assert uri.startswith("gs://vertexd-staging/packages/")
    sdist = tmp_path / "buckets" / uri.removeprefix("gs://")
    assert sdist.name.startswith("vertexd_trainer_my_trainer-0.0.0")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        pkg_info = next(n for n in names if n.endswith("/PKG-INFO") and n.count("/") == 1)
        metadata = archive.extractfile(pkg_info).read().decode()  # type: ignore[union-attr]
    assert any(name.endswith("trainer/task.py") for name in names)
    assert "Requires-Dist: pyyaml" in metadata and "Requires-Dist: six" in metadata


def test_a_missing_module_is_reported_before_building(tmp_path: Path) -> None:
    spec = {
        "local-package-path": str(tmp_path),
        "executor-image-uri": IMAGE,
        "python-module": "x.y",
    }
    with pytest.raises(InvalidFlagValue, match="File 'x/y.py' is not found under the package"):
        stage_local_package(spec, tmp_path / "buckets")


# -- output --------------------------------------------------------------------------------------


def test_resources_print_as_sorted_yaml_like_gcloud() -> None:
    job: dict[str, Any] = {
        "state": "JOB_STATE_QUEUED",
        "name": "projects/p/locations/l/customJobs/1",
    }
    job |= {"createTime": "2026-11-25T16:40:01.123456Z", "jobSpec": {"workerPoolSpecs": []}}
    text = render_resource(job)
    assert text.splitlines()[0] == "createTime: '2026-11-25T16:40:01.123456Z'"
    assert [line.split(":")[0] for line in text.splitlines() if not line.startswith(" ")] == [
        "createTime",
        "jobSpec",
        "name",
        "state",
    ]
    assert render_resource({"b": 1, "a": "2"}, "json") == '{\n  "a": "2",\n  "b": 1\n}\n'


def test_log_lines_look_like_gcloud_stream_logs() -> None:
    entry = {"time": "2026-11-25T16:40:01.123456Z", "taskName": "workerpool0-0"}
    stamp = local_time(entry["time"])
    assert len(stamp) == len("2026-11-25 16:40:01 +0000")
    out = format_log_entry({**entry, "stream": "stdout", "text": "hello"})
    assert out == [f"INFO\t{stamp}\tworkerpool0-0\thello"]
    err = format_log_entry({**entry, "stream": "stderr", "text": "a\nb\n"})
    assert err == [f"ERROR\t{stamp}\tworkerpool0-0\ta", f"ERROR\t{stamp}\tworkerpool0-0\tb"]
    assert len(format_log_entry({**entry, "text": "a\nb"}, allow_multiline=True)) == 1


def test_the_end_of_a_job_names_its_model_directory_or_its_error() -> None:
    base = {"name": "projects/p/locations/l/customJobs/1"}
    spec = {"baseOutputDirectory": {"outputUriPrefix": "gs://b/out/"}}
    succeeded = {**base, "state": "JOB_STATE_SUCCEEDED", "jobSpec": spec}
    assert model_directory(succeeded) == "gs://b/out/model/"
    assert model_directory(base) is None
    assert report_end(succeeded) is None
    failed = {**base, "state": "JOB_STATE_FAILED", "error": {"code": 3, "message": "exit 3"}}
    assert report_end(failed) == (
        "CustomJob [projects/p/locations/l/customJobs/1] did not succeed (JOB_STATE_FAILED): exit 3"
    )


def test_sort_keys_and_fields() -> None:
    assert sort_keys("~createTime, displayName") == [("createTime", True), ("displayName", False)]
    assert sort_keys(None) == []
    assert field_value({"a": {"b": 1}}, "a.b") == 1
    assert field_value({"a": 1}, "a.b") is None
