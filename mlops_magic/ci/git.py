"""What a pull request changed, asked of the ``git`` command itself (a subprocess, no git library).

The base of a pull request is the merge base of ``--base`` and ``HEAD`` (what ``git diff base...HEAD``
compares): the commit the branch grew from, so commits merged into main since then are not counted as
the pull request's. Changes are read against the working tree, so a local ``mlops ci`` sees uncommitted
edits too; in CI the working tree is the checked-out commit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInputError, MlopsError

#: Variables that would point git at another repository than the one asked about.
_GIT_LOCATION = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR")


@dataclass(frozen=True)
class FileChange:
    """One path that differs between the base and the working tree (paths relative to the repository)."""

    path: str
    status: str  # added | modified | deleted | renamed
    old_path: str | None = None  # a renamed file's path at the base


class Repo:
    """A git work tree and the few questions ``mlops ci`` asks it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def find(cls, start: str | os.PathLike[str] | None = None) -> Repo:
        folder = Path(start or os.getcwd()).resolve()
        try:
            out = _git(folder, "rev-parse", "--show-toplevel")
        except MlopsError:
            raise InvalidInputError(f"{folder} is not in a git repository; mlops ci compares a branch with "
                                    "its base, so run it in a clone (actions/checkout with fetch-depth: 0)") from None
        return cls(Path(out.strip()).resolve())

    def git(self, *args: str) -> str:
        return _git(self.root, *args)

    def commit(self, ref: str) -> str:
        """The full hash ``ref`` names; an unknown ref is bad input that says how CI checkouts get one."""
        if not ref or ref.startswith("-"):
            raise InvalidInputError(f"--base {ref!r} is not a git ref; give a branch, tag or commit, e.g. origin/main")
        try:
            return self.git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").strip()
        except MlopsError:
            raise InvalidInputError(
                f"--base {ref!r} names no commit in {self.root}; fetch it first (a shallow CI checkout has only "
                "HEAD: use actions/checkout with fetch-depth: 0, or GIT_DEPTH: 0 on GitLab)") from None

    def head(self) -> str:
        return self.commit("HEAD")

    def merge_base(self, base: str, head: str) -> str:
        try:
            return self.git("merge-base", base, head).strip()
        except MlopsError:
            raise InvalidInputError(f"{base[:12]} and {head[:12]} share no history; is --base the branch this one "
                                    "was made from, and was it fetched in full?") from None

    def is_ancestor(self, commit: str, of: str) -> bool:
        """Whether ``commit`` is ``of`` or in its history (an unknown commit is not)."""
        proc = subprocess.run(["git", "merge-base", "--is-ancestor", commit, of], cwd=self.root, capture_output=True,
                              env=_env(), check=False)
        return proc.returncode == 0

    def changes(self, base: str) -> list[FileChange]:
        """Paths that differ between commit ``base`` and the working tree (tracked files; renames found)."""
        out = self.git("diff", "--name-status", "-z", "-M", "--no-ext-diff", base, "--")
        fields = out.split("\0")
        found, i = [], 0
        while i < len(fields) and fields[i]:
            code = fields[i]
            if code[0] in "RC":
                found.append(FileChange(fields[i + 2], "renamed" if code[0] == "R" else "added", fields[i + 1]))
                i += 3
                continue
            status = {"A": "added", "D": "deleted"}.get(code[0], "modified")
            found.append(FileChange(fields[i + 1], status))
            i += 2
        return found

    def files(self) -> list[str]:
        """Every tracked path of the working tree."""
        return [p for p in self.git("ls-files", "-z").split("\0") if p]

    def show(self, commit: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``commit``, or None when it did not exist there."""
        proc = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=self.root, capture_output=True,
                              env=_env(), check=False)
        return proc.stdout if proc.returncode == 0 else None

    def relative(self, path: str | os.PathLike[str]) -> str | None:
        """``path`` relative to the repository root (POSIX), or None outside it."""
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None

    def branch(self) -> str | None:
        """The checked-out branch's name, or None on a detached HEAD."""
        try:
            name = self.git("rev-parse", "--abbrev-ref", "HEAD").strip()
        except MlopsError:
            return None
        return None if name in ("", "HEAD") else name

    @contextmanager
    def worktree(self, commit: str) -> Iterator[Path]:
        """A detached work tree of ``commit`` in a temporary folder, removed (and pruned) afterwards."""
        folder = Path(tempfile.mkdtemp(prefix="mlops-ci-base-"))
        tree = folder / "tree"
        self.git("worktree", "add", "--detach", "--quiet", str(tree), commit)
        try:
            yield tree
        finally:
            try:
                self.git("worktree", "remove", "--force", str(tree))
            except MlopsError:
                self.git("worktree", "prune")
            shutil.rmtree(folder, ignore_errors=True)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION}
    env["GIT_TERMINAL_PROMPT"] = "0"  # never wait for a password in CI
    return env


def _git(cwd: Path, *args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=_env(), check=False,
                              encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise InvalidInputError("mlops ci needs the git command; install git") from None
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[0]
        raise MlopsError(f"git {args[0]} failed: {first}")
    return proc.stdout
