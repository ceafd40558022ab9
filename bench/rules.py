"""Eligibility-rule evaluation throughput, beside a hand-written baseline.

    .venv/bin/python bench/rules.py [--candidates 200000] [--rounds 5] [--seed 7]

Prints ONE JSON document on stdout. It is a measurement, not a test: the exit status is 0
whether or not the target is met.

``python``: five realistic criteria, as JsonLogic rules compiled once with
``enroll.eligibility.jsonlogic.compile_rule``, evaluated against each of ``--candidates``
generated candidates (names, US states, manufacturer lists, metadata; some fields missing or
null, as real submissions have them). One evaluation is one candidate checked against all five
criteria. The baseline is a hand-written Python function computing the same five predicates;
both run in this one process, on one core, alternately for ``--rounds`` rounds, and the median
round is reported (``evaluations_per_s`` from wall time, ``evaluations_per_cpu_s`` from this
process's CPU time). The run first checks that both give the same results for every candidate.
``apply_evaluations_per_s`` is the convenience path, ``apply(rule, candidate)`` per criterion
(its cache costs a canonical-JSON key per call), over a tenth of the candidates.
``target_met``: the compiled rules reach TARGET_EVALUATIONS_PER_S.

A later section (``sql``: the same criteria compiled to SQL) will sit beside ``python``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from enroll.eligibility.jsonlogic import apply, compile_rule, truthy, validate_rule

TARGET_EVALUATIONS_PER_S = 50_000

STATES = ["CA", "NY", "MA", "NJ", "TX", "AZ", "CO", "FL", "WA", "OR", "IL", "NV", "HI", "VT"]
PROGRAM_STATES = ["CA", "NY", "MA", "NJ", "AZ", "CO", "HI"]
MANUFACTURERS = ["tesla", "enphase", "lg", "sonnen", "generac", "solaredge", "franklin", "sunpower"]
PROGRAM_MANUFACTURERS = ["tesla", "enphase", "sonnen"]
FIRST = ["Suzie", "Ana", "Omar", "Li", "Jamal", "Priya", "Chen", "Maria", "John", "Fatima"]
LAST = ["Homeowner", "Garcia", "Nguyen", "Smith", "Okafor", "Patel", "Kim", "Rossi", "Cohen"]

CRITERIA: dict[str, Any] = {
    "service_area": {"in": [{"var": "address.state"}, PROGRAM_STATES]},
    "equipment": {
        "some": [{"var": "manufacturerSlugs"}, {"in": [{"var": ""}, PROGRAM_MANUFACTURERS]}]
    },
    "battery_size": {">=": [{"var": "metadata.batteryCapacityKwh"}, 10]},
    "not_enrolled_elsewhere": {"!": {"var": "metadata.enrolledElsewhere"}},
    "income_band": {
        "and": [
            {">=": [{"var": "metadata.householdIncome"}, 20000]},
            {"<": [{"var": "metadata.householdIncome"}, 150000]},
        ]
    },
}


def baseline(c: dict[str, Any]) -> list[bool]:
    """The five criteria written by hand (what JsonLogic's semantics give for these data)."""
    address = c.get("address")
    state = address.get("state") if isinstance(address, dict) else None
    slugs = c.get("manufacturerSlugs")
    metadata = c.get("metadata")
    meta = metadata if isinstance(metadata, dict) else {}
    size = meta.get("batteryCapacityKwh")
    income = meta.get("householdIncome")
    return [
        state in PROGRAM_STATE_SET,
        isinstance(slugs, list) and any(s in PROGRAM_MANUFACTURER_SET for s in slugs),
        isinstance(size, int | float) and not isinstance(size, bool) and size >= 10,
        not meta.get("enrolledElsewhere"),
        isinstance(income, int | float)
        and not isinstance(income, bool)
        and 20000 <= income < 150000,
    ]


PROGRAM_STATE_SET = frozenset(PROGRAM_STATES)
PROGRAM_MANUFACTURER_SET = frozenset(PROGRAM_MANUFACTURERS)


def candidate(rng: random.Random, i: int) -> dict[str, Any]:
    slugs = rng.sample(MANUFACTURERS, rng.choice([0, 1, 1, 1, 2, 2, 3]))
    metadata: dict[str, Any] = {
        "batteryCapacityKwh": rng.choice([5, 6.5, 9.8, 10, 13.5, 13.5, 20, 27]),
        "householdIncome": rng.randrange(8_000, 260_000, 500),
        "enrolledElsewhere": rng.random() < 0.15,
        "utility": rng.choice(["pge", "sce", "coned", "nationalgrid", "xcel"]),
    }
    if rng.random() < 0.05:
        del metadata["householdIncome"]
    if rng.random() < 0.03:
        metadata["batteryCapacityKwh"] = None
    return {
        "firstName": rng.choice(FIRST),
        "lastName": rng.choice(LAST),
        "email": f"person{i}@example.com",
        "address": {
            "streetOne": f"{rng.randrange(1, 9999)} Main St",
            "city": "Springfield",
            "state": rng.choice(STATES),
            "postalCode": f"{rng.randrange(10000, 99999)}",
            "country": "USA",
        },
        "manufacturerSlugs": slugs if rng.random() > 0.02 else None,
        "metadata": metadata,
    }


def timed(run: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_python(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    candidates = [candidate(rng, i) for i in range(args.candidates)]
    for rule in CRITERIA.values():
        validate_rule(rule)
    rules = [compile_rule(rule) for rule in CRITERIA.values()]

    def compiled(c: dict[str, Any]) -> list[bool]:
        return [truthy(rule(c)) for rule in rules]

    mismatches = sum(compiled(c) != baseline(c) for c in candidates)

    def run_compiled() -> None:
        for c in candidates:
            compiled(c)

    def run_baseline() -> None:
        for c in candidates:
            baseline(c)

    sample = candidates[: max(1, args.candidates // 10)]
    criteria = list(CRITERIA.values())

    def run_apply() -> None:
        for c in sample:
            [truthy(apply(rule, c)) for rule in criteria]

    rounds: list[dict[str, float]] = []
    for _ in range(args.rounds):
        (c_wall, c_cpu), (b_wall, b_cpu) = timed(run_compiled), timed(run_baseline)
        a_wall, _ = timed(run_apply)
        rounds.append(
            {
                "compiled_per_s": args.candidates / c_wall,
                "compiled_per_cpu_s": args.candidates / c_cpu,
                "baseline_per_s": args.candidates / b_wall,
                "baseline_per_cpu_s": args.candidates / b_cpu,
                "apply_per_s": len(sample) / a_wall,
            }
        )
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    eligible = sum(all(baseline(c)) for c in candidates)
    return {
        "criteria": CRITERIA,
        "candidates": args.candidates,
        "eligible_candidates": eligible,
        "rounds": args.rounds,
        "results_agree": mismatches == 0,
        "compiled": {
            "evaluations_per_s": round(median["compiled_per_s"]),
            "evaluations_per_cpu_s": round(median["compiled_per_cpu_s"]),
            "us_per_evaluation": round(1e6 / median["compiled_per_s"], 2),
        },
        "baseline": {
            "evaluations_per_s": round(median["baseline_per_s"]),
            "evaluations_per_cpu_s": round(median["baseline_per_cpu_s"]),
            "us_per_evaluation": round(1e6 / median["baseline_per_s"], 2),
        },
        "ratio": round(median["compiled_per_s"] / median["baseline_per_s"], 3),
        # apply(rule, data) per criterion: the cached convenience path (a JSON key per call)
        "apply_evaluations_per_s": round(median["apply_per_s"]),
        "target_evaluations_per_s": TARGET_EVALUATIONS_PER_S,
        "target_met": median["compiled_per_s"] >= TARGET_EVALUATIONS_PER_S,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--candidates", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    report = {
        "environment": {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "machine": platform.machine(),
        },
        "python": bench_python(args),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
