"""The key-figure checks (`notebook_figures.py`) hold on every measured setting and fail a model that learnt nothing.

`figure_spread.json` holds the tiny runs' figures under oneDNN on/off, one and two intra-op threads and a
second seed (`python tests/figure_spread.py` remakes it). A setting the checks would fail, or pass by less
than the margin, fails here without running a notebook.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
from notebook_figures import (
    CHECKS,
    CLASSES,
    FLOORS,
    MARGIN,
    TEST,
    Chance,
    NearestClassMean,
    chance_level,
    figure,
)

SPREAD = json.loads((Path(__file__).parent / "figure_spread.json").read_text())
RUNS = [r for r in SPREAD["runs"] if r["notebook"] != "00_environment_check"]  # its figure is the setting itself
# The spread keeps no timings (they measure the machine's load): `TIMINGS` checks only their shape.
SETTINGS = {"oneDNN 1, 2 threads", "oneDNN 1, 1 thread", "oneDNN 0, 2 threads", "oneDNN 0, 1 thread"}


def _label(run: dict) -> str:
    return f"{run['notebook']}, {run['setting']}, seed {run['seed'] or 'default'}"


def test_the_spread_covers_every_setting_for_every_checked_notebook():
    for stem in CHECKS:
        if stem != "00_environment_check":
            assert {r["setting"] for r in RUNS if r["notebook"] == stem and r["seed"] is None} == SETTINGS, stem
    assert {r["notebook"] for r in RUNS if r["seed"] is not None} >= {"01_mnist_softmax_regression", "03_mnist_cnn"}


@pytest.mark.parametrize("run", RUNS, ids=_label)
def test_every_measured_run_passes_its_checks(run):
    if run["notebook"] in CHECKS:
        CHECKS[run["notebook"]](run["figures"])


@pytest.mark.parametrize("run", RUNS, ids=_label)
def test_every_measured_run_clears_each_floor_by_the_margin(run):
    for path, floor in FLOORS.get(run["notebook"], {}).items():
        value = figure(run["figures"], path)
        assert value - floor.level() >= MARGIN - 1e-9, f"{path} = {value}: less than {MARGIN} above {floor}"


def _set(metrics: dict, path: str, value: float) -> dict:
    changed = copy.deepcopy(metrics)
    parent, _, last = path.rpartition("/")
    holder = figure(changed, parent) if parent else changed
    holder[int(last) if isinstance(holder, list) else last] = value
    return changed


FLOORED = [(stem, path) for stem, floors in FLOORS.items() for path in floors]


@pytest.mark.parametrize(("stem", "path"), FLOORED, ids=[f"{s}:{p}" for s, p in FLOORED])
def test_a_figure_just_below_its_floor_fails_its_check(stem, path):
    run = next(r for r in RUNS if r["notebook"] == stem)
    with pytest.raises(AssertionError, match=path.split("/")[0]):
        CHECKS[stem](_set(run["figures"], path, FLOORS[stem][path].level() - 0.01))


@pytest.mark.parametrize(("stem", "path"), FLOORED, ids=[f"{s}:{p}" for s, p in FLOORED])
def test_no_floor_lets_a_model_pass_that_learnt_nothing(stem, path):
    """A model that learnt nothing scores about 1/10, more by luck on few images: every floor is above that."""
    assert FLOORS[stem][path].level() >= Chance(TEST).level() > 1 / CLASSES


def test_chance_level_is_the_binomial_tail():
    for n in (100, 200):
        level = chance_level(n)
        k = round(level * n)
        tail = sum(math.comb(n, j) * 0.1**j * 0.9 ** (n - j) for j in range(k + 1, n + 1))
        assert tail < 1e-3 <= tail + math.comb(n, k) * 0.1**k * 0.9 ** (n - k), n
    assert chance_level(100) == 0.2 and chance_level(200) == 0.17 and CLASSES == 10


def test_the_nearest_class_mean_baseline_is_far_above_chance():
    for dataset in ("mnist", "cifar10"):
        assert NearestClassMean(dataset).level() > Chance(200).level() + 0.3, dataset


@pytest.mark.parametrize(
    ("stem", "key", "broken"),
    [
        ("03_mnist_cnn", "optimizer_chosen", "SGD"),
        ("04_cifar10_lrn_cnn", "long_views", "centre crop"),
        ("04_cifar10_lrn_cnn", "long_peak_lr", 0.05),
        ("07_cifar10_batchnorm_cnn", "improved_peak_lr", 0.4),
        ("10_cifar10_speed_capstone", "tta", "mirror"),
    ],
)
def test_a_choice_not_made_on_validation_fails(stem, key, broken):
    run = next(r for r in RUNS if r["notebook"] == stem and r["seed"] is None)
    assert run["figures"][key] != broken, "pick a value the run did not choose"
    with pytest.raises(AssertionError):
        CHECKS[stem](run["figures"] | {key: broken})


def test_other_relations_fail_when_broken():
    runs = {r["notebook"]: r["figures"] for r in RUNS if r["seed"] is None}
    broken = [
        ("05_l2_regularization", {"l1_zero_share": runs["05_l2_regularization"]["l2_zero_share"]}),
        ("05_l2_regularization", {"plain_gap": 0.3}),
        ("08_batch_normalization", {"batch_statistics_accuracy": runs["08_batch_normalization"][
            "batch_statistics_accuracy"] | {"1": 0.5}}),
        ("03_mnist_cnn", {"cnn_epochs_run": 0}),
        ("04_cifar10_lrn_cnn", {"long_steps": 100}),
        ("05_l2_regularization", {"l2_chosen": not runs["05_l2_regularization"]["l2_chosen"]}),
        ("07b_distributed_training", {"equal_update": False}),
        ("07b_distributed_training", {"sum_reduction_equal_update": True}),
        ("07b_distributed_training", {"resumed_after_kill": False}),
        ("07b_distributed_training", {"resumed_from_epoch": 0}),
    ]  # fmt: skip
    for stem, change in broken:
        with pytest.raises(AssertionError):
            CHECKS[stem](runs[stem] | change)
