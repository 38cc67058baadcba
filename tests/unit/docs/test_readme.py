"""The README is a user's manual: short, no history, and every path it names exists.

History belongs in CHANGELOG.md, reasoning in docs/design.md, figures in docs/benchmarks.md.
(The settings table is compared with the model by tests/unit/test_settings.py.)
"""

import re
import subprocess
from fnmatch import fnmatch
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
README = REPO / "README.md"
MOST_LINES = 400

PATH_SUFFIXES = (".py", ".md", ".yaml", ".yml", ".toml", ".json", ".lock")
# A backticked word that reads as a repository path: no spaces, no URL, not absolute.
PATH_LIKE = re.compile(r"^[\w.*-]+(/[\w.*-]+)*/?$")


def _readme() -> str:
    return README.read_text()


def _ignored_roots() -> set[str]:
    """Folders kept out of git (.run/, .venv/): made at run time, not in a fresh clone."""
    lines = (REPO / ".gitignore").read_text().splitlines()
    return {line.strip().strip("/") for line in lines if line.strip().endswith("/")}


def _tracked_files() -> list[str]:
    result = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def readme_paths(text: str) -> list[str]:
    """Every backticked repository path the README mentions: it contains a slash or ends in a
    file suffix, and is neither a URL, an absolute path (``/metrics``) nor a home one."""
    found = []
    for code in re.findall(r"`([^`\n]+)`", text):
        word = code.strip()
        if word.startswith(("/", "~", "http")) or not PATH_LIKE.match(word):
            continue
        if "/" in word or word.endswith(PATH_SUFFIXES):
            found.append(word)
    return found


def test_the_readme_is_short():
    lines = _readme().splitlines()
    assert len(lines) < MOST_LINES, f"README.md has {len(lines)} lines: move detail to docs/"


def test_no_session_diary_in_the_readme():
    diary = [line for line in _readme().splitlines()
             if re.search(r"\bsession \d+\b", line, re.IGNORECASE)]
    assert not diary, "history goes to CHANGELOG.md:\n" + "\n".join(diary)


def test_no_commit_hashes_in_the_readme():
    hashes = re.findall(r"`([0-9a-f]{7,40})`", _readme())
    assert not hashes, f"commit hashes go stale; name the change instead: {hashes}"


def test_no_issue_tracker_references_in_the_readme():
    references = re.findall(r"\bissue #\d+|\bissues?/\d+", _readme(), re.IGNORECASE)
    assert not references, references


@pytest.mark.parametrize("path", sorted(set(readme_paths(README.read_text()))))
def test_every_path_the_readme_names_exists(path):
    if path.split("/", 1)[0] in _ignored_roots():
        return  # made at run time (.run/notifications.log)
    if "*" in path:
        assert any(fnmatch(name, path) for name in _tracked_files()), path
    else:
        assert (REPO / path).exists(), f"README.md names {path}, which is not in the repository"


def test_the_path_finder_finds_paths_and_nothing_else():
    text = ("`streams/kpis/` `alerts/rules.yaml` `pyproject.toml` `/metrics` `~/.cache/x/` "
            "`http://localhost:3000` `kpiwatch alerts list` `POST /api/v2/alerts` `scripts/demo`")
    assert readme_paths(text) == ["streams/kpis/", "alerts/rules.yaml", "pyproject.toml",
                                  "scripts/demo"]


@pytest.mark.parametrize("name", ["CHANGELOG.md", "docs/design.md", "docs/benchmarks.md",
                                  "docs/runbooks.md", "docs/KPIS.md"])
def test_the_deep_material_has_its_own_file(name):
    assert (REPO / name).is_file(), name


def test_the_readme_links_only_to_files_that_exist():
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", _readme()):
        if not target.startswith("http"):
            assert (REPO / target).exists(), target


def test_the_readme_settings_table_is_generated_and_complete():
    """As scripts/update-readme-config writes it, between its markers; no default unrendered."""
    from kpiwatch.settings import Settings, settings_table_markdown

    text = _readme()
    block = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", text, re.S)
    assert block, "the settings markers are gone: scripts/update-readme-config needs them"
    assert block.group(1) == settings_table_markdown(), "run scripts/update-readme-config"
    assert "PydanticUndefined" not in block.group(1)
    for name in Settings.model_fields:
        assert f"`KPIWATCH_{name.upper()}`" in block.group(1), name
