"""The one registry of simulators (`archsim.registry`): complete, lazy, no import cycle."""

import subprocess
import sys
import typing

import pytest

from archsim import registry
from archsim.api import simulate
from archsim.config import load_config, parse_config
from workloads.errors import InputError


@pytest.mark.parametrize("kind", registry.kinds())
def test_every_entry_resolves_and_names_its_kind(kind):
    model = registry.config_model(kind)
    assert typing.get_args(model.model_fields["kind"].annotation) == (kind,)
    assert callable(registry.simulator(kind))
    # the preset of that kind loads into that model
    assert type(load_config(kind)) is model


def test_unknown_kind_is_one_line_error():
    with pytest.raises(InputError, match=r"cfg\.yaml: kind: expected one of \['piuma', 'sat'\]"):
        parse_config({"kind": "tpu"}, where="cfg.yaml")
    with pytest.raises(InputError, match="kind"):
        registry.simulator(None)


def test_api_dispatches_through_the_registry():
    r = simulate(load_config("sat"), {"gemm": [32, 32, 32], "sparsity": "dense"})
    assert r.simulator == "sat" and r.total_cycles > 0


@pytest.mark.parametrize("first", ["archsim.sat.config", "archsim.piuma.config", "archsim.config",
                                   "archsim.api", "archsim.registry"])
def test_no_import_cycle_and_lazy(first):
    """Any module imported first works; the registry and config import no simulator."""
    code = (f"import sys, {first}; from archsim.config import load_config; load_config('sat'); "
            "print(','.join(m for m in ('archsim.sat.run', 'archsim.piuma.run', 'simpy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", out.stdout
