from __future__ import annotations

import pytest
from helpers.training_data import tiny_config

from stalstm.training.schedule import (
    FULL_MODEL,
    Schedule,
    Stage,
    end_to_end_schedule,
    paper_schedule,
)


def test_paper_schedule_pretrains_each_branch_on_a_small_network_then_builds_the_full_model():
    schedule = paper_schedule(3, 2, 2, 4, small_main_hidden=5)
    names = [stage.name for stage in schedule.stages]
    assert names == [
        "temporal-pretrain", "temporal-main", "temporal-finetune",
        "spatial-pretrain", "spatial-main", "spatial-finetune",
        "full-main", "full-finetune",
    ]  # fmt: skip
    config = tiny_config("sta")
    assert schedule.model_config("temporal-small", config).main_hidden == 5
    assert schedule.model_config("temporal-small", config).variant == "ta"
    full_main = schedule.stages[6]
    assert full_main.train == ("main",)
    assert dict(full_main.take) == {"spatial": "spatial", "temporal": "temporal"}
    assert schedule.stages[-1].train == ("main", "spatial", "temporal")
    assert schedule.stages[2].optimiser.learning_rate == pytest.approx(0.5e-3)
    assert schedule.total_epochs == 2 * (3 + 2 + 2) + 2 + 4


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("lstm", ["full-main", "full-finetune"]),
        ("ta", ["temporal-pretrain", "temporal-main", "temporal-finetune", "full-main",
                "full-finetune"]),
        ("sa", ["spatial-pretrain", "spatial-main", "spatial-finetune", "full-main",
                "full-finetune"]),
    ],
)  # fmt: skip
def test_the_paper_schedule_adapts_to_each_variant(variant, expected):
    adapted = paper_schedule(1, 1, 1, 1).for_config(tiny_config(variant))
    assert [stage.name for stage in adapted.stages] == expected
    available = {"lstm": {"main"}, "ta": {"main", "temporal"}, "sa": {"main", "spatial"}}[variant]
    for stage in adapted.stages:
        assert set(stage.train) <= available
        assert set(stage.take) <= available
    assert adapted.stages[-1].model == FULL_MODEL


def test_end_to_end_trains_everything_in_one_stage():
    schedule = end_to_end_schedule(7)
    assert len(schedule.stages) == 1
    assert schedule.stages[0].train == ("main", "spatial", "temporal")
    assert schedule.total_epochs == 7


def test_invalid_schedules_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="unknown parts"):
        Stage("x", ("mian",), 1)
    with pytest.raises(ValueError, match="no earlier stage"):
        Schedule((Stage("x", ("main",), 1, take={"temporal": "other"}),), {"other": {}})
    with pytest.raises(ValueError, match="last stage"):
        Schedule((Stage("x", ("main",), 1, model="small"),), {"small": {"main_hidden": 2}})
    with pytest.raises(ValueError, match="epochs"):
        Stage("x", ("main",), 0)
