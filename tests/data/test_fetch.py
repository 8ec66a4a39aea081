"""`course_lib.data.fetch`: one file's download (a hidden .part file, the progress bar, checksums, interrupts,
failures, the timeout), the marks of verified files, and unpacking an archive."""

from __future__ import annotations

import dataclasses
import hashlib
import http.client
import io
import os
import shutil
import tarfile
import urllib.error
import urllib.request

import pytest
import tqdm

from course_lib import data
from course_lib.data import catalog, fetch


def test_download_writes_a_hidden_part_file_beside_its_destination(data_dir, serve_as_official, monkeypatch):
    """Beside it, so the final rename stays on one file system; hidden and `.part`, so no reader takes it."""
    remote = serve_as_official("mnist-npz", "good").files[0]
    dest = data_dir / "new" / "deeper" / remote.filename  # folders that do not exist yet
    during = []
    transfer = fetch._transfer
    monkeypatch.setattr(fetch, "_transfer", lambda r, out: during.extend(dest.parent.iterdir()) or transfer(r, out))
    fetch.download(remote, dest)
    (part,) = during
    assert part.name.startswith(f".{remote.filename}.") and part.name.endswith(".part")
    assert sorted(p.name for p in dest.parent.iterdir()) == [".verified", remote.filename]  # the .part is gone
    assert dest.stat().st_mode & 0o777 == 0o644


def test_download_shows_a_progress_bar_with_the_file_name_and_size(data_dir, serve_as_official, tiny_files, capsys):
    dataset = serve_as_official("mnist-npz", "good")
    remote = dataset.files[0]
    size = tqdm.tqdm.format_sizeof((tiny_files / dataset.subdir / remote.filename).stat().st_size)
    assert not size.isdigit(), "the tiny file must be large enough for a scaled size (k, M)"
    fetch.download(remote, data_dir / remote.filename)
    bar = capsys.readouterr().err
    assert f"{remote.filename}: 100%" in bar and f"{size}/{size}" in bar and "B/s]" in bar


def test_a_corrupted_download_names_its_destination_and_both_checksums(data_dir, serve_as_official, tiny_files):
    dataset = serve_as_official("mnist-npz", "mismatch")
    remote, dest = dataset.files[0], data_dir / dataset.files[0].filename
    with pytest.raises(data.ChecksumMismatchError) as caught:
        fetch.download(remote, dest)
    served = tiny_files / dataset.subdir / remote.filename
    assert (caught.value.path, caught.value.expected) == (dest, remote.checksum)
    assert caught.value.actual == "sha256:" + hashlib.sha256(served.read_bytes()).hexdigest()


def test_an_interrupt_just_after_the_rename_stays_an_interrupt(data_dir, serve_as_official, monkeypatch):
    """Ctrl-C between the rename and the end of `download`: the clean-up must not mask it (the .part is gone)."""
    remote = serve_as_official("mnist-npz", "good").files[0]
    replace = os.replace

    def replace_then_interrupt(src, dst):
        replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        fetch.download(remote, data_dir / remote.filename)


@pytest.mark.parametrize(
    "error, message",
    [
        (urllib.error.URLError("no route to host"), "no route to host"),
        (OSError("disk full"), "disk full"),
        (http.client.IncompleteRead(b"abc", 7), "IncompleteRead: IncompleteRead(3 bytes read, 7 more expected)"),
    ],
)
def test_a_failed_transfer_says_what_went_wrong(monkeypatch, tmp_path, error, message):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    with pytest.raises(fetch.DownloadFailed) as caught, (tmp_path / "out").open("wb") as out:
        fetch._transfer(catalog.DATASETS["mnist-npz"].files[0], out)
    assert str(caught.value) == message


def test_downloads_always_pass_a_timeout(monkeypatch, tmp_path):
    seen = {}

    def fake_urlopen(url, timeout=None):
        seen["timeout"] = timeout
        raise OSError("no network in this test")

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    remote = catalog.DATASETS["mnist-npz"].files[0]
    with pytest.raises(fetch.DownloadFailed), (tmp_path / "out").open("wb") as out:
        fetch._transfer(remote, out)
    assert seen["timeout"] == fetch.TIMEOUT_S and 0 < fetch.TIMEOUT_S < 600


def test_verification_is_remembered_only_for_a_checksum_match(data_dir, tiny_files, serve_as_official, offline):
    """A file accepted by structure (a mirror's copy) is not thereby taken for the official bytes."""
    remote = serve_as_official("mnist-npz", "good").files[0]
    local = data_dir / remote.filename
    shutil.copy(tiny_files / remote.filename, local)
    assert fetch.verify(local, remote) and fetch.is_marked(local, "checksum")
    fetch.mark(local, "structure")
    official = dataclasses.replace(remote, checksum="sha256:" + "0" * 64)
    assert not fetch.verify(local, official)


def test_extract_unpacks_into_a_hidden_tmp_folder_beside_the_archive(tmp_path, tiny_files):
    """Beside it, so the final rename stays on one file system; hidden, so a half-unpacked folder is never used."""
    archive = tmp_path / "cifar-10-binary.tar.gz"
    archive.write_bytes((tiny_files / "cifar-10-binary.tar.gz").read_bytes())
    seen = []
    target = fetch.extract(archive, "cifar-10-batches-bin", lambda unpacked: seen.append(unpacked.parent))
    (tmp,) = seen
    assert tmp.parent == tmp_path and tmp.name.startswith(".cifar-10-batches-bin.") and tmp.name.endswith(".tmp")
    assert target == tmp_path / "cifar-10-batches-bin" and not tmp.exists()


def test_extract_names_the_archive_and_what_inside_it_is_wrong(tmp_path, tiny_files):
    archive = tmp_path / "cifar-10-binary.tar.gz"
    archive.write_bytes((tiny_files / "cifar-10-binary.tar.gz").read_bytes())
    with pytest.raises(data.InvalidDataError) as caught:
        fetch.extract(archive, "cifar-10-batches-py", lambda unpacked: None)
    assert (caught.value.path, caught.value.problem) == (archive, "the archive holds no folder cifar-10-batches-py/")

    def refuse(path):
        raise data.InvalidDataError(path, "bad")

    for bad, named in [("data_batch_1.bin", "cifar-10-batches-bin/data_batch_1.bin"), ("/elsewhere/x.bin", "x.bin")]:
        with pytest.raises(data.InvalidDataError) as caught:
            fetch.extract(archive, "cifar-10-batches-bin", lambda unpacked, bad=bad: refuse(unpacked / bad))
        assert (caught.value.path, caught.value.problem) == (archive, f"its {named} is not valid: bad")


def test_extract_refuses_a_member_that_would_land_outside_its_folder(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(data.InvalidDataError):
        fetch.extract(archive, "folder", lambda unpacked: None)
    assert not (tmp_path / "escaped.txt").exists()
