"""The sandbox's command as built for a grader that is root or not, without starting a kernel."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from course_lib.tools.grading import sandbox


@pytest.fixture
def as_root(monkeypatch):
    monkeypatch.setattr(sandbox, "usable_bwrap", lambda: "/usr/bin/bwrap")
    monkeypatch.setattr(sandbox, "kernel_uid", lambda: 123456)
    monkeypatch.setattr(sandbox, "_interpreter", list)  # this machine's Python may sit in root's home


@pytest.fixture
def host_folder():
    """A folder outside /tmp (the sandbox makes its own /tmp, where nothing is the host's), open to all."""
    if not Path("/var/tmp").is_dir():
        pytest.skip("no /var/tmp here")
    folder = Path(tempfile.mkdtemp(dir="/var/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def open_folder():
    """A folder every user may enter (pytest's own temporary folders are closed to others)."""
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def _runs(command: list[str], *part: str) -> bool:
    return any(command[i : i + len(part)] == list(part) for i in range(len(command)))


def test_root_drops_to_the_kernels_uid_inside_and_caps_processes(tmp_path, as_root):
    command = sandbox.prefix(tmp_path, limits=sandbox.Limits(processes=99))
    assert "--unshare-user" not in command and _runs(command, "--cap-add", "CAP_SETUID")
    tail = command[command.index("--chdir") + 2 :]
    assert tail[0] == "setpriv" and "--reuid=123456" in tail and "--no-new-privs" in tail
    assert tail[-7:-4] == ["prlimit", "--nproc=99", "--"], "process cap, shared state closed, kernel"
    assert tail[-4:] == sandbox.SHARED_STATE_CLOSED


def test_an_ordinary_grader_keeps_nobody_in_a_user_namespace(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "usable_bwrap", lambda: "/usr/bin/bwrap")
    monkeypatch.setattr(sandbox, "kernel_uid", lambda: None)
    command = sandbox.prefix(tmp_path)
    assert _runs(command, "--unshare-user", "--uid", "65534") and "setpriv" not in command
    assert command[-7:-4] == ["prlimit", f"--nproc={sandbox.Limits().processes}", "--"]


def test_the_kernel_sees_the_system_and_what_it_needs_only(open_folder, as_root):
    data = open_folder / "data"
    data.mkdir()
    command = sandbox.prefix(open_folder / "kernel", readable=[data])
    assert not _runs(command, "--ro-bind", "/", "/"), "no longer the whole file system, covered in places"
    bound = {command[i + 1] for i, a in enumerate(command) if a in ("--ro-bind", "--symlink")}
    assert bound - {"usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "usr/lib32", "usr/libx32"} == {
        p for p in sandbox.SYSTEM if Path(p).is_dir() and not Path(p).is_symlink()
    } | {str(data)}, "the system's folders and the tiny data (the interpreter is left out here)"


def test_folders_above_a_shown_one_are_made_enterable(open_folder, as_root):
    closed = open_folder / "home"
    (closed / "a" / "b" / "data").mkdir(parents=True)
    closed.chmod(0o700)
    try:
        command = sandbox.prefix(open_folder / "kernel", readable=[closed / "a" / "b" / "data"])
    finally:
        closed.chmod(0o755)
    for folder in (closed, closed / "a", closed / "a" / "b"):
        assert _runs(command, "--perms", "0755", "--dir", str(folder))
    assert command.index(str(closed / "a")) < command.index(str(closed / "a" / "b")), "top first"
    assert _runs(command, "--ro-bind", str(closed / "a" / "b" / "data"))
    assert not _runs(command, "--ro-bind", str(closed), str(closed)), "the closed folder itself stays out of sight"


def test_root_grading_names_a_needed_folder_closed_to_other_users(host_folder, as_root):
    data = host_folder / "home" / "data"
    data.mkdir(parents=True)
    data.chmod(0o750)
    with pytest.raises(sandbox.SandboxMissing, match=f"may not read {data}.*chmod -R o\\+rX"):
        sandbox.prefix(host_folder / "kernel", readable=[data])


def test_a_hidden_folder_inside_a_shown_one_is_covered(open_folder, as_root):
    data = open_folder / "data"
    (data / "submissions").mkdir(parents=True)
    command = sandbox.prefix(open_folder / "kernel", hidden=[data / "submissions"], readable=[data])
    covered = str(data / "submissions")
    assert _runs(command, "--tmpfs", covered) and command.index(covered) > command.index(str(data))


def test_what_the_kernel_needs_under_tmp_is_shown_in_its_private_tmp(open_folder, as_root):
    data = open_folder / "tiny-data"  # the grader keeps the tiny data under the system's /tmp
    data.mkdir()
    command = sandbox.prefix(open_folder / "kernel", readable=[data])
    assert str(data).startswith("/tmp/") and _runs(command, "--ro-bind", str(data), str(data))
    assert command.index("/tmp") < command.index(str(data)), "after the private /tmp is made"


def test_the_working_folder_is_a_sized_tmpfs_sharing_only_the_runtime_folder(tmp_path, as_root):
    command = sandbox.prefix(tmp_path, limits=sandbox.Limits(disk_mb=7))
    runtime = str(tmp_path / sandbox.RUNTIME)
    assert _runs(command, "--perms", "01777", "--size", str(7 * 2**20), "--tmpfs", str(tmp_path))
    assert _runs(command, "--bind", runtime, runtime) and command.index(runtime) > command.index(str(tmp_path))
    assert not _runs(command, "--bind", str(tmp_path), str(tmp_path)), "the host's folder itself stays out"


def test_a_temporary_folder_outside_tmp_stays_out_of_sight(host_folder, as_root, monkeypatch):
    """With TMPDIR elsewhere, the other kernels' folders and the graded notebooks are there: not shown."""
    monkeypatch.setattr(sandbox.tempfile, "tempdir", str(host_folder))
    command = sandbox.prefix(host_folder / "kernel")
    assert str(host_folder) not in command and _runs(command, "--size", str(256 * 2**20), "--tmpfs", "/tmp")
