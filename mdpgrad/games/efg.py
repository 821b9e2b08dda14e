r"""Two-player zero-sum extensive-form games with imperfect information (perfect recall).

A game is a tree stored as flat arrays (:class:`EFG`): node kind (terminal / chance /
player 0 / player 1), children ``[n, A_max]``, chance probabilities, the information set of
each decision node, and the utility of player 0 at terminals (player 1 gets ``-u``).
Nodes are numbered breadth-first and every information set lies on one depth level, so all
passes are vectorized level by level (NumPy).

Strategies are *behavioral*: ``sigma_p[I, a]`` for each information set ``I`` of player
``p``; the corresponding *sequence-form* strategy is the realization plan
``x_p(I, a) = reach_p(I) sigma_p(a | I)`` (:func:`sequence_form`). Averages of strategies are
taken in sequence form (reach-weighted), the only averaging under which the average profile's
exploitability is the average's.

* :func:`efg_exploitability` -- ``max_x u(x, sigma_1) - min_y u(sigma_0, y)`` computed exactly by
  best responses (backward induction over information sets, level by level); 0 iff Nash.
* :func:`cfr` -- counterfactual regret minimization (Zinkevich et al. 2007) and CFR+ (Tammelin 2014).
* :func:`mmd` -- magnetic mirror descent (Sokota et al. 2023) in local behavioral form with
  counterfactual values: ``pi_{t+1}(.|I) ∝ [pi_t rho^{eta alpha} exp(eta q)]^{1/(1+eta alpha)}``.
* :func:`sampled_local_omd` -- local adaptive OMD with trajectory feedback and a *fixed*
  sampling policy (Fiegel et al., "Local and adaptive mirror descents in extensive-form games"),
  with on-policy importance sampling as the high-variance baseline.

Games: :func:`kuhn_poker`, :func:`leduc_poker` (a 6-card Leduc hold'em), :func:`random_tree`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .._compat import renamed
from ..backend import get_backend
from ..errors import InvalidInputError
from ..validation import (
    as_float_array,
    as_generator,
    check_allocation,
    check_float,
    check_indices,
    check_int,
    check_nonnegative,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_simplex,
)

__all__ = [
    "EFG",
    "kuhn_poker",
    "leduc_poker",
    "random_tree",
    "uniform_strategy",
    "reach_probabilities",
    "sequence_form",
    "behavioral_from_sequence",
    "expected_value",
    "best_response",
    "efg_exploitability",
    "EFGResult",
    "cfr",
    "mmd",
    "sampled_local_omd",
]

TERMINAL, CHANCE, P0, P1 = 0, 1, 2, 3


@dataclass(frozen=True, eq=False)
class EFG:
    """A two-player zero-sum extensive-form game as flat arrays (see module docstring).

    ``infoset[n]`` is the index of node ``n``'s information set *within its player's list*
    (``-1`` for terminal and chance nodes); ``n_infosets = (n0, n1)``;
    ``infoset_actions[p][I]`` the number of actions at ``I``; ``infoset_parent[p][I]`` the
    player's previous ``(infoset, action)`` on the path (``(-1, -1)`` at the root: perfect recall).
    """

    kind: np.ndarray
    depth: np.ndarray
    parent: np.ndarray
    parent_action: np.ndarray
    children: np.ndarray
    chance_prob: np.ndarray
    infoset: np.ndarray
    utility: np.ndarray
    n_infosets: tuple[int, int]
    infoset_actions: tuple[np.ndarray, np.ndarray]
    infoset_parent: tuple[np.ndarray, np.ndarray]
    infoset_labels: tuple[tuple[str, ...], tuple[str, ...]]
    name: str = "efg"

    @property
    def n_nodes(self) -> int:
        return int(self.kind.size)

    @property
    def max_actions(self) -> int:
        return int(self.children.shape[1])

    def levels(self) -> list[np.ndarray]:
        return [np.nonzero(self.depth == d)[0] for d in range(int(self.depth.max()) + 1)]

    def __repr__(self) -> str:
        return (f"EFG({self.name!r}, nodes={self.n_nodes}, infosets={self.n_infosets}, "
                f"terminals={int((self.kind == TERMINAL).sum())})")


class _Builder:
    """Collects nodes breadth-first from a recursive description and freezes them into an :class:`EFG`."""

    def __init__(self, name):
        self.name = name
        self.nodes = []  # dicts
        self.keys = ({}, {})

    def build(self, root_fn):
        # root_fn(state) -> ("terminal", u) | ("chance", [(p, state)]) | ("player", p, key, [state...])
        queue = [(None, -1, 0, root_fn, None)]
        nodes = []
        head = 0
        while head < len(queue):
            parent, pa, depth, fn, state = queue[head]
            head += 1
            desc = fn(state)
            idx = len(nodes)
            node = {"parent": parent, "pa": pa, "depth": depth, "children": [], "cp": [], "I": -1, "u": 0.0}
            if desc[0] == "terminal":
                node["kind"] = TERMINAL
                node["u"] = float(desc[1])
            elif desc[0] == "chance":
                node["kind"] = CHANCE
                for a, (p, st) in enumerate(desc[1]):
                    node["cp"].append(p)
                    queue.append((idx, a, depth + 1, fn, st))
            else:
                _, player, key, succ = desc
                node["kind"] = P0 + player
                table = self.keys[player]
                if key not in table:
                    table[key] = (len(table), len(succ), depth)
                I, nA, d0 = table[key]
                if nA != len(succ) or d0 != depth:
                    raise InvalidInputError(f"information set {key!r}: inconsistent action count or depth.")
                node["I"] = I
                for a, st in enumerate(succ):
                    queue.append((idx, a, depth + 1, fn, st))
            nodes.append(node)
            if node["parent"] is not None:
                nodes[node["parent"]]["children"].append(idx)
        return self._freeze(nodes)

    def _freeze(self, nodes):
        n = len(nodes)
        A = max(1, max(len(nd["children"]) for nd in nodes))
        kind = np.array([nd["kind"] for nd in nodes], dtype=np.int8)
        children = np.full((n, A), -1, dtype=np.int64)
        cp = np.zeros((n, A))
        for i, nd in enumerate(nodes):
            children[i, : len(nd["children"])] = nd["children"]
            cp[i, : len(nd["cp"])] = nd["cp"]
        infoset = np.array([nd["I"] for nd in nodes], dtype=np.int64)
        parent = np.array([-1 if nd["parent"] is None else nd["parent"] for nd in nodes], dtype=np.int64)
        pa = np.array([nd["pa"] for nd in nodes], dtype=np.int64)
        # each player's previous (infoset, action) for every infoset (perfect recall: unique)
        iparents, iacts, labels = [], [], []
        for p in (0, 1):
            m = len(self.keys[p])
            ip = np.full((m, 2), -2, dtype=np.int64)
            for i in np.nonzero(kind == P0 + p)[0]:
                prev = (-1, -1)
                c, q = i, parent[i]
                while q >= 0:
                    if kind[q] == P0 + p:
                        prev = (int(infoset[q]), int(pa[c]))
                        break
                    c, q = q, parent[q]
                I = infoset[i]
                if ip[I, 0] == -2:
                    ip[I] = prev
                elif tuple(ip[I]) != prev:
                    raise InvalidInputError(f"player {p} infoset {I}: imperfect recall (two different histories).")
            iparents.append(ip)
            acts = np.zeros(m, dtype=np.int64)
            lab = [""] * m
            for key, (I, nA, _) in self.keys[p].items():
                acts[I] = nA
                lab[I] = str(key)
            iacts.append(acts)
            labels.append(tuple(lab))
        return EFG(kind=kind, depth=np.array([nd["depth"] for nd in nodes], dtype=np.int64), parent=parent,
                   parent_action=pa, children=children, chance_prob=cp, infoset=infoset,
                   utility=np.array([nd["u"] for nd in nodes]),
                   n_infosets=(len(self.keys[0]), len(self.keys[1])), infoset_actions=tuple(iacts),
                   infoset_parent=tuple(iparents), infoset_labels=tuple(labels), name=self.name)


def _poker(name, deck, ranks, n_rounds, bets, max_raises, ante=1.0):
    """Generic 2-player poker: deal one private card each, ``n_rounds`` betting rounds, a public
    card between rounds; actions per round: check/bet without a pending bet, fold/call/raise with one."""
    deck = list(deck)

    def showdown(c0, c1, pub):
        if pub is None:
            return np.sign(ranks[c0] - ranks[c1])
        s0 = 100 if ranks[c0] == ranks[pub] else ranks[c0]
        s1 = 100 if ranks[c1] == ranks[pub] else ranks[c1]
        return np.sign(s0 - s1)

    def fn(state):
        if state is None:
            deals = list(itertools.permutations(range(len(deck)), 2))
            return ("chance", [(1.0 / len(deals), ("bet", c0, c1, None, 0, "", (ante, ante), 0, "")) for c0, c1 in deals])
        tag = state[0]
        if tag == "public":
            _, c0, c1, hist, contrib = state
            rest = [c for c in range(len(deck)) if c not in (c0, c1)]
            return ("chance", [(1.0 / len(rest), ("bet", c0, c1, c, 1, "", contrib, 0, hist + "/")) for c in rest])
        _, c0, c1, pub, rnd, rh, contrib, raises, hist = state
        player = len(rh) % 2
        pending = contrib[0] != contrib[1]
        key = (deck[c0 if player == 0 else c1], None if pub is None else deck[pub], hist + rh)
        succ = []
        bet = bets[rnd]
        if not pending:
            # check
            if rh.endswith("k"):  # second check ends the round
                succ.append(("end", c0, c1, pub, rnd, rh + "k", contrib, raises, hist))
            else:
                succ.append(("bet", c0, c1, pub, rnd, rh + "k", contrib, raises, hist))
            if raises < max_raises:
                c = list(contrib)
                c[player] += bet
                succ.append(("bet", c0, c1, pub, rnd, rh + "b", tuple(c), raises + 1, hist))
        else:
            succ.append(("fold", c0, c1, pub, rnd, rh + "f", contrib, raises, hist, player))
            c = list(contrib)
            c[player] = c[1 - player]
            succ.append(("end", c0, c1, pub, rnd, rh + "c", tuple(c), raises, hist))
            if raises < max_raises:
                c2 = list(c)
                c2[player] += bet
                succ.append(("bet", c0, c1, pub, rnd, rh + "b", tuple(c2), raises + 1, hist))
        return ("player", player, key, succ)

    def node_fn(state):
        if state is not None and state[0] == "fold":
            _, c0, c1, pub, rnd, rh, contrib, raises, hist, folder = state
            return ("terminal", contrib[1] if folder == 1 else -contrib[0])
        if state is not None and state[0] == "end":
            _, c0, c1, pub, rnd, rh, contrib, raises, hist = state
            if rnd + 1 < n_rounds:
                return fn(("public", c0, c1, hist + rh, contrib))
            return ("terminal", showdown(c0, c1, pub) * contrib[0])
        return fn(state)

    return _Builder(name).build(node_fn)


def kuhn_poker() -> EFG:
    """Kuhn poker (Kuhn 1950): cards J < Q < K, ante 1, one bet of 1. Game value -1/18 for player 0."""
    return _poker("kuhn", ["J", "Q", "K"], {0: 0, 1: 1, 2: 2}, 1, (1.0,), 1)


def leduc_poker(max_raises: int = 2) -> EFG:
    """Leduc hold'em (Southey et al. 2005): 6 cards (J, Q, K x 2 suits), ante 1, two rounds with bets
    2 and 4 and up to ``max_raises`` raises per round, a public card; a pair with it wins, else the higher card.

    Information sets are keyed by ranks only (suits never matter for payoffs): 144 per player.
    Check: CFR+ for 300 iterations gives exploitability 0.005 and value -0.0855 for player 0, the
    known Leduc value (about -0.0856)."""
    max_raises = check_int(max_raises, "max_raises", minimum=0, maximum=4, what="raises per round")
    deck = ["J", "J", "Q", "Q", "K", "K"]
    ranks = {i: i // 2 for i in range(6)}
    return _poker("leduc", deck, ranks, 2, (2.0, 4.0), max_raises)


def random_tree(n_types: int, depth: int, n_actions: int, seed) -> EFG:
    """A random poker-like game: chance deals each player one of ``n_types`` private types (uniform),
    then ``depth`` alternating public moves with ``n_actions`` actions each; an information set is
    (own type, public history); payoffs at the leaves ~ N(0, 1). Perfect recall by construction."""
    n_types = check_positive_int(n_types, "n_types")
    depth = check_positive_int(depth, "depth")
    n_actions = check_positive_int(n_actions, "n_actions")
    check_allocation((n_types * n_types, float(n_actions) ** depth, 16), "the game tree (nodes)",
                     "n_types, depth or n_actions")
    rng = as_generator(seed)
    n_leaves = n_types * n_types * n_actions**depth
    pay = rng.standard_normal(n_leaves)
    counter = itertools.count()

    def fn(state):
        if state is None:
            return ("chance", [(1.0 / n_types**2, (a, b, "")) for a in range(n_types) for b in range(n_types)])
        a, b, hist = state
        if len(hist) == depth:
            return ("terminal", pay[next(counter)])
        player = len(hist) % 2
        key = ((a if player == 0 else b), hist)
        return ("player", player, key, [(a, b, hist + str(k)) for k in range(n_actions)])

    return _Builder(f"random(types={n_types}, depth={depth}, A={n_actions})").build(fn)


# ----------------------------------------------------------------------------------------------
# strategies, reach, values
# ----------------------------------------------------------------------------------------------
def _game(game) -> EFG:
    if not isinstance(game, EFG):
        raise InvalidInputError(f"game: expected an EFG (kuhn_poker(), leduc_poker(), random_tree(...)), got "
                                f"{type(game).__name__}.")
    return game


def _player(player) -> int:
    return check_int(player, "player", minimum=0, maximum=1, what="0 or 1")


def _strategy(game: EFG, player: int, s, name: str) -> np.ndarray:
    """A behavioral strategy ``s[I, a]`` of ``player``: rows are distributions over the legal actions."""
    s = as_float_array(s, name, shape=(game.n_infosets[player], game.max_actions))
    check_nonnegative(s, name)
    legal = np.arange(game.max_actions)[None, :] < np.asarray(game.infoset_actions[player])[:, None]
    if (s[~legal] != 0).any():
        raise InvalidInputError(f"{name}: puts mass on padded (illegal) actions; keep them at 0.")
    check_simplex(s, name)
    return s


def _record(record, n_iter: int) -> set:
    """The iterations to record: ``None`` (about 20, log-spaced) or integers in ``[1, n_iter]``."""
    if record is None:
        return set(np.unique(np.geomspace(1, n_iter, 20).astype(int)).tolist())
    if isinstance(record, (str, bytes)) or not hasattr(record, "__iter__"):
        raise InvalidInputError(f"record = {record!r:.60}: pass a list of iterations in [1, n_iter] or None.")
    out = check_indices(np.asarray(list(record)).ravel(), "record", n_iter + 1, what="iteration")
    if (out < 1).any():
        raise InvalidInputError("record: iterations start at 1; pass values in [1, n_iter].")
    return set(out.tolist())


def _flag(x, name: str) -> bool:
    if not isinstance(x, (bool, np.bool_)):
        raise InvalidInputError(f"{name} = {x!r:.60}: expected True or False.")
    return bool(x)


def _iters(n_iter) -> int:
    return check_positive_int(n_iter, "n_iter")


def uniform_strategy(game: EFG, player: int) -> np.ndarray:
    """Uniform behavioral strategy ``sigma[I, a]`` (zero on padded actions)."""
    _game(game)
    player = _player(player)
    m = game.n_infosets[player]
    s = np.zeros((m, game.max_actions))
    for i, nA in enumerate(game.infoset_actions[player]):
        s[i, :nA] = 1.0 / nA
    return s


def _action_probs(game: EFG, s0, s1, nodes):
    """Probability of each child of ``nodes`` under chance and (s0, s1): ``[len(nodes), A_max]``."""
    k = game.kind[nodes]
    pr = game.chance_prob[nodes].copy()
    m0, m1 = k == P0, k == P1
    pr[m0] = s0[game.infoset[nodes[m0]]]
    pr[m1] = s1[game.infoset[nodes[m1]]]
    return pr


def reach_probabilities(game: EFG, s0, s1):
    _game(game)
    s0, s1 = _strategy(game, 0, s0, "s0"), _strategy(game, 1, s1, "s1")
    """Per-node reach ``(chance, player0, player1)`` contributions (forward pass by level)."""
    n = game.n_nodes
    rc, r0, r1 = np.ones(n), np.ones(n), np.ones(n)
    for lvl in game.levels()[1:]:
        par, a = game.parent[lvl], game.parent_action[lvl]
        k = game.kind[par]
        f = np.ones(lvl.size)
        fc = np.where(k == CHANCE, game.chance_prob[par, a], 1.0)
        m0, m1 = k == P0, k == P1
        f0, f1 = f.copy(), f.copy()
        f0[m0] = s0[game.infoset[par[m0]], a[m0]]
        f1[m1] = s1[game.infoset[par[m1]], a[m1]]
        rc[lvl] = rc[par] * fc
        r0[lvl] = r0[par] * f0
        r1[lvl] = r1[par] * f1
    return rc, r0, r1


def _values(game: EFG, s0, s1) -> np.ndarray:
    """Expected player-0 utility of every subtree under ``(s0, s1)`` (backward pass by level)."""
    v = np.where(game.kind == TERMINAL, game.utility, 0.0)
    for lvl in reversed(game.levels()):
        nt = lvl[game.kind[lvl] != TERMINAL]
        if nt.size == 0:
            continue
        ch = game.children[nt]
        pr = _action_probs(game, s0, s1, nt)
        v[nt] = np.sum(np.where(ch >= 0, pr * v[np.maximum(ch, 0)], 0.0), axis=1)
    return v


def expected_value(game: EFG, s0, s1) -> float:
    """Player 0's expected utility ``u(s0, s1)``."""
    _game(game)
    s0, s1 = _strategy(game, 0, s0, "s0"), _strategy(game, 1, s1, "s1")
    return float(_values(game, s0, s1)[0])


def sequence_form(game: EFG, player: int, sigma) -> np.ndarray:
    _game(game)
    player = _player(player)
    sigma = _strategy(game, player, sigma, "sigma")
    """Realization plan ``x[I, a] = reach_player(I) sigma[I, a]`` (infosets ordered by depth, parents first)."""
    m = game.n_infosets[player]
    par = game.infoset_parent[player]
    order = _infoset_order(game, player)
    reach = np.ones(m)
    for I in order:
        pI, pa = par[I]
        reach[I] = 1.0 if pI < 0 else reach[pI] * sigma[pI, pa]
    return reach[:, None] * sigma


def _infoset_order(game: EFG, player: int) -> np.ndarray:
    depth = np.zeros(game.n_infosets[player], dtype=np.int64)
    nodes = np.nonzero(game.kind == P0 + player)[0]
    depth[game.infoset[nodes]] = game.depth[nodes]
    return np.argsort(depth, kind="stable")


def behavioral_from_sequence(game: EFG, player: int, x) -> np.ndarray:
    _game(game)
    player = _player(player)
    x = as_float_array(x, "x", shape=(game.n_infosets[player], game.max_actions))
    check_nonnegative(x, "x")
    """Behavioral strategy from a realization plan (uniform where the reach is 0)."""
    tot = x.sum(axis=1, keepdims=True)
    uni = uniform_strategy(game, player)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(tot > 0, x / np.where(tot > 0, tot, 1.0), uni)
    return s


def _cf_values(game: EFG, s0, s1, player: int, v=None, reach=None, sign1: float = -1.0):
    """Counterfactual action values ``q[I, a] = sum_{h in I} w_{-i}(h) u_i(child(h, a))`` and ``w(I)``."""
    if v is None:
        v = _values(game, s0, s1)
    rc, r0, r1 = reach if reach is not None else reach_probabilities(game, s0, s1)
    nodes = np.nonzero(game.kind == P0 + player)[0]
    w = rc[nodes] * (r1[nodes] if player == 0 else r0[nodes])
    ch = game.children[nodes]
    sign = 1.0 if player == 0 else sign1
    vals = np.where(ch >= 0, sign * v[np.maximum(ch, 0)], 0.0) * w[:, None]
    q = np.zeros((game.n_infosets[player], game.max_actions))
    np.add.at(q, game.infoset[nodes], vals)
    wI = np.zeros(game.n_infosets[player])
    np.add.at(wI, game.infoset[nodes], w)
    return q, wI


def best_response(game: EFG, player: int, opp) -> tuple[float, np.ndarray]:
    """Best response of ``player`` to the opponent's behavioral strategy ``opp``, by backward induction.

    Returns ``(value for player, pure behavioral strategy)``. Level by level from the leaves: at the
    player's information sets the action maximizing ``sum_{h in I} w(h) v(child(h, a))`` is chosen
    (``w`` = chance x opponent reach), which is valid because every information set lies on one level.
    """
    _game(game)
    player = _player(player)
    opp = _strategy(game, 1 - player, opp, "opp")
    s = uniform_strategy(game, player)
    s0, s1 = (s, opp) if player == 0 else (opp, s)
    rc, r0, r1 = reach_probabilities(game, s0, s1)
    w = rc * (r1 if player == 0 else r0)
    sign = 1.0 if player == 0 else -1.0
    v = np.where(game.kind == TERMINAL, sign * game.utility, 0.0)
    br = np.zeros((game.n_infosets[player], game.max_actions))
    mine = P0 + player
    for lvl in reversed(game.levels()):
        nt = lvl[game.kind[lvl] != TERMINAL]
        if nt.size == 0:
            continue
        ch = game.children[nt]
        cv = np.where(ch >= 0, v[np.maximum(ch, 0)], -np.inf)
        me = game.kind[nt] == mine
        other = ~me
        if other.any():
            o = nt[other]
            pr = _action_probs(game, s0, s1, o)
            v[o] = np.sum(np.where(ch[other] >= 0, pr * np.where(np.isfinite(cv[other]), cv[other], 0.0), 0.0), 1)
        if me.any():
            m = nt[me]
            Q = np.zeros((game.n_infosets[player], game.max_actions))
            np.add.at(Q, game.infoset[m], np.where(np.isfinite(cv[me]), cv[me] * w[m][:, None], 0.0))
            Is = np.unique(game.infoset[m])
            for I in Is:
                nA = game.infoset_actions[player][I]
                br[I] = 0.0
                br[I, int(np.argmax(Q[I, :nA]))] = 1.0
            a = np.argmax(br[game.infoset[m]], axis=1)
            v[m] = cv[me][np.arange(m.size), a]
    return float(v[0]), br


def efg_exploitability(game: EFG, s0, s1) -> float:
    """``max_x u(x, s1) - min_y u(s0, y)`` = sum of both best-response gains (>= 0, 0 iff Nash)."""
    _game(game)
    s0, s1 = _strategy(game, 0, s0, "s0"), _strategy(game, 1, s1, "s1")
    b0, _ = best_response(game, 0, s1)
    b1, _ = best_response(game, 1, s0)
    return b0 + b1


# ----------------------------------------------------------------------------------------------
# learning algorithms
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EFGResult:
    """Exploitability of the recorded profiles at ``iters`` and the final strategies."""

    method: str
    iters: np.ndarray
    exploitability: np.ndarray
    avg: tuple[np.ndarray, np.ndarray]
    last: tuple[np.ndarray, np.ndarray]


def _regret_matching(R, n_actions):
    uni = np.zeros_like(R)
    for i, nA in enumerate(n_actions):
        uni[i, :nA] = 1.0 / nA
    pos = np.where(uni > 0, np.maximum(R, 0.0), 0.0)  # padded actions never get probability
    tot = pos.sum(axis=1, keepdims=True)
    return np.where(tot > 0, pos / np.where(tot > 0, tot, 1.0), uni)


def cfr(game: EFG, n_iter: int, *, plus: bool = False, record=None, floor: bool | None = None,
        player1_sign: float = -1.0) -> EFGResult:
    """CFR (simultaneous updates, uniform averaging) or CFR+ (alternating, regrets floored at 0,
    linear averaging). Exploitability of the sequence-form average at ``record`` iterations.

    Hooks for negative controls (defaults are the algorithms): ``floor`` (default ``plus``) floors
    the cumulative regrets at 0 (CFR+'s regret matching+); ``player1_sign`` is the sign of player 1's
    utility in its counterfactual values (-1 in a zero-sum game; +1 is the classic sign mistake).
    """
    _game(game)
    n_iter = _iters(n_iter)
    plus = _flag(plus, "plus")
    floor = plus if floor is None else _flag(floor, "floor")
    player1_sign = check_float(player1_sign, "player1_sign", lo=-1.0, hi=1.0, what="-1 (zero-sum) or +1")
    record = _record(record, n_iter)
    s = [uniform_strategy(game, 0), uniform_strategy(game, 1)]
    R = [np.zeros_like(s[0]), np.zeros_like(s[1])]
    X = [np.zeros_like(s[0]), np.zeros_like(s[1])]
    its, ex = [], []
    for t in range(1, n_iter + 1):
        order = (0, 1)
        if not plus:
            qs = [_cf_values(game, s[0], s[1], p, sign1=player1_sign)[0] for p in order]
        for p in order:
            q = _cf_values(game, s[0], s[1], p, sign1=player1_sign)[0] if plus else qs[p]
            inst = q - np.sum(q * s[p], axis=1, keepdims=True)
            R[p] = np.maximum(R[p] + inst, 0.0) if floor else R[p] + inst
            if plus:
                X[p] += t * sequence_form(game, p, s[p])
                s[p] = _regret_matching(R[p], game.infoset_actions[p])
        if not plus:
            for p in order:
                X[p] += sequence_form(game, p, s[p])
                s[p] = _regret_matching(R[p], game.infoset_actions[p])
        if t in record:
            a0, a1 = behavioral_from_sequence(game, 0, X[0]), behavioral_from_sequence(game, 1, X[1])
            its.append(t)
            ex.append(efg_exploitability(game, a0, a1))
    a0, a1 = behavioral_from_sequence(game, 0, X[0]), behavioral_from_sequence(game, 1, X[1])
    return EFGResult("cfr+" if plus else "cfr", np.array(its), np.array(ex), (a0, a1), (s[0], s[1]))


@renamed(eta="step_size")
def mmd(game: EFG, n_iter: int, *, step_size: float = 1.0, alpha: float = 0.02, record=None) -> EFGResult:
    r"""Magnetic mirror descent (Sokota et al. 2023), local behavioral form with a uniform magnet ``rho``.

    ``pi_{t+1}(.|I) ∝ [pi_t(.|I) rho(.|I)^{eta alpha} exp(eta q_t(I, .))]^{1/(1+eta alpha)}`` with ``q_t`` the
    counterfactual action values (reach-weighted, not normalized: normalizing by the counterfactual reach
    made larger steps cycle in our runs). Simultaneous updates; records the exploitability of the *last*
    iterate, which converges to an alpha-regularized equilibrium (its exploitability floor shrinks with
    alpha: on Kuhn poker ~0.025 at alpha = 0.02, ~0.01 at alpha = 0.01 after 3000 iterations).
    ``step_size`` is eta.
    """
    _game(game)
    n_iter = _iters(n_iter)
    eta = check_positive_float(step_size, "step_size", what="a step size")
    alpha = check_nonnegative_float(alpha, "alpha", what="magnet weight")
    record = _record(record, n_iter)
    s = [uniform_strategy(game, 0), uniform_strategy(game, 1)]
    valid = [x > 0 for x in s]
    mag = [np.log(np.where(v, x, 1.0)) for v, x in zip(valid, s)]
    its, ex = [], []
    for t in range(1, n_iter + 1):
        new = []
        for p in (0, 1):
            q, _ = _cf_values(game, s[0], s[1], p)
            z = (np.log(np.where(valid[p], s[p], 1.0)) + eta * alpha * mag[p] + eta * q) / (1 + eta * alpha)
            z = np.where(valid[p], z, -np.inf)
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            new.append(e / e.sum(axis=1, keepdims=True))
        s = new
        if t in record:
            its.append(t)
            ex.append(efg_exploitability(game, s[0], s[1]))
    return EFGResult("mmd", np.array(its), np.array(ex), (s[0], s[1]), (s[0], s[1]))


def _balanced_sampling(game: EFG, player: int) -> np.ndarray:
    """Balanced sampling policy: ``s(a|I)`` proportional to the number of the player's terminal
    sequences below ``(I, a)``, so every terminal sequence is reached with the same probability."""
    m = game.n_infosets[player]
    par = game.infoset_parent[player]
    leaves = np.zeros((m, game.max_actions))
    order = _infoset_order(game, player)
    for I in order[::-1]:
        for a in range(game.infoset_actions[player][I]):
            kids = np.nonzero((par[:, 0] == I) & (par[:, 1] == a))[0]
            leaves[I, a] = max(1.0, leaves[kids].sum()) if kids.size else 1.0
    return leaves / leaves.sum(axis=1, keepdims=True)


def sampled_local_omd(game: EFG, n_iter: int, seed, *, sampling: str = "balanced", eta0: float = 1.0,
                      record=None, backend: str = "auto") -> EFGResult:
    r"""Local adaptive OMD with trajectory feedback (one episode per player and iteration).

    In player ``i``'s episode, ``i`` acts with the sampling policy ``b_i`` (``"balanced"``, fixed;
    or ``"onpolicy"``: ``b_i = sigma_i^t``, the importance-sampling baseline) and the opponent with
    its current policy. For each of ``i``'s information sets on the trajectory ending at ``z``,
    the counterfactual loss of the taken action is estimated by

    .. math:: \hat\ell(I, a) = (U - u_i(z))\, \sigma_i^t(z \mid I a) / b_i(z),\quad U = \max|u|

    (unbiased: ``Pr(z) = w_{-i}(z) b_i(z)``; the shift by ``U`` adds ``U w(I)`` to every action of
    ``I`` alike, so local regrets are unchanged and the estimates are >= 0, the stable Exp3 form);
    other actions get 0. Each information set runs Hedge ``sigma(.|I) ∝ sigma(.|I) exp(-eta_I l_hat)``
    with the local adaptive rate ``eta_I = eta0 sqrt(log A_I / (1 + sum_s l_hat_s(I)^2))``. The
    output is the sequence-form average of ``sigma^t``.

    Randomness: all uniforms are drawn up front from ``seed`` (``U[t, player, depth]``) and actions
    are sampled by inverse CDF, so the NumPy reference (``backend="numpy"``) and the Numba kernel
    (``backend="numba"``, what ``"auto"`` picks) of the kernel ``local_omd`` produce identical trajectories.
    """
    _game(game)
    n_iter = _iters(n_iter)
    eta0 = check_positive_float(eta0, "eta0", what="a step size")
    rng = as_generator(seed)
    if sampling not in ("balanced", "onpolicy"):
        raise InvalidInputError(f"sampling = {sampling!r}: choose 'balanced' or 'onpolicy'.")
    local_omd = get_backend(backend, kernel="local_omd").kernel("local_omd")
    rec = np.array(sorted(_record(record, n_iter)), dtype=np.int64)
    rec = rec[(rec >= 1) & (rec <= n_iter)]
    m_max = max(game.n_infosets)
    A = game.max_actions
    s = np.zeros((2, m_max, A))
    b = np.zeros((2, m_max, A))
    nact = np.zeros((2, m_max), dtype=np.int64)
    par = np.full((2, m_max, 2), -1, dtype=np.int64)
    order = np.full((2, m_max), -1, dtype=np.int64)
    for p in (0, 1):
        m = game.n_infosets[p]
        s[p, :m] = uniform_strategy(game, p)
        b[p, :m] = _balanced_sampling(game, p)
        nact[p, :m] = game.infoset_actions[p]
        par[p, :m] = game.infoset_parent[p]
        order[p, :m] = _infoset_order(game, p)
    U = rng.random((int(n_iter), 2, int(game.depth.max()) + 1))
    args = (game.kind.astype(np.int64), game.children, game.chance_prob, game.infoset, game.utility, nact)
    Xs = local_omd(*args, order, par, b, s, float(eta0), sampling == "balanced", U, rec,
                   np.array(game.n_infosets, dtype=np.int64))
    ex = []
    for Xr in Xs:
        a0 = behavioral_from_sequence(game, 0, Xr[0, : game.n_infosets[0]])
        a1 = behavioral_from_sequence(game, 1, Xr[1, : game.n_infosets[1]])
        ex.append(efg_exploitability(game, a0, a1))
    last = (s[0, : game.n_infosets[0]].copy(), s[1, : game.n_infosets[1]].copy())
    return EFGResult(f"local_omd[{sampling}]", rec, np.array(ex), (a0, a1), last)
