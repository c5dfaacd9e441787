"""meshkit.cost-first.v1: the cheapest model for the request's estimated tokens."""

from __future__ import annotations

import pytest
from rotation_helpers import NOW, request, snap, standby

from meshkit.connectors.rotation import CostFirst
from meshkit.types import CompletionRequest, ModelPricing, ModelSnapshot

# cheap-in reads cheaply and writes dearly; cheap-out the other way round.
CHEAP_IN = snap("p.cheap-in", pricing=ModelPricing(input_per_1k=0.1, output_per_1k=2.0))
CHEAP_OUT = snap("p.cheap-out", pricing=ModelPricing(input_per_1k=1.0, output_per_1k=0.2))


def chosen(policy: CostFirst, candidates: list[ModelSnapshot], req: CompletionRequest) -> str:
    result = policy.select(candidates, req, NOW)
    assert result is not None
    return result.model_id


def test_a_long_prompt_with_a_short_answer_goes_to_the_cheap_reader() -> None:
    req = request("x" * 40_000, max_tokens=10)  # ~10,000 prompt tokens
    assert chosen(CostFirst(), [CHEAP_OUT, CHEAP_IN], req) == "p.cheap-in"


def test_a_short_prompt_with_a_long_answer_goes_to_the_cheap_writer() -> None:
    req = request("hi", max_tokens=4000)
    assert chosen(CostFirst(), [CHEAP_IN, CHEAP_OUT], req) == "p.cheap-out"


def test_without_max_tokens_the_configured_default_output_is_priced() -> None:
    req = request("x" * 4000)  # ~1,000 prompt tokens, no max_tokens
    # 1000 in + 100 out: cheap-in 0.1 + 0.2 = 0.3, cheap-out 1.0 + 0.02 = 1.02
    assert chosen(CostFirst({"default_output_tokens": 100}), [CHEAP_OUT, CHEAP_IN], req) == "p.cheap-in"
    # 1000 in + 5000 out: cheap-in 0.1 + 10 = 10.1, cheap-out 1.0 + 1.0 = 2.0
    assert chosen(CostFirst({"default_output_tokens": 5000}), [CHEAP_IN, CHEAP_OUT], req) == "p.cheap-out"


def test_the_estimate_matches_the_pricing_arithmetic() -> None:
    policy = CostFirst()
    assert policy.estimated_cost(CHEAP_IN, 1000, 500) == pytest.approx(0.1 + 1.0)
    assert policy.estimated_cost(snap("p.free"), 1000, 500) == float("inf")
    assert CostFirst({"unpriced": "free"}).estimated_cost(snap("p.free"), 1000, 500) == 0.0


def test_unpriced_models_come_last_by_default_and_first_when_counted_free() -> None:
    candidates = [snap("p.unpriced"), CHEAP_IN]
    assert chosen(CostFirst(), candidates, request()) == "p.cheap-in"
    assert chosen(CostFirst({"unpriced": "free"}), candidates, request()) == "p.unpriced"


def test_equal_costs_go_to_the_lower_priority_number_then_pool_order() -> None:
    price = ModelPricing(input_per_1k=1.0, output_per_1k=1.0)
    candidates = [snap("p.a", pricing=price, priority=2), snap("p.b", pricing=price, priority=1)]
    assert chosen(CostFirst(), candidates, request()) == "p.b"
    candidates = [snap("p.a", pricing=price), snap("p.b", pricing=price)]
    assert chosen(CostFirst(), candidates, request()) == "p.a"


def test_a_cheaper_model_on_standby_is_passed_over() -> None:
    cheapest = standby("p.cheapest", pricing=ModelPricing(input_per_1k=0.0, output_per_1k=0.0))
    assert chosen(CostFirst(), [cheapest, CHEAP_IN], request()) == "p.cheap-in"
