"""`script=run.sh` under `local-package-path`: a script that is not Python, run with bash.

gcloud builds an image whose ENTRYPOINT is `/bin/bash SCRIPT`, with the package folder as
the working directory. vertexd runs Python packages, so it stages a small package next to the
user's: `vertexd_script_runner`, holding the folder as an archive. Each replica runs
`python -m vertexd_script_runner ARGS`, which unpacks the folder into a new directory (under
the replica's working directory, else the temporary one), changes into it and replaces itself
with `bash SCRIPT ARGS`, so that signals and the exit code are the script's.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from vertexd.cli.common import InvalidFlagValue
from vertexd.cli.worker_pool_flags import FLAG

RUNNER_MODULE = "vertexd_script_runner"
RUNNER_PROJECT = "vertexd-script-runner"
ARCHIVE = "app.tar.gz"
RUNNER = '''\
"""Unpack the package folder, change into it and run {script!r} with bash."""

import os
import shutil
import sys
import tarfile
import tempfile

SCRIPT = {script!r}


def main() -> None:
    here = os.getcwd()
    base = here if os.access(here, os.W_OK) else tempfile.gettempdir()
    work = tempfile.mkdtemp(prefix="vertexd-script-", dir=base)
    with tarfile.open(os.path.join(os.path.dirname(__file__), "{archive}")) as archive:
        try:
            archive.extractall(work, filter="data")
        except TypeError:  # Python before 3.11.4 has no filters
            archive.extractall(work)
    bash = shutil.which("bash") or "/bin/bash"
    if not os.path.exists(bash):
        sys.exit("vertexd: script {{}} needs bash, and this environment has none.".format(SCRIPT))
    os.chdir(work)
    os.execv(bash, [bash, SCRIPT, *sys.argv[1:]])


main()
'''


def is_python_script(script: str) -> bool:
    return PurePosixPath(script).suffix == ".py"


def check_script(script: str, directory: Path) -> None:
    """A script other than Python: a relative path to a file under the package folder."""
    path = PurePosixPath(script)
    if path.is_absolute() or ".." in path.parts:
        raise InvalidFlagValue(
            FLAG,
            "Key [script] must be a relative path to a file under `local-package-path`; "
            f"received: {script}",
        )
    if not (directory / script).is_file():
        raise InvalidFlagValue(
            FLAG, f"File '{script}' is not found under the package: '{directory}'."
        )


def write_runner_package(
    directory: Path, script: str, source: Path, skipped: Callable[[str], bool]
) -> None:
    """The runner package in `source`: its module, and `directory` as an archive (without the
    names `skipped` says to leave out)."""
    package = source / RUNNER_MODULE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(RUNNER.format(script=script, archive=ARCHIVE))

    def kept(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if any(map(skipped, PurePosixPath(member.name).parts)) else member

    with tarfile.open(package / ARCHIVE, "w:gz") as archive:
        for child in sorted(directory.iterdir()):
            archive.add(child, arcname=child.name, filter=kept)
