import numpy as np

import mdpgrad
from mdpgrad import envs


def test_pi_vi_lp_agree_on_garnet():
    mdp = envs.garnet(30, 4, 5, gamma=0.95, seed=1)
    vs = [mdpgrad.solve(mdp, m, tol=1e-10).v for m in ("policy_iteration", "value_iteration", "linear_programming")]
    assert np.max(np.abs(vs[0] - vs[1])) <= 1e-9
    assert np.max(np.abs(vs[0] - vs[2])) <= 1e-9
