"""`local-package-path=DIR`: build a source distribution of DIR and stage it in a local bucket.

gcloud builds a container image from DIR; vertexd builds an sdist instead (DIR's own
pyproject.toml/setup.py, or a generated one that packages every Python file in DIR) and
stages it as gs://vertexd-staging/packages/<sha256 prefix>/<file>, where the server's
local buckets (<home>/buckets/BUCKET/...) find it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from vertexd.cli.common import CliError, InvalidFlagValue, status, warn
from vertexd.cli.script_runner import (
    RUNNER_MODULE,
    RUNNER_PROJECT,
    check_script,
    is_python_script,
    write_runner_package,
)
from vertexd.cli.worker_pool_flags import FLAG, LocalPackage, WorkerPoolFlag

STAGING_BUCKET = "vertexd-staging"
SKIPPED_NAMES = {"__pycache__", ".git", ".venv", "venv", "build", "dist", ".mypy_cache"}
BUILD_FILES = ("pyproject.toml", "setup.py")


def module_from_script(script: str) -> str:
    """`trainer/task.py` -> `trainer.task` (the module `python -m` runs for a script)."""
    path = Path(script)
    if path.is_absolute() or ".." in path.parts or path.suffix != ".py":
        raise InvalidFlagValue(
            FLAG,
            f"Key [script] must be a relative path to a Python file (.py) under "
            f"`local-package-path`; received: {script}",
        )
    return ".".join(path.with_suffix("").parts)


def module_files(module: str) -> list[str]:
    """Where `python -m module` looks: `a/b.py` or the package `a/b/__main__.py`."""
    base = module.replace(".", "/")
    return [f"{base}.py", f"{base}/__main__.py"]


def stage_local_package(
    spec: WorkerPoolFlag, buckets_dir: Path, extra_package_uris: list[str] | None = None
) -> LocalPackage:
    """Build and stage the first pool's package; the result is what every pool runs."""
    directory = Path(spec["local-package-path"]).expanduser().absolute()
    script: str = spec.get("script") or ""
    shell_script = bool(script) and not is_python_script(script)
    if shell_script:
        check_script(script, directory)
        module = RUNNER_MODULE
    else:
        module = spec.get("python-module") or module_from_script(script)
    if spec.get("output-image-uri"):
        warn("Key [output-image-uri] is ignored: vertexd stages a source package, not an image.")
    requirements = spec.get("requirements") or []
    with tempfile.TemporaryDirectory(prefix="vertexd-package-") as scratch:
        sdist = build_sdist(directory, module, requirements, Path(scratch), not shell_script)
        uris = [stage_file(sdist, buckets_dir)]
        if shell_script:
            uris.append(stage_file(_runner_sdist(directory, script, Path(scratch)), buckets_dir))
    for extra in spec.get("extra-packages") or []:
        archive = (directory / extra).resolve()
        if not archive.is_file():
            raise InvalidFlagValue(
                FLAG, f"Package file '{extra}' is not found under the package: '{directory}'."
            )
        uris.append(stage_file(archive, buckets_dir))
    status(f"Staged the package built from [{directory}] as [{uris[0]}].")
    return LocalPackage(spec["executor-image-uri"], module, [*uris, *(extra_package_uris or [])])


def _runner_sdist(directory: Path, script: str, scratch: Path) -> Path:
    """The sdist that runs a shell `script` of `directory` with bash (see script_runner)."""
    source = scratch / "runner"
    write_runner_package(directory, script, source, _skipped)
    (source / "pyproject.toml").write_text(generated_pyproject(source, RUNNER_PROJECT, []))
    return _run_build(source, scratch / "runner-dist")


def build_sdist(
    directory: Path, module: str, requirements: list[str], scratch: Path, check_module: bool = True
) -> Path:
    """An sdist of `directory`; without its own build files, one made for it."""
    if any((directory / name).is_file() for name in BUILD_FILES):
        if requirements:
            warn(f"Key [requirements] is ignored: [{directory}] declares its own dependencies.")
        source = directory
    else:
        found = any((directory / path).is_file() for path in module_files(module))
        if check_module and not found:
            raise InvalidFlagValue(
                FLAG,
                f"File '{module_files(module)[0]}' is not found under the package: '{directory}'.",
            )
        source = scratch / "source"
        shutil.copytree(directory, source, ignore=_ignored)
        name = project_name(directory)
        dependencies = requirements + _requirements_txt(directory)
        (source / "pyproject.toml").write_text(generated_pyproject(source, name, dependencies))
    return _run_build(source, scratch / "dist")


def _ignored(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if _skipped(n)}


def _skipped(name: str) -> bool:
    return name in SKIPPED_NAMES or name.endswith(".egg-info")


def _requirements_txt(directory: Path) -> list[str]:
    path = directory / "requirements.txt"
    if not path.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def project_name(directory: Path) -> str:
    """`~/src/My Trainer` -> `vertexd-trainer-my-trainer`: a valid distribution name."""
    slug = re.sub(r"[^a-z0-9]+", "-", directory.name.lower()).strip("-")
    return f"vertexd-trainer-{slug}" if slug else "vertexd-trainer"


def generated_pyproject(source: Path, name: str, requirements: list[str]) -> str:
    """A setuptools project holding every Python module and package (with its data) in `source`."""
    packages = sorted(
        ".".join(p.relative_to(source).parts)
        for p in source.rglob("*")
        if p.is_dir() and any(p.glob("*.py"))
    )
    modules = sorted(p.stem for p in source.glob("*.py") if p.stem != "setup")
    lines = [
        "[build-system]",
        'requires = ["setuptools>=61"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        f"name = {_toml_string(name)}",
        'version = "0.0.0"',
        f"dependencies = {_toml_list(requirements)}",
        "",
        "[tool.setuptools]",
        f"packages = {_toml_list(packages)}",
        f"py-modules = {_toml_list(modules)}",
        "",
        "[tool.setuptools.package-data]",
        '"*" = ["*"]',
    ]
    return "\n".join(lines) + "\n"


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(_toml_string(item) for item in items) + "]"


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _run_build(source: Path, out_dir: Path) -> Path:
    """`uv build --sdist`, or `python -m build --sdist` when uv cannot."""
    attempts = [_uv_command(source, out_dir), _build_command(source, out_dir)]
    failures: list[str] = []
    for command in attempts:
        if command is None:
            continue
        done = subprocess.run(command, capture_output=True, text=True)
        built = sorted(out_dir.glob("*.tar.gz")) if out_dir.is_dir() else []
        if done.returncode == 0 and built:
            return built[-1]
        failures.append(f"$ {' '.join(command[:3])} ...\n{(done.stderr or done.stdout)[-2000:]}")
    raise CliError(f"Could not build a source distribution of [{source}]:\n" + "\n".join(failures))


def _uv_command(source: Path, out_dir: Path) -> list[str] | None:
    try:
        import uv

        uv_bin = uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        uv_bin = shutil.which("uv") or ""
    if not uv_bin:
        return None
    return [uv_bin, "build", "--sdist", "--quiet", "--out-dir", str(out_dir), str(source)]


def _build_command(source: Path, out_dir: Path) -> list[str] | None:
    probe = subprocess.run([sys.executable, "-c", "import build"], capture_output=True)
    if probe.returncode != 0:
        return None
    build = [sys.executable, "-m", "build", "--sdist", "--no-isolation"]
    return [*build, "--outdir", str(out_dir), str(source)]


def stage_file(path: Path, buckets_dir: Path) -> str:
    """Copy `path` into the staging bucket under its content hash; returns its gs:// URI."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    relative = f"packages/{digest}/{path.name}"
    target = buckets_dir / STAGING_BUCKET / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return f"gs://{STAGING_BUCKET}/{relative}"
