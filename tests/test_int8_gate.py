"""The INT8 gate: the worst of several independent, named held-out sets, not a pooled figure."""

from __future__ import annotations

import numpy as np
import pytest

from mmnet_edge.calibration.gate import (
    GATE_SETS,
    MAX_UF1_DROP,
    SELECTION_SEEDS,
    evaluate_gate,
    gate_set_data,
)
from mmnet_edge.compare import AGREEMENT_GATE
from mmnet_edge.metadata import ModelMetadata
from mmnet_edge.model import create_config


@pytest.fixture(scope="module")
def data():
    meta = ModelMetadata(config=create_config("tiny"))
    return gate_set_data(meta)


def test_gate_sets_are_independent_of_every_set_settings_were_chosen_on():
    assert len(GATE_SETS) >= 3
    seeds = [s.seed for s in GATE_SETS]
    assert len(set(seeds)) == len(seeds)
    assert not set(seeds) & set(SELECTION_SEEDS)
    # training / calibration seeds of the demo, tests and benchmarks are small integers
    assert min(seeds) > 100
    assert len({s.name for s in GATE_SETS}) == len(GATE_SETS)


def test_gate_sets_are_labelled_distinct_and_deterministic(data):
    meta = ModelMetadata(config=create_config("tiny"))
    again = gate_set_data(meta, GATE_SETS[:1])[0]
    assert np.array_equal(again.onset, data[0].onset)
    for cs, spec in zip(data, GATE_SETS):
        assert len(cs) == spec.pairs >= 120
        assert cs.onset.shape == (spec.pairs, 3, meta.input_size, meta.input_size)
        assert sorted(set(cs.labels.tolist())) == list(range(len(cs.class_names)))
    assert not np.array_equal(data[0].onset, data[1].onset)


def _logits_for(cs, flip: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Reference logits with clear margins, and a candidate that flips ``flip`` of them."""
    n, c = len(cs), len(cs.class_names)
    ref = rng.standard_normal((n, c)) * 0.1
    ref[np.arange(n), cs.labels] += 3.0
    got = ref.copy()
    idx = rng.choice(n, flip, replace=False)
    got[idx, (cs.labels[idx] + 1) % c] += 6.0
    return ref, got


def test_one_bad_set_fails_the_gate_although_the_pooled_agreement_passes(data):
    rng = np.random.default_rng(0)
    flips = {GATE_SETS[0].name: 8, GATE_SETS[1].name: 0, GATE_SETS[2].name: 0}  # 8/160 = 0.95
    logits = {cs.spec.name: _logits_for(cs, flips[cs.spec.name], rng) for cs in data}
    res = evaluate_gate(
        lambda cs: logits[cs.spec.name][0], lambda cs: logits[cs.spec.name][1], data
    )
    pooled = 1 - sum(flips.values()) / sum(len(cs) for cs in data)
    assert pooled >= AGREEMENT_GATE
    assert not res.passed
    assert res.worst.name == GATE_SETS[0].name and res.worst.agreement == pytest.approx(0.95)
    d = res.to_dict()
    assert [s["name"] for s in d["sets"]] == [s.name for s in GATE_SETS]
    assert d["passed"] is False and d["worst"] == GATE_SETS[0].name
    assert "FAILS" in res.summary() and GATE_SETS[0].name in res.summary()


def test_every_set_within_the_gate_passes(data):
    rng = np.random.default_rng(1)
    logits = {cs.spec.name: _logits_for(cs, 2, rng) for cs in data}  # 2/160 each
    res = evaluate_gate(
        lambda cs: logits[cs.spec.name][0], lambda cs: logits[cs.spec.name][1], data
    )
    assert res.passed and all(r.agreement >= AGREEMENT_GATE for r in res.sets)
    assert all(r.uf1_drop <= MAX_UF1_DROP for r in res.sets)
    assert "passes the gate" in res.summary()
