"""``[experiment]`` and ``[[experiment.arms]]`` in the protocol file (issue 23, docs/experiments.md)."""
import pytest

from delphi.protocol import (
    ArmSpec,
    ExperimentSpec,
    ProtocolError,
    protocol_from_text,
    protocol_to_toml,
)
from tests.conftest import MINIMAL_PROTOCOL

EXPERIMENT = """
[experiment]
block_size = 4

[[experiment.arms]]
key = "every_group"
name = "Every group's scores"

[[experiment.arms]]
key = "own_group"
name = "Own group's scores only"
feedback = "own_group"
comments = false
order = "random"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ProtocolError) as raised:
        protocol_from_text(text)
    return raised.value.errors


def test_arms_are_read_with_their_formats_and_defaults():
    experiment = protocol_from_text(MINIMAL_PROTOCOL + EXPERIMENT).experiment
    assert experiment == ExperimentSpec(
        arms=(ArmSpec("every_group", "Every group's scores", "all_groups", True, "fixed"),
              ArmSpec("own_group", "Own group's scores only", "own_group", False, "random")),
        allocation="stratified-blocks", block_size=4, seed=None)


def test_a_protocol_without_an_experiment_has_none_and_exports_without_it():
    protocol = protocol_from_text(MINIMAL_PROTOCOL)
    assert protocol.experiment is None
    assert "experiment" not in protocol_to_toml(protocol)


def test_the_experiment_and_a_drawn_seed_round_trip_through_the_file():
    from dataclasses import replace

    protocol = protocol_from_text(MINIMAL_PROTOCOL + EXPERIMENT)
    seeded = replace(protocol, experiment=replace(protocol.experiment, seed=2 ** 64 - 1))
    text = protocol_to_toml(seeded)
    assert "[[experiment.arms]]" in text and "seed = 18446744073709551615" in text
    assert protocol_from_text(text) == seeded
    assert protocol_from_text(protocol_to_toml(protocol)) == protocol


@pytest.mark.parametrize("change, expected", [
    (lambda t: t.split("[[experiment.arms]]\nkey = \"own_group\"")[0],
     "experiment.arms: a comparison needs at least 2 arms ([[experiment.arms]]), not 1"),
    (lambda t: "\n[experiment]\nblock_size = 2\n",
     "experiment.arms: a comparison needs at least 2 arms ([[experiment.arms]]), not 0"),
    (lambda t: t.replace('feedback = "own_group"', 'feedback = "friends"'),
     "experiment.arms[2].feedback: must be one of 'panel', 'all_groups', 'own_group', not 'friends'"),
    (lambda t: t.replace('order = "random"', 'order = "alphabetical"'),
     "experiment.arms[2].order: must be one of 'fixed', 'random', not 'alphabetical'"),
    (lambda t: t.replace('key = "own_group"', 'key = "every_group"'),
     "experiment.arms[2].key: 'every_group' is used by an earlier arm"),
    (lambda t: t.replace('key = "own_group"', 'key = "Own group"'),
     "experiment.arms[2].key: 'Own group' must start with a small letter and use only a-z, 0-9 and _"),
    (lambda t: t.replace("block_size = 4", "block_size = 3"),
     "experiment.block_size: must be a multiple of the number of arms (2), not 3"),
    (lambda t: t.replace("block_size = 4", "block_size = 0"),
     "experiment.block_size: must be between 1 and 100, not 0"),
    (lambda t: t.replace("block_size = 4", 'allocation = "coin"'),
     "experiment.allocation: must be one of 'stratified-blocks', not 'coin'"),
    (lambda t: t.replace("block_size = 4", "seed = -1"),
     "experiment.seed: must be between 0 and 18446744073709551615, not -1"),
    (lambda t: t.replace("comments = false", "comments = \"no\""),
     "experiment.arms[2].comments: must be true or false, not text"),
    (lambda t: t.replace("block_size = 4", "blocks = 4"),
     "experiment.blocks: unknown key (known: arms, allocation, block_size, seed)"),
])
def test_a_bad_experiment_is_refused_naming_the_key(change, expected):
    assert expected in problems(MINIMAL_PROTOCOL + change(EXPERIMENT))
