"""The claims engine: violated bounds are reported violated; rate fits recover known exponents."""

from __future__ import annotations

import numpy as np
import pytest

from mdpgrad.claims import Verdict, claim, holds_if, parse_bound, run_claim
from mdpgrad.rates import compare_exponent, fit_exponential, fit_power_law


def _synthetic(decay_exponent):
    @claim(id=f"synthetic-{decay_exponent}", paper="(test)", topic="exact-pg",
           statement="gap <= 1/t", bound="1/t", instance="synthetic")
    def check(budget, rng):
        t = np.arange(1, 200)
        gap = 2.0 * t ** (-decay_exponent)
        fit = fit_power_law(t, gap)
        v = compare_exponent(fit, -1.0, sided="upper")
        bound_ok = holds_if(np.all(gap <= 1.0 / t))
        return Verdict(predicted=-1.0, measured=fit.slope, ci=fit.ci,
                       verdict="violated" if "violated" in (v, bound_ok) else "holds")

    return check


def test_synthetic_violated_claim_is_reported_violated():
    rec = run_claim(_synthetic(0.5), "quick")
    assert rec.verdict.verdict == "violated"
    assert rec.as_json()["verdict"] == "violated"


def test_synthetic_claim_with_error_reports_error():
    @claim(id="synthetic-error", paper="(test)", topic="exact-pg", statement="raises")
    def bad(budget, rng):
        raise RuntimeError("boom")

    rec = run_claim(bad, "quick")
    assert rec.verdict.verdict == "error" and "boom" in rec.error


def test_parse_bound_treats_gamma_and_S_as_symbols():
    e = parse_bound("16*S/(c**2*(1-gamma)**6*t)")
    assert {str(s) for s in e.free_symbols} == {"S", "c", "gamma", "t"}
    assert float(e.subs({"S": 2, "c": 1, "gamma": 0.5, "t": 4})) == pytest.approx(16 * 2 / (0.5**6 * 4))


@pytest.mark.parametrize("alpha", [-1.0, -0.5])
def test_power_law_fit_recovers_exponent(alpha):
    t = np.arange(1, 2001, dtype=float)
    exact = fit_power_law(t, 3.0 * t**alpha)
    assert abs(exact.slope - alpha) < 1e-10
    # Multiplicative log-normal noise (sd 0.05, fixed seed): the 95% CI must cover alpha.
    rng = np.random.default_rng(0)
    noisy = fit_power_law(t, 3.0 * t**alpha * np.exp(0.05 * rng.normal(size=t.size)))
    assert noisy.covers(alpha)
    assert compare_exponent(noisy, alpha, sided="two") == "holds"


def test_exponential_fit_recovers_rate():
    t = np.arange(0, 200, dtype=float)
    exact = fit_exponential(t, 0.9**t)
    assert abs(exact.rate - 0.9) < 1e-10
    rng = np.random.default_rng(1)
    noisy = fit_exponential(t, 0.9**t * np.exp(0.05 * rng.normal(size=t.size)))
    assert noisy.covers(np.log(0.9))
    # A slower decay (0.95) must be reported violated against a predicted rate 0.9 (upper-sided).
    slow = fit_exponential(t, 0.95**t * np.exp(0.05 * rng.normal(size=t.size)))
    assert compare_exponent(slow, np.log(0.9), sided="upper") == "violated"


def test_fit_window_drops_floor():
    t = np.arange(0, 400, dtype=float)
    y = np.maximum(0.8**t, 1e-16)
    fit = fit_exponential(t, y)
    assert abs(fit.rate - 0.8) < 1e-8  # the 1e-16 plateau is excluded by the floor rule
