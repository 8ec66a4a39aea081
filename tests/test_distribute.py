"""course_lib.distribute: the equal-update check, worker processes on loopback, resuming after a kill, clean-up."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
import tempfile

import numpy as np
import psutil
import pytest
import tensorflow as tf

from course_lib import distribute, models

JOB = distribute.Job(epochs=3, global_batch=32, widths=(4, 8, 8), peak_lr=0.1)
STEPS = 4  # 128 examples // 32
HANG_GUARD = 600  # seconds: only stops a hung test, never judges speed


def _data(n: int = 128) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, size=n)


def _workers_alive() -> list[psutil.Process]:
    """Child processes of this test process that run a course worker."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "course_lib.distribute" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Temporary folders go to `tmp_path/tmp`, so a test can see that none is left behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# ---------------------------------------------------------------- cluster configuration


def test_free_ports_are_distinct_and_free():
    ports = distribute.free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # raises if taken


def test_tf_config_lists_every_worker_and_names_this_one():
    config = json.loads(distribute.tf_config([4001, 4002], 1))
    assert config == {
        "cluster": {"worker": ["127.0.0.1:4001", "127.0.0.1:4002"]},
        "task": {"type": "worker", "index": 1},
    }


# ---------------------------------------------------------------- the equal-update check

EQUAL_UPDATE = """
import json, numpy as np
import course_lib
from course_lib import distribute, models, runtime
devices = distribute.logical_cpus(2)
import tensorflow as tf
runtime.seed_everything(1)
one_device, mirrored = tf.distribute.OneDeviceStrategy(devices[0]), tf.distribute.MirroredStrategy(devices)
out = {}
for norm in ("none", "before"):
    model = models.small_cnn(norm, widths=(4, 8))
    rng = np.random.default_rng(3)
    x, y = rng.random((10, 32, 32, 3)).astype(np.float32), rng.integers(0, 10, 10)
    one = distribute.sgd_step(one_device, model, x, y, 0.1)
    for reduction in ("mean", "sum"):
        two = distribute.sgd_step(mirrored, model, x, y, 0.1, reduction)
        moved = not distribute.same_weights(two[0], model.get_weights())
        out[f"{norm} {reduction}"] = [distribute.same_weights(*two), distribute.same_weights(two[0], one[0]), moved]
print(json.dumps(out))
"""


def test_two_replicas_equal_one_replica_of_twice_the_batch_and_the_check_fails_when_broken():
    """The notebook's check, in a fresh process (the logical devices must precede TensorFlow's runtime)."""
    done = subprocess.run(
        [sys.executable, "-c", EQUAL_UPDATE], capture_output=True, text=True, timeout=HANG_GUARD, check=True
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # [replicas agree, equal to one replica of the whole batch, the weights moved at all]
    assert found["none mean"] == [True, True, True]
    assert found["none sum"] == [True, False, True], "a sum all-reduce must fail the equal-update check"
    assert found["before mean"][1] is False, "per-replica BN statistics make the update differ"


def test_sgd_step_refuses_an_unknown_reduction():
    with pytest.raises(ValueError, match="'mean' or 'sum'"):
        distribute.sgd_step(None, None, np.zeros((2, 1)), np.zeros(2), 0.1, "max")


# ---------------------------------------------------------------- input pipelines


def test_slice_and_shard_read_every_example_once_and_same_reads_half():
    for mode, distinct in (("slice", 24), ("shard", 24), ("same", 12)):
        read = distribute.pipeline_ids(24, 8, workers=2, mode=mode, seed=5)
        assert [len(worker) for worker in read] == [3, 3] and all(len(ids) == 4 for w in read for ids in w)
        assert len({int(i) for w in read for ids in w for i in ids}) == distinct, mode


def test_slice_gives_the_replicas_together_the_batches_of_one_process():
    read = distribute.pipeline_ids(24, 8, workers=2, mode="slice", seed=5)
    one = tf.data.Dataset.range(24).shuffle(24, seed=5).batch(8, drop_remainder=True)
    for step, batch in enumerate(one.as_numpy_iterator()):
        assert np.concatenate([read[0][step], read[1][step]]).tolist() == batch.tolist()


def test_an_unknown_input_mode_is_refused():
    with pytest.raises(ValueError, match="mode must be"):
        distribute.pipeline_ids(8, 4, 2, "mirror")


# ---------------------------------------------------------------- worker processes


def test_a_killed_worker_is_resumed_from_the_last_checkpoint_and_nothing_is_left(private_tmp):
    x, y = _data()
    job = dataclasses.replace(JOB, kill_worker=1, kill_at_step=6)  # mid-epoch 2: the checkpoint is epoch 1's end
    result = distribute.run_job(job, x, y, count=2, restarts=1, timeout=HANG_GUARD)
    assert result.attempts[0].returncodes[1] == -9 and result.attempts[1].returncodes == [0, 0]
    assert distribute.resumed_epoch(result) == 1
    assert distribute.resumed_after_kill(result, job, STEPS)
    assert [step for step, _ in result.attempts[0].steps] == [1, 2, 3, 4, 5, 6]
    assert [step for step, _ in result.attempts[1].steps] == list(range(5, 13))
    assert len(result.weights) == len(models.conv_bn_net(JOB.widths).get_weights())
    assert _workers_alive() == [] and list(private_tmp.iterdir()) == []


def test_the_resume_check_fails_without_backup_and_restore(private_tmp):
    x, y = _data()
    job = dataclasses.replace(JOB, kill_worker=1, kill_at_step=6, backup=False)
    result = distribute.run_job(job, x, y, count=2, restarts=1, timeout=HANG_GUARD)
    assert distribute.resumed_epoch(result) == 0, "without a backup the restart begins from scratch"
    assert not distribute.resumed_after_kill(result, job, STEPS)
    assert _workers_alive() == [] and list(private_tmp.iterdir()) == []


def test_a_failing_worker_raises_with_the_end_of_its_log(private_tmp):
    x, y = _data(64)
    with pytest.raises(distribute.WorkerError, match=r"(?s)worker \d exited with code 1.*mode must be"):
        distribute.run_job(dataclasses.replace(JOB, input_mode="bogus"), x, y, count=2, timeout=HANG_GUARD)
    assert _workers_alive() == [] and list(private_tmp.iterdir()) == []


def test_workers_are_stopped_and_reaped_when_the_caller_is_interrupted(tmp_path):
    started = []
    with pytest.raises(KeyboardInterrupt), distribute.workers(tmp_path, 2, 0) as processes:
        started = processes
        assert all(p.poll() is None for p in processes)
        raise KeyboardInterrupt
    assert len(started) == 2 and all(p.returncode is not None for p in started)
    assert _workers_alive() == []
