"""What `durapipe init` writes for deploying a project: azure.yaml and infra/ (the Bicep of durapipe)."""
from __future__ import annotations

import re
from pathlib import Path

from durapipe.deploy import TEMPLATES
from durapipe.core.errors import UsageError

HERE = Path(__file__).resolve().parent
# durapipe/deploy/infra links to the repository's infra/, so a wheel carries the same templates.
INFRA = HERE / "infra"
PACKAGE_COMMAND = "durapipe package --out build/app"
PARAMETERS_FILE = "infra/blob-triggers.parameters.json"
# What `durapipe package` and azd write into a project and git should not keep.
IGNORED = ("build/", PARAMETERS_FILE, ".azure/")


def azd_name(folder_name: str) -> str:
    """An azd project name from a folder name: lower-case letters, digits and hyphens."""
    name = re.sub(r"[^a-z0-9]+", "-", folder_name.lower()).strip("-")
    return name or "durapipe-app"


def azure_yaml(name: str, package_command: str = PACKAGE_COMMAND, parameters_file: str = PARAMETERS_FILE) -> str:
    """The text of azure.yaml for a project named `name`."""
    text = (TEMPLATES / "azure.yaml").read_text(encoding="utf-8")
    for field, value in {"name": name, "package_command": package_command, "parameters_file": parameters_file}.items():
        text = text.replace("{{" + field + "}}", value)
    return text


def deployment_files() -> dict[str, bytes]:
    """The files `write_deployment_files` writes, by path relative to the project (azure.yaml's name left open)."""
    files = {path.relative_to(INFRA.parent).as_posix(): path.read_bytes()
             for path in sorted(INFRA.rglob("*.bicep"))}
    files["infra/main.parameters.json"] = (TEMPLATES / "main.parameters.json").read_bytes()
    return files


def write_deployment_files(project_dir: Path, name: str | None = None) -> list[Path]:
    """Write azure.yaml and infra/ into `project_dir` (none of them may exist yet) and extend its .gitignore;
    return the paths written."""
    root = Path(project_dir)
    files = {"azure.yaml": azure_yaml(name or azd_name(root.resolve().name)).encode("utf-8"), **deployment_files()}
    existing = [rel for rel in files if (root / rel).exists()]
    if existing:
        raise UsageError(f"{root / existing[0]} already exists; durapipe does not overwrite deployment files.")
    written = write_files(root, files)
    gitignore = root / ".gitignore"
    present = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.is_file() else []
    missing = [line for line in IGNORED if line not in present]
    if missing:
        text = "\n".join(present + missing) + "\n"
        gitignore.write_text(text, encoding="utf-8")
        written.append(gitignore)
    return written


def write_files(root: Path, files: dict[str, bytes]) -> list[Path]:
    """Write each file (by path relative to `root`, parents made as needed); return the paths written."""
    written = []
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written
