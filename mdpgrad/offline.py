r"""Offline value learning from a behaviour policy's support, and multi-agent gradient moments.

* :func:`expectile` -- the :math:`\tau`-expectile of a discrete distribution, the unique :math:`m` with
  :math:`\sum_a \pi(a)\,|\tau - 1\{q_a < m\}|\,(q_a - m) = 0` (Newey and Powell 1987). :math:`\tau = 1/2` is
  the mean; :math:`\tau\to 1` the maximum over the support of :math:`\pi`.
* :func:`expectile_value_iteration` -- Implicit Q-Learning's fixed point ("Offline Reinforcement Learning
  with Implicit Q-Learning"): :math:`Q(s,a) = r(s,a) + \gamma\sum_{s'}P(s'|s,a)V(s')`,
  :math:`V(s) = \mathrm{expectile}_\tau(Q(s,\cdot);\pi_\beta(\cdot|s))`. Only ``(s, a)`` in the support of
  :math:`\pi_\beta` enter ``V`` (no out-of-distribution action is ever evaluated). The operator is monotone
  and translation-equivariant, hence a :math:`\gamma`-contraction.
* :func:`support_optimal_values` -- the in-support optimum: value iteration with
  :math:`\max_{a\in\mathrm{supp}\,\pi_\beta(s)}`, the :math:`\tau\to1` limit of IQL.
* :func:`agent_gradient_moments` -- exact mean and covariance of one agent's REINFORCE gradient in an
  ``N``-agent one-shot game with independent Bernoulli-logit policies, with no baseline or the centralized
  counterfactual baseline :math:`b(a_{-i}) = E_{a_i'}[R(a_i', a_{-i})]` (a centralized critic, "Multi-Agent
  Actor-Critic for Mixed Cooperative-Competitive Environments"; COMA). Joint actions are enumerated.
* :func:`dataset_reset_rho` -- the start distribution of Dataset Reset Policy Optimization ("Dataset Reset
  Policy Optimization for RLHF"): with probability ``mix`` reset to a state of the offline data (the discounted
  state occupancy of the data policy from ``rho``), else start from ``rho``.
* :func:`combination_lock` -- the exploration-hard chain of offline-RL papers: ``H`` levels, one secret
  action per level advances, every other action falls into an absorbing dead state, reward 1 on opening the
  last level; from the start a uniform policy reaches the reward with probability ``A^{-H}``.
* :func:`dice_value_gradients` / :func:`orthogonal_gradient` -- the DICE value objective
  :math:`L(V) = (1-\gamma)\rho^\top V + \alpha\,E_D[f^*((r + \gamma V(s') - V(s))/\alpha)]` with
  :math:`f^*(y) = \max(0, 1 + y/2)^2 - 1` (conjugate of the :math:`\chi^2` generator :math:`(x-1)^2` on
  :math:`x \ge 0`, i.e. non-negative correction weights), split into its
  forward gradient (through :math:`V(s)` and :math:`\rho`) and backward gradient (through :math:`V(s')`); O-DICE
  adds only the backward component orthogonal to the forward one, :math:`g = g_f + \eta(g_b -
  \frac{\langle g_b, g_f\rangle}{\|g_f\|^2} g_f)`, so :math:`\langle g, g_f\rangle = \|g_f\|^2` ("ODICE:
  Revealing the Mystery of Distribution Correction Estimation via Orthogonal-gradient Update").
* :func:`chi2_occupancy_optimum` -- :math:`\max_d \langle d, r\rangle - \lambda\chi^2(d\|d_b)` over normalized
  state-action occupancy measures (Bellman flow constraints), a convex QP; :func:`kl_regularized_policy` --
  :math:`\max_\pi V_r^\pi - \lambda E_{d^\pi}[KL(\pi(\cdot|s)\|\pi_b(\cdot|s))]` by soft value iteration with
  reference :math:`\pi_b` ("Correlated Proxies: A New Definition and Improved Mitigation for Reward Hacking"
  compares the two regularizers). :func:`occupancy_measure` gives :math:`d^\pi(s,a)`.
* :func:`hybrid_critic` -- the critic of Hybrid NPG ("Offline Data Enhanced On-Policy Policy Gradient with
  Provable Guarantees"): linear :math:`Q \approx \phi^\top w` fitted on the *sum* of an on-policy regression loss
  (samples :math:`(s_i, a_i) \sim \nu^\pi` with return targets :math:`y_i`) and an off-policy TD loss on the
  offline distribution :math:`\mu`; the stationarity condition is the sum of the two normal equations,
  :math:`(\tfrac1M\Phi_S^\top\Phi_S + \Phi^\top D_\mu(\Phi - \gamma P^\pi\Phi) + \epsilon I)w =
  \tfrac1M\Phi_S^\top y + \Phi^\top D_\mu r` (``mode="hybrid"``); ``"on"`` keeps only the regression (NPG's
  critic), ``"off"`` only the TD fixed point (LSTD on :math:`\mu`, an offline critic).
* :func:`behaviour_cloning` -- the smoothed maximum-likelihood tabular policy from demonstrations,
  :math:`\pi_{BC}(a|s) = (n(s,a) + \alpha)/(n(s) + \alpha A)` (add-:math:`\alpha` smoothing keeps
  :math:`KL(\pi_E\|\pi_{BC})` finite; for a deterministic expert :math:`KL = \log\frac{n(s)+\alpha A}{n(s)+\alpha}
  \approx \alpha(A-1)/n(s)`, the :math:`1/N^E` rate behind "Demonstration-Regularized RL", whose RL stage
  is :func:`kl_regularized_policy` with ``pi_base`` the cloned policy).
"""

from __future__ import annotations

import itertools

import numpy as np

from .errors import InvalidInputError
from .exact import check_policy
from .mdp import as_mdp
from .validation import as_float_array, check_positive_int

__all__ = ["expectile", "expectile_value_iteration", "support_optimal_values", "agent_gradient_moments",
           "dataset_reset_rho", "combination_lock", "dice_value_gradients", "orthogonal_gradient",
           "dice_value_descent", "occupancy_measure", "chi2_occupancy_optimum", "kl_regularized_policy",
           "behaviour_cloning", "hybrid_critic"]


def _check_tau(tau):
    if not (np.isfinite(tau) and 0 < tau < 1):
        raise InvalidInputError(f"tau = {tau!r} must lie in (0, 1) (0.5 is the mean, tau -> 1 the maximum).")
    return float(tau)


def expectile(values, probs, tau: float):
    r"""``tau``-expectile of ``values[..., n]`` under ``probs[..., n]`` (along the last axis), exactly.

    Entries with zero probability are never read (they may be ``nan``)."""
    tau = _check_tau(tau)
    q = np.asarray(values, dtype=np.float64)
    p = as_float_array(probs, "probs")
    if q.shape != p.shape:
        raise InvalidInputError(f"probs: shape {p.shape} must equal values' shape {q.shape}.")
    if (p < 0).any() or not np.allclose(p.sum(-1), 1.0, atol=1e-9):
        raise InvalidInputError("probs: each row must be a probability vector (>= 0, summing to 1).")
    if not np.all(np.isfinite(q[p > 0])):
        raise InvalidInputError("values: every value with positive probability must be finite.")
    return _expectile(q, p, tau)


def _expectile(q, p, tau):
    """:func:`expectile` without validation (inner loops)."""
    sup = p > 0
    big = np.max(np.where(sup, q, -np.inf), axis=-1, keepdims=True)
    x = np.where(sup, q, big)  # unsupported entries: a zero-weight copy of the maximum (never decisive)
    order = np.argsort(x, axis=-1)
    x = np.take_along_axis(x, order, -1)
    w = np.take_along_axis(p, order, -1)
    # f(m) = sum w |tau - 1{x < m}| (x - m) is decreasing and piecewise linear; on (x_{k-1}, x_k] the points
    # 0..k-1 lie below m and the root of that piece is m_k = a_wx / a_w
    zeros = np.zeros(x.shape[:-1] + (1,))
    bw = np.concatenate([zeros, np.cumsum(w, -1)[..., :-1]], -1)
    bwx = np.concatenate([zeros, np.cumsum(w * x, -1)[..., :-1]], -1)
    tw, twx = np.sum(w, -1, keepdims=True), np.sum(w * x, -1, keepdims=True)
    a_w = (1 - tau) * bw + tau * (tw - bw)
    m = ((1 - tau) * bwx + tau * (twx - bwx)) / a_w
    lo = np.concatenate([np.full(zeros.shape, -np.inf), x[..., :-1]], -1)
    ok = (lo <= m) & (m <= x)
    k = np.argmax(ok, axis=-1)[..., None]
    out = np.where(np.any(ok, -1), np.take_along_axis(m, k, -1)[..., 0], x[..., -1])
    return out


def _backup(m, V):
    S, A = m.r.shape
    return m.r + m.gamma * (m.P.reshape(S * A, S) @ V).reshape(S, A)


def expectile_value_iteration(mdp, pi_b, tau: float, *, tol: float = 1e-12, max_iter: int = 100_000):
    """IQL's exact fixed point ``(Q, V)`` by iterating the expectile backup (module docstring) to ``tol``
    in sup norm. ``Q`` is returned on every ``(s, a)`` (a one-step backup of ``V``); ``V`` reads only the
    support of ``pi_b``."""
    m = as_mdp(mdp)
    S, A = m.r.shape
    pi_b = check_policy(np.asarray(pi_b, dtype=np.float64), S, A, name="pi_b")
    tau = _check_tau(tau)
    V = np.zeros(S)
    for _ in range(max_iter):
        Q = _backup(m, V)
        V_new = _expectile(Q, pi_b, tau)
        if np.max(np.abs(V_new - V)) <= tol * (1 - m.gamma):
            return _backup(m, V_new), V_new
        V = V_new
    raise InvalidInputError(f"max_iter = {max_iter}: expectile value iteration did not reach tol = {tol}.")


def support_optimal_values(mdp, support, *, tol: float = 1e-12, max_iter: int = 100_000):
    """Value iteration restricted to ``support[s, a]`` (bool): ``V(s) = max_{a in support(s)} Q(s, a)``."""
    m = as_mdp(mdp)
    S, A = m.r.shape
    sup = np.asarray(support, dtype=bool)
    if sup.shape != (S, A) or not sup.any(axis=1).all():
        raise InvalidInputError(f"support: expected a bool array {(S, A)} with at least one action per state.")
    V = np.zeros(S)
    for _ in range(max_iter):
        V_new = np.where(sup, _backup(m, V), -np.inf).max(axis=1)
        if np.max(np.abs(V_new - V)) <= tol * (1 - m.gamma):
            return _backup(m, V_new), V_new
        V = V_new
    raise InvalidInputError(f"max_iter = {max_iter}: value iteration did not reach tol = {tol}.")


def agent_gradient_moments(reward_fn, probs, agent: int = 0, *, baseline: str = "none"):
    r"""Exact mean and second moment of agent ``agent``'s logit-gradient estimate
    :math:`g = (R(a) - b)\,(a_i - p_i)` over joint actions :math:`a\in\{0,1\}^N`, :math:`a_j\sim
    \mathrm{Bernoulli}(p_j)` independently.

    ``reward_fn(a)`` maps a joint action (tuple of 0/1) to a reward; ``baseline`` is ``"none"`` or
    ``"counterfactual"`` (:math:`b = E_{a_i'\sim p_i}R(a_i', a_{-i})`, a centralized critic). Returns
    ``(mean, second_moment, variance)``.
    """
    p = as_float_array(probs, "probs", ndim=1)
    N = p.size
    if ((p <= 0) | (p >= 1)).any():
        raise InvalidInputError("probs: each agent's probability of action 1 must lie in (0, 1).")
    agent = check_positive_int(agent + 1, "agent + 1") - 1
    if agent >= N:
        raise InvalidInputError(f"agent = {agent} is not one of the {N} agents.")
    if baseline not in ("none", "counterfactual"):
        raise InvalidInputError(f"baseline = {baseline!r}: choose 'none' or 'counterfactual'.")
    if N > 20:
        raise InvalidInputError(f"probs: {N} agents means 2^{N} joint actions; enumeration is limited to 20.")
    mean = second = 0.0
    for a in itertools.product((0, 1), repeat=N):
        w = float(np.prod(np.where(np.array(a) == 1, p, 1 - p)))
        R = float(reward_fn(a))
        b = 0.0
        if baseline == "counterfactual":
            a0 = a[:agent] + (0,) + a[agent + 1:]
            a1 = a[:agent] + (1,) + a[agent + 1:]
            b = (1 - p[agent]) * float(reward_fn(a0)) + p[agent] * float(reward_fn(a1))
        g = (R - b) * (a[agent] - p[agent])
        mean += w * g
        second += w * g * g
    return mean, second, second - mean * mean


def dataset_reset_rho(mdp, pi_data, mix: float = 0.5):
    r""":math:`(1-m)\rho + m\, d^{\pi_{data}}_\rho` (see module docstring)."""
    from .exact import evaluate

    m = as_mdp(mdp)
    if not (np.isfinite(mix) and 0 <= mix <= 1):
        raise InvalidInputError(f"mix = {mix!r} must lie in [0, 1] (the probability of resetting to the data).")
    S, A = m.r.shape
    pi = check_policy(np.asarray(pi_data, dtype=np.float64), S, A, name="pi_data")
    d = evaluate(m, pi).occupancy
    return (1 - mix) * m.rho + mix * d


def combination_lock(H: int, n_actions: int = 3, *, gamma: float = 0.95, seed=0):
    """``(mdp, key)``: states ``0..H-1`` (levels), ``H`` (goal, absorbing) and ``H+1`` (dead, absorbing);
    ``key[s]`` is the action that advances from level ``s``; ``rho = e_0``."""
    from .mdp import TabularMDP
    from .validation import as_generator

    H = check_positive_int(H, "H")
    A = check_positive_int(n_actions, "n_actions", minimum=2)
    rng = as_generator(seed)
    S, goal, dead = H + 2, H, H + 1
    key = rng.integers(0, A, H)
    P = np.zeros((S, A, S))
    r = np.zeros((S, A))
    P[np.arange(H), :, dead] = 1.0
    P[np.arange(H), key, dead] = 0.0
    P[np.arange(H), key, np.arange(1, H + 1)] = 1.0
    r[H - 1, key[H - 1]] = 1.0
    P[goal, :, goal] = 1.0
    P[dead, :, dead] = 1.0
    rho = np.zeros(S)
    rho[0] = 1.0
    return TabularMDP(P, r, gamma, rho, name=f"combination_lock(H={H})"), key


def dice_value_gradients(V, s, r, s_next, weights, rho, gamma: float, alpha: float = 1.0):
    """``(loss, g_forward, g_backward)`` of the DICE value objective (module docstring) over transitions
    ``(s[i], r[i], s_next[i])`` with weights ``weights[i]`` (summing to 1)."""
    V = as_float_array(V, "V", ndim=1)
    s, s_next = np.asarray(s), np.asarray(s_next)
    r = as_float_array(r, "r", ndim=1)
    w = as_float_array(weights, "weights", ndim=1)
    rho = as_float_array(rho, "rho", ndim=1)
    if not (s.shape == s_next.shape == r.shape == w.shape):
        raise InvalidInputError("s, r, s_next, weights: one entry per transition (equal lengths).")
    if rho.shape != V.shape:
        raise InvalidInputError(f"rho: shape {rho.shape} must equal V's shape {V.shape}.")
    if not (0 <= gamma < 1) or not alpha > 0:
        raise InvalidInputError(f"gamma = {gamma!r} must lie in [0, 1) and alpha = {alpha!r} be > 0.")
    return _dice_grads(V, s, r, s_next, w, rho, gamma, alpha)


def _dice_grads(V, s, r, s_next, w, rho, gamma, alpha):
    y = (r + gamma * V[s_next] - V[s]) / alpha
    pos = np.maximum(1 + y / 2, 0.0)
    loss = float((1 - gamma) * rho @ V + alpha * np.sum(w * (pos * pos - 1)))
    fp = w * pos  # f*'(y); the alpha of the objective cancels the 1/alpha of dy/dV
    g_f = (1 - gamma) * rho - np.bincount(s, weights=fp, minlength=V.size)
    g_b = gamma * np.bincount(s_next, weights=fp, minlength=V.size)
    return loss, g_f, g_b


def orthogonal_gradient(g_forward, g_backward, eta: float = 1.0):
    """O-DICE's update direction ``g_f + eta * (g_b - <g_b, g_f>/||g_f||^2 g_f)`` (``g_f`` alone if it is 0)."""
    gf = as_float_array(g_forward, "g_forward")
    gb = as_float_array(g_backward, "g_backward")
    if gf.shape != gb.shape:
        raise InvalidInputError(f"g_backward: shape {gb.shape} must equal g_forward's shape {gf.shape}.")
    nf = float(gf.ravel() @ gf.ravel())
    if nf == 0.0:
        return gf.copy()
    return gf + eta * (gb - (gb.ravel() @ gf.ravel()) / nf * gf)


DICE_RULES = ("orthogonal", "semi", "full")


def dice_value_descent(s, r, s_next, weights, rho, gamma: float, *, rule: str = "orthogonal", steps: int = 3000,
                       lr: float = 0.5, alpha: float = 1.0, eta: float = 1.0):
    """Descend the DICE value objective from ``V = 0`` with the ``rule`` direction: ``"orthogonal"`` (O-DICE),
    ``"semi"`` (forward gradient only) or ``"full"`` (true gradient). Returns ``(V, V_at_3/4, max_identity_err,
    forward_ratio)`` where ``V_at_3/4`` is the iterate at step ``3 steps / 4``, the identity error is
    ``max_t |<g_t, g_f> - ||g_f||^2| / ||g_f||^2`` (0 unless orthogonal) and ``forward_ratio`` is
    ``||g_f(V_T)|| / ||g_f(0)||``."""
    if rule not in DICE_RULES:
        raise InvalidInputError(f"rule = {rule!r} is not known; choose one of {DICE_RULES}.")
    steps = check_positive_int(steps, "steps", minimum=4)
    rho = as_float_array(rho, "rho", ndim=1)
    V = np.zeros(rho.size)
    dice_value_gradients(V, s, r, s_next, weights, rho, gamma, alpha)  # validates once
    s, s_next = np.asarray(s), np.asarray(s_next)
    r, w = np.asarray(r, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    err, V_mid, nf0 = 0.0, None, None
    for t in range(steps):
        _, gf, gb = _dice_grads(V, s, r, s_next, w, rho, gamma, alpha)
        nf0 = np.linalg.norm(gf) if nf0 is None else nf0
        if rule == "semi":
            g = gf
        elif rule == "full":
            g = gf + gb
        else:
            g = orthogonal_gradient(gf, gb, eta)
            nf = gf @ gf
            if nf > 0:
                err = max(err, abs(g @ gf - nf) / nf)
        V = V - lr * g
        if t == (3 * steps) // 4 - 1:
            V_mid = V.copy()
    gf_end = _dice_grads(V, s, r, s_next, w, rho, gamma, alpha)[1]
    return V, V_mid, err, float(np.linalg.norm(gf_end) / nf0) if nf0 > 0 else 0.0


def occupancy_measure(mdp, pi):
    """Normalized discounted state-action occupancy ``d[s, a] = d^pi(s) pi(a|s)`` (sums to 1)."""
    from .exact import evaluate

    m = as_mdp(mdp)
    S, A = m.r.shape
    pi = check_policy(np.asarray(pi, dtype=np.float64), S, A)
    return evaluate(m, pi).occupancy[:, None] * pi


def chi2_occupancy_optimum(mdp, d_base, reward, lam: float):
    """The occupancy ``d[s, a]`` maximizing ``<d, reward> - lam * sum (d - d_base)^2 / d_base`` subject to the
    Bellman flow constraints of ``mdp`` (SLSQP; ``d_base`` must be positive everywhere)."""
    import scipy.optimize

    m = as_mdp(mdp)
    S, A = m.r.shape
    db = as_float_array(d_base, "d_base", ndim=2).ravel()
    r = as_float_array(reward, "reward", ndim=2).ravel()
    if db.size != S * A or r.size != S * A:
        raise InvalidInputError(f"d_base, reward: expected shape {(S, A)}.")
    if not (db > 0).all():
        raise InvalidInputError("d_base: chi^2 to the base occupancy needs d_base > 0 on every (s, a).")
    if not (np.isfinite(lam) and lam > 0):
        raise InvalidInputError(f"lam = {lam!r} must be a finite number > 0.")
    Aeq = np.zeros((S, S * A))
    for s in range(S):
        Aeq[s, s * A:(s + 1) * A] += 1.0
    Aeq -= m.gamma * m.P.reshape(S * A, S).T
    beq = (1 - m.gamma) * m.rho
    res = scipy.optimize.minimize(lambda x: -(x @ r) + lam * np.sum((x - db) ** 2 / db), db,
                                  jac=lambda x: -r + 2 * lam * (x - db) / db, method="SLSQP",
                                  constraints=[{"type": "eq", "fun": lambda x: Aeq @ x - beq, "jac": lambda x: Aeq}],
                                  bounds=[(0.0, None)] * (S * A), options={"ftol": 1e-14, "maxiter": 1000})
    return np.maximum(res.x, 0.0).reshape(S, A)


def kl_regularized_policy(mdp, pi_base, reward, lam: float, *, tol: float = 1e-12, max_iter: int = 100_000):
    """The policy maximizing ``V_reward^pi - lam * E_{d^pi}[KL(pi(.|s) || pi_base(.|s))]`` (soft value iteration:
    ``V = lam log sum_a pi_base e^{Q/lam}``, ``pi = pi_base e^{(Q - V)/lam}``)."""
    m = as_mdp(mdp)
    S, A = m.r.shape
    pb = check_policy(np.asarray(pi_base, dtype=np.float64), S, A, name="pi_base")
    r = as_float_array(reward, "reward", ndim=2)
    if r.shape != (S, A):
        raise InvalidInputError(f"reward: expected shape {(S, A)}, got {r.shape}.")
    if not (np.isfinite(lam) and lam > 0):
        raise InvalidInputError(f"lam = {lam!r} must be a finite number > 0.")
    V = np.zeros(S)
    with np.errstate(divide="ignore"):
        lpb = np.log(pb)
    for _ in range(max_iter):
        Q = r + m.gamma * (m.P.reshape(S * A, S) @ V).reshape(S, A)
        x = lpb + Q / lam
        mx = x.max(1, keepdims=True)
        V_new = lam * (mx[:, 0] + np.log(np.exp(x - mx).sum(1)))
        if np.max(np.abs(V_new - V)) <= tol * (1 - m.gamma):
            V = V_new
            break
        V = V_new
    Q = r + m.gamma * (m.P.reshape(S * A, S) @ V).reshape(S, A)
    pi = pb * np.exp(np.minimum((Q - V[:, None]) / lam, 700))
    return pi / pi.sum(1, keepdims=True)


def behaviour_cloning(states, actions, n_states: int, n_actions: int, *, smoothing: float = 1.0, mask=None):
    """Tabular behaviour cloning with add-``smoothing`` counts: ``pi[s, a] = (n(s,a) + alpha) / (n(s) + alpha A)``.

    ``states`` / ``actions`` are integer arrays of equal shape (e.g. a :class:`mdpgrad.rollouts.Rollouts`'s
    ``states[:, :T]`` and ``actions``); ``mask`` (same shape, bool) selects the valid steps."""
    S = check_positive_int(n_states, "n_states")
    A = check_positive_int(n_actions, "n_actions")
    st = np.asarray(states)
    ac = np.asarray(actions)
    if st.shape != ac.shape:
        raise InvalidInputError(f"actions: shape {ac.shape} must equal states' shape {st.shape}.")
    if not (np.isfinite(smoothing) and smoothing > 0):
        raise InvalidInputError(f"smoothing = {smoothing!r} must be a finite number > 0 (it keeps KL finite).")
    keep = np.ones(st.shape, bool) if mask is None else np.asarray(mask, bool)
    if keep.shape != st.shape:
        raise InvalidInputError(f"mask: shape {keep.shape} must equal states' shape {st.shape}.")
    s_, a_ = st[keep].astype(np.int64), ac[keep].astype(np.int64)
    if s_.size and (s_.min() < 0 or s_.max() >= S):
        raise InvalidInputError(f"states: values must lie in [0, {S}); got {s_.min()}..{s_.max()}.")
    if a_.size and (a_.min() < 0 or a_.max() >= A):
        raise InvalidInputError(f"actions: values must lie in [0, {A}); got {a_.min()}..{a_.max()}.")
    counts = np.bincount(s_ * A + a_, minlength=S * A).reshape(S, A).astype(np.float64) + smoothing
    return counts / counts.sum(1, keepdims=True)


HYBRID_MODES = ("hybrid", "on", "off")


def hybrid_critic(mdp, phi, pi, mode: str = "hybrid", *, sa=None, y=None, mu=None, ridge: float = 1e-6):
    """Critic weights ``w[d]`` (see module docstring). ``phi[S, A, d]``; ``sa`` = (states, actions) int arrays of
    the on-policy samples with targets ``y``; ``mu[S, A]`` the offline state-action distribution."""
    m = as_mdp(mdp)
    S, A = m.r.shape
    F = as_float_array(phi, "phi", ndim=3)
    if F.shape[:2] != (S, A):
        raise InvalidInputError(f"phi: expected shape ({S}, {A}, d), got {F.shape}.")
    if mode not in HYBRID_MODES:
        raise InvalidInputError(f"mode = {mode!r}: choose one of {HYBRID_MODES}.")
    pi = check_policy(np.asarray(pi, dtype=np.float64), S, A)
    if not (np.isfinite(ridge) and ridge > 0):
        raise InvalidInputError(f"ridge = {ridge!r} must be a finite number > 0.")
    d = F.shape[2]
    Phi = F.reshape(S * A, d)
    M = ridge * np.eye(d)
    b = np.zeros(d)
    if mode in ("hybrid", "on"):
        if sa is None or y is None:
            raise InvalidInputError("sa, y: the on-policy samples and their targets are needed for this mode.")
        st, ac = np.asarray(sa[0]), np.asarray(sa[1])
        yy = as_float_array(y, "y", ndim=1)
        if st.shape != yy.shape or ac.shape != yy.shape or yy.size == 0:
            raise InvalidInputError(f"sa, y: need equal, non-empty lengths; got {st.shape}, {ac.shape}, {yy.shape}.")
        Fs = F[st, ac]
        M = M + Fs.T @ Fs / yy.size
        b = b + Fs.T @ yy / yy.size
    if mode in ("hybrid", "off"):
        if mu is None:
            raise InvalidInputError("mu: the offline state-action distribution is needed for this mode.")
        D = as_float_array(mu, "mu", ndim=2)
        if D.shape != (S, A) or (D < 0).any() or not np.isclose(D.sum(), 1.0):
            raise InvalidInputError(f"mu: expected a distribution of shape ({S}, {A}).")
        next_phi = np.einsum("sat,tb,tbd->sad", m.P, pi, F).reshape(S * A, d)  # E[phi(s', a') | s, a]
        Dw = D.reshape(-1)[:, None]
        M = M + Phi.T @ (Dw * (Phi - m.gamma * next_phi))
        b = b + Phi.T @ (Dw[:, 0] * m.r.reshape(-1))
    return np.linalg.solve(M, b)
