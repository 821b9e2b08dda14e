"""Numba kernel of :func:`mdpgrad.online.ucb_pulls` (one optimistic bandit run per replicate)."""

import numba as nb
import numpy as np


@nb.njit(cache=True)
def ucb_pulls_kernel(means, noise_u, stochastic, bernstein, log_term):  # pragma: no cover - compiled
    R, K = noise_u.shape[0], noise_u.shape[1]
    A = means.shape[0]
    pulls = np.zeros((R, A), np.int64)
    for i in range(R):
        n = np.zeros(A)
        s = np.zeros(A)
        s2 = np.zeros(A)
        for t in range(K):
            best = -1e300
            a = 0
            for b in range(A):
                if n[b] < 2:
                    idx = 1e300 - b
                else:
                    m = s[b] / n[b]
                    if bernstein:
                        v = max(s2[b] / n[b] - m * m, 0.0)
                        idx = m + np.sqrt(2.0 * v * log_term / n[b]) + 3.0 * log_term / n[b]
                    else:
                        idx = m + np.sqrt(log_term / (2.0 * n[b]))
                if idx > best:
                    best = idx
                    a = b
            if stochastic:
                x = 1.0 if noise_u[i, t, a] < means[a] else 0.0
            else:
                x = means[a]
            n[a] += 1.0
            s[a] += x
            s2[a] += x * x
            pulls[i, a] += 1
    return pulls
