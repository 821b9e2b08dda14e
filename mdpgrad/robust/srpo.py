r"""Self-improving robust preference optimization (SRPO) on a tabular contextual preference bandit.

*Self-Improving Robust Preference Optimization* (Choi et al. 2024). For contexts ``x``,
responses ``y`` and a preference matrix :math:`p_x(y'\succ y)` (with
:math:`p(y\succ y)=1/2`), a generative policy :math:`\pi(y|x)` and a self-improvement policy
:math:`\pi^\dagger(y'|y,x)` play

.. math::

    \min_\pi\max_{\pi^\dagger}\ E_{x,\,y\sim\pi,\,y'\sim\pi^\dagger}\big[p_x(y'\succ y)\big]
    -\beta\,\mathrm{KL}(\pi^\dagger\|\pi^\dagger_{\mathrm{ref}})+\beta\,\mathrm{KL}(\pi\|\pi_{\mathrm{ref}}).

Derivation used here (the seed gives only the abstract; this is our derivation of the
closed forms, checked numerically by the claim): the inner best response is
:math:`\pi^{\dagger*}(y'|y,x)\propto\pi^\dagger_{\mathrm{ref}}(y'|y,x)e^{p_x(y'\succ y)/\beta}`
(Gibbs), which depends neither on :math:`\pi` nor on any data distribution; with
:math:`G(y)=\log\sum_{y'}\pi^\dagger_{\mathrm{ref}}(y'|y)e^{p(y'\succ y)/\beta}` the outer problem
gives :math:`\pi^*(y|x)\propto\pi_{\mathrm{ref}}(y|x)e^{-G_x(y)}`. Since :math:`p(y\succ y)=1/2`,

.. math:: \beta\Big[\log\tfrac{\pi^\dagger(y'|y)}{\pi^\dagger_{\mathrm{ref}}(y'|y)}
          -\log\tfrac{\pi^\dagger(y|y)}{\pi^\dagger_{\mathrm{ref}}(y|y)}\Big]=p(y'\succ y)-\tfrac12,
          \qquad \log\tfrac{\pi^*(y)}{\pi_{\mathrm{ref}}(y)}=\log\tfrac{\pi^{\dagger*}(y|y)}{\pi^\dagger_{\mathrm{ref}}(y|y)}+c,

so both policies minimize **non-adversarial squared (IPO-style) losses** on offline pairs
:math:`(y,y')\sim\mu`, with :math:`p` replaced by observed preferences (same minimizer in
expectation). Their minimizers are independent of :math:`\mu` as long as :math:`\mu` covers
all pairs -- the task-robustness claim. In log-ratio coordinates both losses are linear
least squares, solved exactly here.
"""

from __future__ import annotations

import numpy as np

from ..stats import kl_divergence

__all__ = ["srpo_closed_form", "srpo_objective", "srpo_offline", "ipo_offline"]


def _norm(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    w = np.exp(z)
    return w / w.sum(axis=-1, keepdims=True)


def srpo_closed_form(pref, ref, ref_dag, beta):
    """``(pi*, pi_dag*)``: the saddle point (module docstring). ``pref[x, y', y]``, ``ref[x, y]``,
    ``ref_dag[x, y, y']``."""
    pi_dag = _norm(np.log(ref_dag) + np.swapaxes(pref, 1, 2) / beta)  # [x, y, y']
    G = np.log(np.sum(ref_dag * np.exp(np.swapaxes(pref, 1, 2) / beta), axis=2))  # [x, y]
    pi = _norm(np.log(ref) - G)
    return pi, pi_dag


def srpo_objective(pi, pi_dag, pref, ref, ref_dag, beta, ctx):
    """The min-max objective at ``(pi, pi_dag)`` with context distribution ``ctx[x]``."""
    gain = np.einsum("xy,xyz,xzy->x", pi, pi_dag, pref)  # E_{y~pi, y'~pi_dag}[p(y' > y)]
    kl_dag = np.einsum("xy,xyz->x", pi, pi_dag * np.log(pi_dag / ref_dag))
    kl = kl_divergence(pi, ref, check=False)
    return float(ctx @ (gain - beta * kl_dag + beta * kl))


def _pair_lstsq(weights, target, n):
    """Minimize sum_{i,j} w_ij (t_i - t_j - target_ij)^2 over t (up to a constant): exact lstsq."""
    rows, rhs, sw = [], [], []
    for i in range(n):
        for j in range(n):
            if i != j and weights[i, j] > 0:
                r = np.zeros(n)
                r[i], r[j] = 1.0, -1.0
                rows.append(r)
                rhs.append(target[i, j])
                sw.append(np.sqrt(weights[i, j]))
    M = np.array(rows) * np.array(sw)[:, None]
    t, *_ = np.linalg.lstsq(M, np.array(rhs) * np.array(sw), rcond=None)
    return t


def srpo_offline(pref, ref, ref_dag, beta, mu):
    """Minimizers of the two offline squared losses under pair distribution ``mu[x, y, y']``.

    Self-improvement: per (x, y), ``u_{y'} = log pi_dag(y'|y)/ref_dag(y'|y)`` fits
    ``u_{y'} - u_y = (p(y' > y) - 1/2)/beta`` on pairs weighted by ``mu``; generative: per x,
    ``w_y = log pi(y)/ref(y)`` fits ``w_{y1} - w_{y2} = u_{y1}(y1) - u_{y2}(y2)``.
    """
    X, Y = ref.shape
    pi_dag = np.empty_like(ref_dag)
    diag = np.empty((X, Y))
    for x in range(X):
        for y in range(Y):
            # pairs (y', y): weight mu[x, y, y'] (+ symmetric), target for u_{y'} - u_y
            W = np.zeros((Y, Y))
            T = np.zeros((Y, Y))
            W[:, y] = mu[x, y, :] + mu[x, :, y]
            T[:, y] = (pref[x, :, y] - 0.5) / beta
            u = _pair_lstsq(W, T, Y)
            pi_dag[x, y] = _norm(np.log(ref_dag[x, y]) + u)
            diag[x, y] = np.log(pi_dag[x, y, y] / ref_dag[x, y, y])
    pi = np.empty_like(ref)
    for x in range(X):
        T = diag[x][:, None] - diag[x][None, :]
        w = _pair_lstsq(mu[x] + mu[x].T, T, Y)
        pi[x] = _norm(np.log(ref[x]) + w)
    return pi, pi_dag


def ipo_offline(pref, ref, beta, mu):
    r"""IPO's population minimizer (Azar et al. 2023): ``w_{y1} - w_{y2} = (p(y1 > mu) - p(y2 > mu))/beta``
    where ``p(y > mu) = E_{y'~mu}[p(y > y')]``; depends on the behavior distribution ``mu``."""
    X, Y = ref.shape
    pi = np.empty_like(ref)
    for x in range(X):
        marg = mu[x].sum(axis=0) + mu[x].sum(axis=1)
        marg = marg / marg.sum()
        s = pref[x] @ marg  # p(y > mu)
        w = _pair_lstsq(mu[x] + mu[x].T, (s[:, None] - s[None, :]) / beta, Y)
        pi[x] = _norm(np.log(ref[x]) + w)
    return pi
