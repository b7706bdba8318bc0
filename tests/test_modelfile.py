"""The JSON and array helpers of linclf._formats.modelfile, shared by models and checkpoints."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from linclf._formats.modelfile import join_arrays, json_float, json_safe, split_arrays


def test_json_safe_makes_plain_json_and_json_float_reads_it_back():
    value = {
        "curve": (1.5, np.float32(0.25), float("inf"), np.float64("-inf"), float("nan")),
        "n": np.int64(7),
        "flag": np.bool_(True),
        "key": np.arange(3, dtype=np.uint32),
        "nested": [{"x": np.float64(2.0)}],
        "name": "sgd",
        "none": None,
    }
    safe = json_safe(value)
    text = json.dumps(safe, allow_nan=False)  # raises if a NumPy type or a non-finite survived
    assert json.loads(text) == {
        "curve": [1.5, 0.25, "inf", "-inf", "nan"],
        "n": 7,
        "flag": True,
        "key": [0, 1, 2],
        "nested": [{"x": 2.0}],
        "name": "sgd",
        "none": None,
    }
    assert type(safe["n"]) is int and type(safe["nested"][0]["x"]) is float
    assert value["curve"][2] == math.inf  # the input is not modified
    read = [json_float(v) for v in safe["curve"]]
    assert read[:4] == [1.5, 0.25, math.inf, -math.inf] and math.isnan(read[4])


@pytest.mark.parametrize("bad", ["Infinity", "1e5", ""])
def test_json_float_refuses_strings_json_safe_never_writes(bad):
    with pytest.raises(ValueError, match="number or one of"):
        json_float(bad)


def test_split_arrays_and_join_arrays_are_inverse():
    velocity = np.ones((2, 3))
    state = {"t": 4, "lr_scale": 0.5, "velocity.W": velocity, "schedule": {"name": "adaptive"}}
    scalars, arrays = split_arrays(state, "optimizer")
    assert scalars == {"t": 4, "lr_scale": 0.5, "schedule": {"name": "adaptive"}}
    assert list(arrays) == ["optimizer.velocity.W"] and arrays["optimizer.velocity.W"] is velocity
    # Arrays of other prefixes in the same file are left out of the joined state.
    others = {**arrays, "W": np.zeros(3), "optimizerx.v": np.zeros(1), "param.W": np.zeros(1)}
    joined = join_arrays(scalars, others, "optimizer")
    assert joined.keys() == state.keys() and joined["velocity.W"] is velocity
    assert scalars == {"t": 4, "lr_scale": 0.5, "schedule": {"name": "adaptive"}}  # not modified
