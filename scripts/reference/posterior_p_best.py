"""Write tests/reference/posterior_p_best.json: P(best) under the hierarchical normal model.

``emoconvey.analysis.bootstrap.posterior_p_best`` integrates the between-system s.d.
:math:`\\tau` on a grid and draws :math:`(\\mu, \\theta)` from their exact conditionals.
This script computes the same posterior probabilities without sampling: numerical
quadrature over :math:`\\tau` (4,000 points) and :math:`\\mu` (trapezoid), and
Gaussian orthant probabilities for the event "system *s* is best"
(:func:`quadrature_p_best`).

Run::

    .venv/bin/python scripts/reference/posterior_p_best.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import stats

OUT = Path(__file__).resolve().parents[2] / "tests" / "reference" / "posterior_p_best.json"

CASES = {
    "four_correlated": {
        "estimates": [1.00, 1.10, 1.15, 1.40],
        "cov": [[0.010, 0.002, 0.002, 0.002], [0.002, 0.012, 0.002, 0.002],
                [0.002, 0.002, 0.009, 0.002], [0.002, 0.002, 0.002, 0.011]],
    },
    "three_close": {
        "estimates": [0.50, 0.55, 0.62],
        "cov": [[0.004, 0.0, 0.0], [0.0, 0.004, 0.0], [0.0, 0.0, 0.004]],
    },
}


def quadrature_p_best(est: np.ndarray, cov: np.ndarray, *, points: int = 4000
                      ) -> np.ndarray:
    """P(best) (smaller is better) by quadrature over tau and Gaussian orthant probabilities.

    Given :math:`\\tau`, with the flat prior on :math:`\\mu` integrated out,
    :math:`\\theta \\mid \\hat\\theta, \\tau` is Gaussian with precision
    :math:`P = \\Sigma^{-1} + (I - 11^\\top/k)/\\tau^2` and mean
    :math:`P^{-1}\\Sigma^{-1}\\hat\\theta`; P(system *s* best) is the probability that
    every :math:`\\theta_j - \\theta_s` (j != s) is positive, a multivariate normal
    orthant probability (``scipy.stats.multivariate_normal.cdf``). The weights of
    :math:`\\tau` are its marginal posterior
    :math:`N(\\hat\\theta; \\mu 1, \\Sigma + \\tau^2 I)` integrated over
    :math:`\\mu` numerically (trapezoid on a wide grid), on ``points`` midpoints of
    :math:`(0, \\tau_{max}]`.
    """
    k = len(est)
    scale = float(np.max(np.diag(cov)))
    tau_max = 10.0 * (float(est.std()) + np.sqrt(scale))
    taus = tau_max * (np.arange(points) + 0.5) / points
    mus = np.linspace(est.mean() - 3 * tau_max, est.mean() + 3 * tau_max, 4001)
    s_inv = np.linalg.inv(cov)
    centre = np.eye(k) - np.ones((k, k)) / k
    logw = np.empty(points)
    for g, tau in enumerate(taus):
        dens = stats.multivariate_normal(np.zeros(k), cov + tau**2 * np.eye(k)).logpdf(
            est[None, :] - mus[:, None])
        logw[g] = np.log(np.trapezoid(np.exp(dens - dens.max()), mus)) + dens.max()
    w = np.exp(logw - logw.max())
    w /= w.sum()
    p = np.zeros(k)
    keep = np.flatnonzero(w > 1e-7)
    for g in keep:
        prec = s_inv + centre / taus[g] ** 2
        c = np.linalg.inv(prec)
        m = c @ s_inv @ est
        for s_ in range(k):
            d = np.delete(np.eye(k), s_, axis=0) - np.eye(k)[s_]  # theta_j - theta_s
            # P(all theta_j - theta_s > 0) = P(-(theta_j - theta_s) < 0)
            p[s_] += w[g] * float(
                stats.multivariate_normal(-(d @ m), d @ c @ d.T).cdf(np.zeros(k - 1)))
    return p / w[keep].sum()


def main() -> None:
    doc: dict[str, object] = {
        "about": "P(best) (smaller is better) under theta_s ~ N(mu, tau^2), estimates ~ "
                 "N(theta, cov), flat priors on mu and tau in (0, tau_max], tau_max = 10 "
                 "(sd of estimates + largest s.e.), by quadrature "
                 "(scripts/reference/posterior_p_best.py).",
        "cases": {},
    }
    for name, case in CASES.items():
        p = quadrature_p_best(np.array(case["estimates"]), np.array(case["cov"]))
        doc["cases"][name] = {**case, "p_best": p.tolist()}  # type: ignore[index]
        print(name, np.round(p, 5), "sum", round(float(p.sum()), 6))
    OUT.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
