"""The image `vertexd custom-jobs local-run` builds on an executor image, as gcloud's does.

gcloud's recipe: the folder of the main script or module (and each --extra-dirs folder) is
copied to the same place under /usr/app (the working dir), requirements and extra packages
are installed with pip, and the ENTRYPOINT runs the module or a `.py` script with python3,
any other script with bash. A package folder that is a project (setup.py or pyproject.toml)
is copied whole and installed with pip, since its sources are needed to install it.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from vertexd.cli.common import InvalidFlagValue
from vertexd.cli.packaging import BUILD_FILES, SKIPPED_NAMES, module_files, project_name

WORKDIR = "/usr/app"
EXTRA_DIR = "/vertexd/extra-packages"
# PEP 668 images (Debian's python3) refuse pip installs without the first variable.
PIP = (
    "PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 "
    "python3 -m pip install --no-cache-dir --no-warn-script-location"
)


@dataclass(frozen=True)
class Recipe:
    executor_image: str
    package_dir: Path
    python_module: str | None
    script: str | None
    requirements: list[str]
    extra_packages: list[str]  # files under package_dir
    extra_dirs: list[str] = field(default_factory=list)  # folders under package_dir


def default_tag(package_dir: Path) -> str:
    name = re.sub(r"^vertexd-trainer-?", "", project_name(package_dir)) or "trainer"
    return f"vertexd-local-run/{name}:latest"


def write_context(recipe: Recipe, context: Path) -> None:
    """Fill `context` with the package, the extra packages and the Dockerfile."""
    _check_entry(recipe)
    _copy_code(recipe, context / "app")
    extras = context / "extra"
    extras.mkdir()
    for extra in recipe.extra_packages:
        source = (recipe.package_dir / extra).resolve()
        if not source.is_file():
            raise InvalidFlagValue(
                "--extra-packages",
                f"Package file '{extra}' is not found under the package: '{recipe.package_dir}'.",
            )
        shutil.copyfile(source, extras / source.name)
    (context / "Dockerfile").write_text(
        dockerfile(recipe, sorted(p.name for p in extras.iterdir()))
    )


def dockerfile(recipe: Recipe, extra_files: list[str]) -> str:
    lines = [f"FROM {recipe.executor_image}", f"WORKDIR {WORKDIR}"]
    if (recipe.package_dir / "requirements.txt").is_file():
        lines += ["COPY app/requirements.txt /vertexd/requirements.txt"]
        lines += [f"RUN {PIP} -r /vertexd/requirements.txt"]
    if recipe.requirements:
        lines += [f"RUN {PIP} {' '.join(json.dumps(r) for r in recipe.requirements)}"]
    if extra_files:
        lines += [f"COPY extra/ {EXTRA_DIR}/"]
        lines += [f"RUN {PIP} {' '.join(f'{EXTRA_DIR}/{name}' for name in extra_files)}"]
    lines += [f"COPY app/ {WORKDIR}/"]
    if any((recipe.package_dir / name).is_file() for name in BUILD_FILES):
        lines += [f"RUN {PIP} {WORKDIR}"]
    if recipe.python_module:
        entry = ["python3", "-m", recipe.python_module]
    elif PurePosixPath(str(recipe.script)).suffix == ".py":
        entry = ["python3", str(recipe.script)]
    else:
        entry = ["/bin/bash", str(recipe.script)]
    lines += [f"ENTRYPOINT {json.dumps(entry)}", "CMD []"]
    return "\n".join(lines) + "\n"


def _check_entry(recipe: Recipe) -> None:
    if recipe.python_module:
        candidates = module_files(recipe.python_module)
        if any((recipe.package_dir / path).is_file() for path in candidates):
            return
        if any((recipe.package_dir / name).is_file() for name in BUILD_FILES):
            return  # an installed project may provide the module from elsewhere
        missing = candidates[0]
    else:
        assert recipe.script is not None
        if (recipe.package_dir / recipe.script).is_file():
            return
        missing = recipe.script
    raise InvalidFlagValue(
        "--python-module" if recipe.python_module else "--script",
        f"File '{missing}' is not found under the package: '{recipe.package_dir}'.",
    )


def _copy_code(recipe: Recipe, app: Path) -> None:
    """The main file's folder and the extra folders, at their places; a project whole."""
    root = recipe.package_dir
    if any((root / name).is_file() for name in BUILD_FILES):
        shutil.copytree(root, app, ignore=_ignored)
        return
    app.mkdir()
    if (root / "requirements.txt").is_file():
        shutil.copyfile(root / "requirements.txt", app / "requirements.txt")
    for folder in [_main_folder(recipe), *recipe.extra_dirs]:
        source = (root / folder).resolve()
        if not source.is_relative_to(root.resolve()) or not source.is_dir():
            raise InvalidFlagValue(
                "--extra-dirs", f"Directory '{folder}' is not found under the package: '{root}'."
            )
        target = app / source.relative_to(root.resolve())
        shutil.copytree(source, target, ignore=_ignored, dirs_exist_ok=True)


def _main_folder(recipe: Recipe) -> str:
    """The folder of the script, or of the module's file (`a/b.py`, `a/b/__main__.py`)."""
    if recipe.script:
        return str(PurePosixPath(recipe.script).parent)
    assert recipe.python_module is not None
    found = [p for p in module_files(recipe.python_module) if (recipe.package_dir / p).is_file()]
    return str(PurePosixPath(found[0]).parent)


def _ignored(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in SKIPPED_NAMES or n.endswith(".egg-info")}
