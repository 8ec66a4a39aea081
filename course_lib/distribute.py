"""Data-parallel training with `tf.distribute`: the all-reduce in one step, workers on loopback, faults.

- `logical_cpus`, `sgd_step`: synchronous data parallelism on one machine (`MirroredStrategy` over
  logical CPU devices), one SGD step written out so the all-reduce is visible.
- `worker_dataset`: the input pipeline of one worker (its slice of each global batch, or its shard).
- `Job`, `run_job`: train 07's modern network with `MultiWorkerMirroredStrategy` in worker processes
  on 127.0.0.1 (`TF_CONFIG` built from free ports), optionally killing one worker mid-training and
  restarting the job, which `keras.callbacks.BackupAndRestore` resumes. `workers` starts and always
  stops them; `train` is what each worker runs (`python -m course_lib.distribute JOB INDEX`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from course_lib import models, runtime

PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # the folder holding course_lib, for the workers' PYTHONPATH
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}


# ---------------------------------------------------------------- one machine, several replicas


def logical_cpus(count: int) -> list[str]:
    """Split the CPU into `count` logical devices (before TensorFlow starts its runtime); their names."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # the runtime has started: fine if it already has that many devices
        pass
    names = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(names) != count:
        raise RuntimeError(f"TensorFlow already runs with {len(names)} CPU device(s): restart the kernel")
    return names


def sgd_step(strategy, model, x: np.ndarray, y: np.ndarray, learning_rate: float, reduction: str = "mean") -> list:
    """One SGD step on the global batch `(x, y)` under `strategy`: each replica's weights afterwards.

    The batch is split across the replicas; each computes the gradient of the mean cross-entropy on
    its slice; the gradients are all-reduced (`reduction`: 'mean', right, or 'sum'); every replica
    applies the reduced gradient to its copy of `model`'s weights. Returns one list of arrays per replica.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    op = tf.distribute.ReduceOp.MEAN if reduction == "mean" else tf.distribute.ReduceOp.SUM
    batch = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32))).batch(len(x))
    xs, ys = next(iter(strategy.experimental_distribute_dataset(batch)))

    @tf.function
    def replica_step(xb, yb):
        weights = [tf.identity(v) for v in model.trainable_variables]
        with tf.GradientTape() as tape:
            tape.watch(weights)
            logits, _ = model.stateless_call(weights, list(model.non_trainable_variables), xb, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, logits))
        grads = tf.distribute.get_replica_context().all_reduce(op, tape.gradient(loss, weights))
        return [w - learning_rate * g for w, g in zip(weights, grads)]

    new = strategy.run(replica_step, args=(xs, ys))
    per_variable = [strategy.experimental_local_results(w) for w in new]
    return [[np.asarray(v[r]) for v in per_variable] for r in range(strategy.num_replicas_in_sync)]


def same_weights(a: list, b: list, atol: float = 1e-6) -> bool:
    """True if two lists of weight arrays agree to float tolerance."""
    return len(a) == len(b) and all(np.allclose(u, v, rtol=1e-5, atol=atol) for u, v in zip(a, b))


# ---------------------------------------------------------------- input pipelines


def worker_dataset(x, y, global_batch: int, context, seed: int, mode: str = "slice", classes: int = 10):
    """One worker's batches for `distribute_datasets_from_function` (`context`: a `tf.distribute.InputContext`).

    'slice': every worker shuffles all the data with the same seed and takes its slice of each global
    batch, so the replicas together see exactly the batches one process would. 'shard': each worker
    keeps every N-th example (what `AutoShardPolicy.DATA` does), then shuffles and batches its share.
    'same': no sharding, every worker reads the same batches (the mistake). Images scaled to [0, 1].
    """
    per_replica = context.get_per_replica_batch_size(global_batch)
    per_worker = per_replica * context.num_replicas_in_sync // context.num_input_pipelines
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))
    if mode == "shard":
        ds = ds.shard(context.num_input_pipelines, context.input_pipeline_id)
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if mode == "slice":
        start = context.input_pipeline_id * per_worker
        ds = ds.batch(global_batch, drop_remainder=True).map(
            lambda a, b: (a[start : start + per_worker], b[start : start + per_worker])
        )
    elif mode in ("shard", "same"):
        ds = ds.batch(per_worker, drop_remainder=True)
    else:
        raise ValueError(f"mode must be 'slice', 'shard' or 'same', got {mode!r}")
    return ds.map(lambda a, b: (tf.cast(a, tf.float32) / 255.0, tf.one_hot(b, classes)))


# ---------------------------------------------------------------- several processes


@dataclasses.dataclass(frozen=True)
class Job:
    """What every worker trains: 07's modern network (`conv_bn_net`) with its recipe, no augmentation."""

    epochs: int
    global_batch: int
    peak_lr: float = 0.4
    widths: tuple[int, ...] = (32, 64, 128)
    label_smoothing: float = 0.2
    seed: int = 42
    input_mode: str = "slice"
    backup: bool = True  # keras.callbacks.BackupAndRestore on
    kill_worker: int | None = None  # this worker SIGKILLs itself in the first attempt...
    kill_at_step: int = 0  # ...after this many steps


@dataclasses.dataclass
class Attempt:
    """One start of the job: each worker's exit code, log and report, the chief's step losses, the wall time."""

    returncodes: list[int]
    logs: list[str]
    reports: list[dict]
    steps: list[tuple[int, float]]
    seconds: float


@dataclasses.dataclass
class Result:
    """A finished job: its attempts and the chief's final weights."""

    attempts: list[Attempt]
    weights: list[np.ndarray]

    @property
    def report(self) -> dict:
        """The chief's report of the attempt that finished."""
        return self.attempts[-1].reports[0]


class WorkerError(RuntimeError):
    """A worker failed; the message holds the end of its log."""


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on 127.0.0.1 now (chosen by the OS, never fixed)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def tf_config(ports: list[int], index: int) -> str:
    """The `TF_CONFIG` of worker `index` in a cluster of workers on 127.0.0.1 at `ports`."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


def _stop(process: subprocess.Popen, grace: float = 5.0) -> None:
    """Terminate `process` and its group, kill it if it lingers, reap it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextlib.contextmanager
def workers(folder: Path, count: int, attempt: int) -> Iterator[list[subprocess.Popen]]:
    """Start `count` workers on loopback for `folder/job.json`; on leaving, however, stop and reap them all."""
    ports, started = free_ports(count), []
    env = os.environ | QUIET | {"PYTHONPATH": os.pathsep.join([str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")])}
    try:
        for index in range(count):
            log = open(folder / f"attempt-{attempt}-worker-{index}.log", "w")  # noqa: SIM115 (closed below)
            command = [sys.executable, "-m", "course_lib.distribute", str(folder), str(index), str(attempt)]
            worker_env = env | {"TF_CONFIG": tf_config(ports, index)}
            started.append(subprocess.Popen(command, stdout=log, stderr=log, env=worker_env, start_new_session=True))
            log.close()
        yield started
    finally:
        for process in started:
            _stop(process)


def _wait(processes: list[subprocess.Popen], timeout: float | None) -> None:
    """Wait until every worker has exited, or one has failed (then the job is over), or `timeout`."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while any(p.poll() is None for p in processes):
        if any(p.poll() not in (None, 0) for p in processes):
            return  # a collective op would wait for the dead worker forever: the job has failed
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"the workers did not finish within {timeout:.0f} s")
        time.sleep(0.2)


def run_attempt(folder: Path, count: int, attempt: int, timeout: float | None = None) -> Attempt:
    """Start the job's workers once and wait for them; return what they left."""
    start = time.perf_counter()
    with workers(folder, count, attempt) as processes:
        _wait(processes, timeout)
    logs = [(folder / f"attempt-{attempt}-worker-{i}.log").read_text() for i in range(count)]
    reports = [_read_json(folder / f"attempt-{attempt}-worker-{i}.json") for i in range(count)]
    chief_steps = folder / f"attempt-{attempt}-worker-0.steps"
    lines = chief_steps.read_text().splitlines() if chief_steps.exists() else []
    steps = [(r["step"], r["loss"]) for r in map(json.loads, lines)]
    return Attempt([p.returncode for p in processes], logs, reports, steps, time.perf_counter() - start)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def run_job(
    job: Job, x: np.ndarray, y: np.ndarray, count: int = 2, restarts: int = 0, timeout: float | None = None
) -> Result:
    """Train `job` on `(x, y)` with `count` worker processes; restart the whole job up to `restarts` times.

    Everything happens in a temporary folder, removed afterwards. Raises `WorkerError` (with the end
    of the failing worker's log) if the job has not finished after the last restart.
    """
    folder = Path(tempfile.mkdtemp(prefix="course-distribute-"))
    try:
        np.savez(folder / "data.npz", x=x, y=y)
        (folder / "job.json").write_text(json.dumps(dataclasses.asdict(job)))
        attempts = []
        for attempt in range(restarts + 1):
            attempts.append(run_attempt(folder, count, attempt, timeout))
            if all(code == 0 for code in attempts[-1].returncodes):
                with np.load(folder / "weights.npz") as saved:
                    return Result(attempts, [saved[f"w{i}"] for i in range(len(saved.files))])
        raise WorkerError(_failure(attempts[-1]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _failure(attempt: Attempt) -> str:
    index = next(i for i, code in enumerate(attempt.returncodes) if code != 0)
    tail = "\n".join(attempt.logs[index].splitlines()[-25:])
    return f"worker {index} exited with code {attempt.returncodes[index]}; the end of its log:\n{tail}"


def resumed_epoch(result: Result) -> int | None:
    """The epoch the restarted job began with (0: from scratch), or None if it never restarted."""
    return result.attempts[-1].reports[0]["first_epoch"] if len(result.attempts) > 1 else None


def resumed_after_kill(result: Result, job: Job, steps_per_epoch: int) -> bool:
    """True if the killed job restarted at its last epoch checkpoint (not from scratch) and finished.

    The worker died after `job.kill_at_step` steps, so the last checkpoint is the end of epoch
    `kill_at_step // steps_per_epoch`; the restarted attempt must begin there and run the rest.
    """
    first, last = result.attempts[0], result.attempts[-1]
    killed = first.returncodes[job.kill_worker] == -signal.SIGKILL
    checkpoint = job.kill_at_step // steps_per_epoch
    finished = (
        all(code == 0 for code in last.returncodes)
        and len(last.reports[0]["history"]["loss"]) == job.epochs - checkpoint
    )
    return killed and len(result.attempts) == 2 and checkpoint > 0 and resumed_epoch(result) == checkpoint and finished


def pipeline_ids(examples: int, global_batch: int, workers: int, mode: str, seed: int = 0) -> list[list[np.ndarray]]:
    """Which examples (by index) each of `workers` single-replica workers reads at each of an epoch's steps.

    An epoch is `examples // global_batch` steps, as `fit` counts it with `steps_per_epoch`.
    """
    ids = np.arange(examples)
    read = []
    for worker in range(workers):
        context = tf.distribute.InputContext(workers, worker, workers)
        ds = worker_dataset(ids.astype(np.float32) * 255, ids, global_batch, context, seed, mode, classes=examples)
        read.append([np.argmax(labels, axis=1) for _, labels in ds.take(examples // global_batch).as_numpy_iterator()])
    return read


def cpu() -> str:
    """The CPU model (family and model number), its cores, and which of AVX2 / AVX-512 / BF16 it has."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    field = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in text.splitlines()[:30])}
    flags = [f for f in ("avx2", "avx512f", "avx512_bf16") if f in field.get("flags", "").split()]
    family, model = field.get("cpu family", "?"), field.get("model", "?")
    name = f"{field.get('model name', 'unknown CPU')} (family {family}, model {model})"
    return f"{name}, {os.cpu_count()} cores, flags: {' '.join(flags) or 'none of AVX2/AVX-512/BF16'}"


# ---------------------------------------------------------------- what each worker runs


def _patch_keras_for_multi_worker(sample_batch) -> Callable:
    """Two fixes that Keras 3.15's `fit` needs under `MultiWorkerMirroredStrategy` (keras-team/keras#20585).

    Its symbolic build reduces a whole distributed batch (the multi-worker reduce takes one tensor), and it
    averages scalar logs across workers with `axis=0`. Returns the fix for the model's build.
    """
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction="auto"):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    trainer.reduce_per_replica = reduce_per_replica

    def fix(model) -> None:
        build = model._maybe_symbolic_build
        model._maybe_symbolic_build = lambda iterator=None, data_batch=None: build(
            data_batch=data_batch or sample_batch
        )

    return fix


def step_log(path: Path, steps_per_epoch: int, kill_at: int = 0):
    """A Keras callback: the first epoch run (`.first_epoch`), and per step the epoch's running loss,
    appended and flushed to the JSON-lines file `path`; SIGKILLs its own process after step `kill_at`."""

    class StepLog(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.first_epoch, self.epoch = None, 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            self.first_epoch = epoch if self.first_epoch is None else self.first_epoch

        def on_train_batch_end(self, batch, logs=None):
            step = self.epoch * steps_per_epoch + batch + 1
            with open(path, "a") as file:
                file.write(json.dumps({"step": step, "loss": float(logs["loss"])}) + "\n")
            if step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)  # a machine dies: no clean-up, no goodbye

    return StepLog()


def network(job: Job, x: np.ndarray) -> keras.Model:
    """07's modern network for `job`, standardizing its input with the per-channel statistics of the images `x`."""
    pixels = x.reshape(-1, 3) / 255
    return models.conv_bn_net(job.widths, tuple(pixels.mean(axis=0)), tuple(pixels.std(axis=0)))


def compiled_network(job: Job, x: np.ndarray, steps: int) -> keras.Model:
    """`network`, compiled with 07's recipe: SGD with Nesterov momentum, warm-up then cosine decay over
    `job.epochs * steps` steps, decoupled weight decay, label smoothing. Call it in the strategy's scope."""
    total = job.epochs * steps
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, total - total // 10, warmup_target=job.peak_lr, warmup_steps=total // 10
    )
    model = network(job, x)
    model.compile(
        optimizer=keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=5e-3),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=job.label_smoothing),
        metrics=["accuracy"],
    )
    return model


def train(job: Job, x: np.ndarray, y: np.ndarray, folder: Path | None = None, index: int = 0, attempt: int = 0):
    """Train `job` on `(x, y)`: under `MultiWorkerMirroredStrategy` if `TF_CONFIG` is set, else in this process.

    Returns `(model, report)`; the report holds the history, the first epoch run, the images trained on
    (all replicas together), and the time `fit` took: wall seconds and this process's CPU seconds.
    A worker passes its `folder`: the report and the chief's weights are written there.
    """
    multi = "TF_CONFIG" in os.environ
    strategy = tf.distribute.MultiWorkerMirroredStrategy() if multi else tf.distribute.get_strategy()
    steps = len(x) // job.global_batch
    runtime.seed_everything(job.seed)
    dataset = strategy.distribute_datasets_from_function(
        lambda ctx: worker_dataset(x, y, job.global_batch, ctx, job.seed, job.input_mode).repeat()
    )
    with strategy.scope():
        model = compiled_network(job, x, steps)
    if multi:
        _patch_keras_for_multi_worker((tf.zeros((1, 32, 32, 3)), tf.zeros((1, 10))))(model)
    with contextlib.ExitStack() as stack:
        work = folder or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="course-train-")))
        report = _fit(model, dataset, job, steps, work, index, attempt)
    if folder is not None:
        if index == 0:
            np.savez(folder / "weights.npz", **{f"w{i}": w for i, w in enumerate(model.get_weights())})
        (folder / f"attempt-{attempt}-worker-{index}.json").write_text(json.dumps(report))
    return model, report


def _fit(model: keras.Model, dataset, job: Job, steps: int, work: Path, index: int, attempt: int) -> dict:
    """`model.fit` with the step log (and the kill, if this worker is to die) and `BackupAndRestore`; the report."""
    kill_at = job.kill_at_step if (job.kill_worker == index and attempt == 0) else 0
    log = step_log(work / f"attempt-{attempt}-worker-{index}.steps", steps, kill_at)
    callbacks = [keras.callbacks.BackupAndRestore(str(work / "backup" / f"worker-{index}"))] if job.backup else []
    start, cpu_start = time.perf_counter(), time.process_time()
    history = model.fit(
        dataset, epochs=job.epochs, steps_per_epoch=steps, callbacks=[*callbacks, log], shuffle=False, verbose=0
    )
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    images = (job.epochs - log.first_epoch) * steps * job.global_batch
    return {
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "first_epoch": log.first_epoch,
        "replicas": model.distribute_strategy.num_replicas_in_sync,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,  # all the process's threads: the work, whatever else shares the CPU
        "images": images,
        "images_per_second": images / seconds,
    }


def main(argv: list[str]) -> int:
    """A worker: `python -m course_lib.distribute FOLDER INDEX ATTEMPT` (`TF_CONFIG` in the environment)."""
    folder, index, attempt = Path(argv[0]), int(argv[1]), int(argv[2])
    job = Job(**json.loads((folder / "job.json").read_text()))
    job = dataclasses.replace(job, widths=tuple(job.widths))
    with np.load(folder / "data.npz") as data:
        x, y = data["x"], data["y"]
    train(job, x, y, folder, index, attempt)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
