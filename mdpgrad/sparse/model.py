r"""The sparse MDP container: CSR over state-action rows.

``SparseMDP`` stores the transition kernel as a CSR matrix with one row per state-action
pair, row ``s * A + a`` holding :math:`P(\cdot \mid s, a)` -- the layout of quantecon's
state-action-pair form (``DiscreteDP(R, Q, beta, s_indices, a_indices)`` with a sparse
``Q``), restricted to the case where every action is available in every state, which is
the convention of :class:`mdpgrad.TabularMDP`. Memory is ``12 nnz + 4 (S A + 1)`` bytes
(float64 data, int32 column indices and row pointers; int64 beyond 2^31 entries) instead of ``8 S^2 A``: a Garnet
with S = 50,000, A = 8 and 10 successors per pair needs 48 MB instead of 160 GB.

Validation happens once, at construction, and every failure raises
:class:`~mdpgrad.errors.InvalidMDPError` naming the argument, the row ``(s, a)`` or the
entry index and the value, and the fix; nothing is renormalized. Duplicate column indices
inside a row are allowed and mean the sum of their entries (as in ``scipy.sparse``).
Arrays are read-only after construction, so a ``SparseMDP`` is safe to share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse

from ..errors import InvalidMDPError
from ..validation import PROB_ATOL, as_float_array, check_finite, check_gamma, check_shape, check_simplex

__all__ = ["SparseMDP", "to_sparse", "as_sparse"]


def _frozen(a: np.ndarray, dtype) -> np.ndarray:
    """Read-only array of ``dtype``; an array that is already read-only and of that dtype is
    shared, not copied (generators hand over their buffers this way; nobody can mutate them)."""
    if isinstance(a, np.ndarray) and a.dtype == dtype and not a.flags.writeable and a.flags.c_contiguous:
        return a
    out = np.array(a, dtype=dtype, copy=True, order="C")
    out.setflags(write=False)
    return out


def _int_array(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise InvalidMDPError(f"{name}: expected a 1-D integer array, got shape {arr.shape}.")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise InvalidMDPError(f"{name}: expected integers, got dtype {arr.dtype}; pass an integer index array.")
    return arr


def _row_of(indptr: np.ndarray, k: int, A: int) -> tuple[int, int]:
    row = int(np.searchsorted(indptr, k, side="right") - 1)
    return row // A, row % A


@dataclass(frozen=True, eq=False)
class SparseMDP:
    r"""A finite discounted MDP whose transition kernel is a CSR matrix over (s, a) rows.

    Parameters
    ----------
    indptr : int array (S*A + 1,)
        CSR row pointers; row ``s * A + a`` is ``P(. | s, a)``.
    indices : int array (nnz,)
        Next-state index of each stored entry, in ``[0, S)``.
    data : float array (nnz,)
        Probability of each stored entry (>= 0; each row sums to 1 within 1e-8).
    r : array (S, A)
        Expected rewards; fixes ``S`` and ``A``.
    gamma : float in [0, 1)
    rho : array (S,), optional
        Initial distribution (uniform when omitted).
    name : str

    Examples
    --------
    >>> import numpy as np
    >>> from mdpgrad.sparse import SparseMDP
    >>> # 2 states, 1 action: 0 -> 1, 1 -> 1
    >>> m = SparseMDP([0, 1, 2], [1, 1], [1.0, 1.0], r=[[0.0], [1.0]], gamma=0.5)
    >>> m.to_dense().P[:, 0, :]
    array([[0., 1.],
           [0., 1.]])
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    r: np.ndarray
    gamma: float
    rho: np.ndarray | None = None
    name: str = field(default="sparse-mdp")

    def __post_init__(self):
        r = as_float_array(self.r, "r", error=InvalidMDPError)
        if r.ndim != 2 or r.shape[0] == 0 or r.shape[1] == 0:
            raise InvalidMDPError(
                f"r: expected a 2-D array r[s, a] with S >= 1 states and A >= 1 actions, got shape {r.shape}; "
                "r fixes the numbers of states and actions."
            )
        S, A = r.shape
        indptr = _int_array(self.indptr, "indptr")
        indices = _int_array(self.indices, "indices")
        data = as_float_array(self.data, "data", error=InvalidMDPError, ndim=1)
        if indptr.shape[0] != S * A + 1:
            raise InvalidMDPError(
                f"indptr: has length {indptr.shape[0]}, expected S * A + 1 = {S * A + 1} (one row per "
                f"state-action pair, S = {S}, A = {A} from r)."
            )
        if indptr[0] != 0:
            raise InvalidMDPError(f"indptr[0] = {int(indptr[0])}, must be 0.")
        steps = np.diff(indptr)
        if (steps < 0).any():
            row = int(np.argmax(steps < 0))
            raise InvalidMDPError(
                f"indptr[{row + 1}] = {int(indptr[row + 1])} < indptr[{row}] = {int(indptr[row])}: row pointers must "
                f"be non-decreasing (row {row} is (s, a) = ({row // A}, {row % A}))."
            )
        nnz = int(indptr[-1])
        if indices.shape[0] != nnz or data.shape[0] != nnz:
            raise InvalidMDPError(
                f"indptr[-1] = {nnz} but len(indices) = {indices.shape[0]} and len(data) = {data.shape[0]}; "
                "all three must agree on the number of stored entries."
            )
        if nnz:
            bad = (indices < 0) | (indices >= S)
            if bad.any():
                k = int(np.argmax(bad))
                s, a = _row_of(indptr, k, A)
                raise InvalidMDPError(
                    f"indices[{k}] = {int(indices[k])} (row (s, a) = ({s}, {a})) is outside [0, {S}); next states "
                    f"must index one of the S = {S} states."
                )
            check_finite(data, "data", error=InvalidMDPError)
            neg = data < 0
            if neg.any():
                k = int(np.argmax(neg))
                s, a = _row_of(indptr, k, A)
                raise InvalidMDPError(
                    f"data[{k}] = {data[k]:.6g} (row (s, a) = ({s}, {a})) is negative; probabilities must be >= 0."
                )
        # One index dtype for both arrays (scipy would otherwise upcast, i.e. copy, the indices).
        idx_dtype = np.int32 if max(nnz, S * A, S) < 2**31 - 1 else np.int64
        indptr = _frozen(indptr, idx_dtype)
        indices = _frozen(indices, idx_dtype)
        data = _frozen(data, np.float64)
        P = scipy.sparse.csr_matrix((data, indices, indptr), shape=(S * A, S), copy=False)
        sums = np.asarray(P @ np.ones(S))
        bad = np.abs(sums - 1.0) > PROB_ATOL
        if bad.any():
            row = int(np.argmax(bad))
            raise InvalidMDPError(
                f"P[(s, a) = ({row // A}, {row % A})] (CSR row {row}) sums to {sums[row]:.12g}, not 1 (tolerance "
                f"{PROB_ATOL:g}; {int(bad.sum())} bad rows); normalize the rows yourself if that is what you mean."
            )
        gamma = check_gamma(self.gamma, error=InvalidMDPError)
        if self.rho is None:
            rho = np.full(S, 1.0 / S)
        else:
            rho = as_float_array(self.rho, "rho", error=InvalidMDPError, ndim=1)
            check_shape(rho, (S,), "rho", error=InvalidMDPError, hint="rho[s] has one entry per state.")
            check_simplex(rho, "rho", error=InvalidMDPError)
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "r", _frozen(r, np.float64))
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "rho", _frozen(rho, np.float64))
        object.__setattr__(self, "_P", P)
        object.__setattr__(self, "_max_row_nnz", int(np.max(steps)) if steps.size else 0)
        object.__setattr__(self, "_r_max", float(np.max(np.abs(r))))

    # --- construction helpers ----------------------------------------------------------
    @classmethod
    def from_matrix(cls, P, r, gamma: float, *, rho=None, name: str = "sparse-mdp") -> SparseMDP:
        """Build from any ``scipy.sparse`` matrix (or dense array) of shape ``(S*A, S)``."""
        r_arr = np.asarray(r)
        if r_arr.ndim != 2:
            raise InvalidMDPError(f"r: expected r[s, a] (2-D), got shape {r_arr.shape}.")
        S, A = r_arr.shape
        csr = scipy.sparse.csr_matrix(P)
        if csr.shape != (S * A, S):
            raise InvalidMDPError(
                f"P: expected shape (S*A, S) = ({S * A}, {S}) with row s*A + a holding P(.|s, a), got {csr.shape}."
            )
        return cls(csr.indptr, csr.indices, csr.data, r_arr, gamma, rho=rho, name=name)

    # --- properties --------------------------------------------------------------------
    is_sparse = True

    @property
    def P(self) -> scipy.sparse.csr_matrix:
        """The ``(S*A, S)`` CSR matrix (shares the read-only buffers; row ``s*A + a``)."""
        return self._P

    @property
    def n_states(self) -> int:
        return self.r.shape[0]

    @property
    def n_actions(self) -> int:
        return self.r.shape[1]

    @property
    def shape(self) -> tuple[int, int]:
        return self.r.shape

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @property
    def r_max(self) -> float:
        """``max |r[s, a]|`` (computed once)."""
        return self._r_max

    @property
    def max_row_nnz(self) -> int:
        """Largest number of stored successors of any (s, a) (enters the round-off bound)."""
        return self._max_row_nnz

    @property
    def nbytes(self) -> int:
        """Bytes held by the transition kernel (indptr + indices + data)."""
        return int(self.indptr.nbytes + self.indices.nbytes + self.data.nbytes)

    def expected_next(self, v) -> np.ndarray:
        """``(P v)[s, a] = sum_s' P(s'|s, a) v[s']`` as an (S, A) array."""
        S, A = self.shape
        return np.asarray(self._P @ np.asarray(v, dtype=np.float64)).reshape(S, A)

    def to_dense(self):
        """The equivalent :class:`mdpgrad.TabularMDP` (needs ``8 S^2 A`` bytes)."""
        from ..mdp import TabularMDP

        S, A = self.shape
        P = self._P.toarray().reshape(S, A, S)
        return TabularMDP(P, self.r, self.gamma, rho=self.rho, name=self.name)

    def replace(self, **changes) -> SparseMDP:
        """A copy with some fields replaced (validated again)."""
        kw = dict(indptr=self.indptr, indices=self.indices, data=self.data, r=self.r, gamma=self.gamma,
                  rho=self.rho, name=self.name)
        kw.update(changes)
        return SparseMDP(**kw)

    def __reduce__(self):
        # Rebuild through the constructor on unpickling, so the copy is validated and read-only too.
        return (SparseMDP, (self.indptr, self.indices, self.data, self.r, self.gamma, self.rho, self.name))

    def __repr__(self) -> str:
        return (f"SparseMDP(name={self.name!r}, S={self.n_states}, A={self.n_actions}, nnz={self.nnz}, "
                f"gamma={self.gamma})")


def to_sparse(mdp) -> SparseMDP:
    """Convert a dense :class:`~mdpgrad.TabularMDP` (or ``FeatureMDP``) to a :class:`SparseMDP`.

    Exact zeros are dropped; no other entry changes, so row sums are preserved bit for bit.
    A ``SparseMDP`` is returned unchanged.
    """
    if isinstance(mdp, SparseMDP):
        return mdp
    from ..mdp import as_mdp

    m = as_mdp(mdp)
    S, A = m.shape
    csr = scipy.sparse.csr_matrix(m.P.reshape(S * A, S))
    csr.eliminate_zeros()
    return SparseMDP(csr.indptr, csr.indices, csr.data, m.r, m.gamma, rho=m.rho, name=m.name)


def as_sparse(mdp) -> SparseMDP:
    """Alias of :func:`to_sparse` for symmetry with :func:`mdpgrad.mdp.as_mdp`."""
    return to_sparse(mdp)
