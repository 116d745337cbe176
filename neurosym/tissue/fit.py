"""Fit the cellular Potts model's adhesion and volume stiffness to observed lattices of cells.

The model is `automata.potts` on lattices of cell ids (e.g. `neurosym.symbolise.potts_state` of
a segmentation), with one kind per founder lineage (`neurosym.tissue.kinds`). What is fitted:

- the contact energies `J[a, b]` between kinds, medium (kind 0) included: symmetric, each entry
  `softplus(theta) > 0`, `J[0, 0] = 0` (medium-medium bonds carry no energy anyway);
- the volume stiffness `lambda_V[k] = exp(theta) > 0` of each cell kind.

Only the entries of kinds that occur in the observations are free; the others stay at their
starting values. The temperature is fixed to 1: it sets the energy scale (`exp(-H / T)` is
unchanged when H and T scale together). The target volume of each kind is not fitted: it is the
mean volume, in sites, of that kind's cells in each observation (`target_volumes`), since cells
halve at each division and the targets must follow.

The loss is the negative log pseudo-likelihood (`automata.potts.pseudo_log_likelihood`, Besag
1975, doi:10.2307/2987782) per free site, averaged over the observations, with the medium held
fixed (`confine=True`: the embryo's outline, the eggshell, is kept and only cells exchange
sites; the simulation of `neurosym.tissue.predict` does the same). Two strategies spend the same
number of loss evaluations, `num_steps + 1`:

- an optax transformation (default `optax.adam(0.05)`): `num_steps` jitted value-and-gradient
  steps, then the loss at the end;
- `EvolutionStrategy`: a gradient-free (1+1)-ES over the same parameters, one loss at the start
  then one per candidate (Rechenberg's 1/5 success rule for the step size; N. Hansen et al.,
  "Evolution strategies", 2015, arXiv:1604.00772).

The whole fit is one `jax.lax.scan` under `jit`.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

import automata
from automata._checks import check_int, check_key, check_number, fail
from automata.potts import PottsParams, pseudo_log_likelihood
from neurosym.tissue.kinds import KIND_NAMES

__all__ = ["EvolutionStrategy", "TissueFit", "fit_loss", "fit_potts", "potts_params", "target_volumes"]

NEIGHBOURHOODS = ("von_neumann", "moore")


@dataclasses.dataclass(frozen=True)
class EvolutionStrategy:
    """A (1+1) evolution strategy: a gradient-free fit over the same parameters as a gradient fit.

    Each step draws one candidate `theta + sigma * N(0, I)`, evaluates its loss and keeps it when
    the loss is no worse; `sigma` grows by `exp(1/3)` after a success and shrinks by
    `exp(-1/12)` after a failure, which holds the success rate near 1/5 (Rechenberg's rule).

    Attributes:
      sigma: the starting step size, in the units of the parameters (softplus / log scale).

    Example:
      >>> EvolutionStrategy(sigma=0.2).sigma
      0.2
    """

    sigma: float = 0.3

    def __post_init__(self):
        check_number(self.sigma, "sigma", minimum=0.0, owner="EvolutionStrategy", open_minimum=True)


class TissueFit(struct.PyTreeNode):
    """The result of `fit_potts`.

    Attributes:
      params: the fitted `PottsParams` (temperature 1; `target_volume` the mean over the
        observations of each kind's mean cell volume, for reference: simulations set their own).
      losses: `(num_steps + 1,)` loss curve: for a gradient strategy the loss before each step and
        after the last; for `EvolutionStrategy` the best loss so far after each evaluation.
      kind_names: the name of each kind (index 0 the medium).
      free_kinds: the kinds that occurred in the observations (their parameters were fitted).
      strategy: "gradient" or "evolution".

    Example:
      >>> fit = TissueFit(params=PottsParams(contact=jnp.zeros((2, 2))), losses=jnp.array([2.0, 1.0]),
      ...                 kind_names=("medium", "AB"), free_kinds=(1,), strategy="gradient")
      >>> float(fit.losses[-1]), fit.kind_names[1]
      (1.0, 'AB')
    """

    params: PottsParams
    losses: jax.Array
    kind_names: tuple = struct.field(pytree_node=False)
    free_kinds: tuple = struct.field(pytree_node=False)
    strategy: str = struct.field(pytree_node=False)


def target_volumes(sites, kinds, num_kinds: int) -> np.ndarray:
    """Mean volume, in sites, of the cells of each kind: `(num_kinds,)` float (0 for the medium
    and for kinds with no cell).

    Args:
      sites: int lattice of cell ids (0 the medium).
      kinds: `(N + 1,)` int kind of each id.
      num_kinds: K.

    Example:
      >>> sites = np.array([[1, 1, 2], [3, 3, 3]])
      >>> target_volumes(sites, np.array([0, 1, 1, 2]), 3).tolist()
      [0.0, 1.5, 3.0]
    """
    sites = np.asarray(sites)
    kinds = np.asarray(kinds)
    volume = np.bincount(sites.ravel(), minlength=kinds.shape[0]).astype(np.float64)
    present = volume > 0
    present[0] = False
    total = np.bincount(kinds[present], weights=volume[present], minlength=num_kinds)
    count = np.bincount(kinds[present], minlength=num_kinds)
    out = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    out[0] = 0.0
    return out


def _check_observations(observations, num_kinds: int, owner: str):
    if isinstance(observations, tuple) and len(observations) == 2 and hasattr(observations[0], "shape"):
        raise fail(owner, "observations must be a list of (sites, kinds) pairs; for one observation write "
                   "[(sites, kinds)].", TypeError)
    try:
        observations = list(observations)
    except TypeError:
        raise fail(owner, f"observations must be a list of (sites, kinds) pairs, got "
                   f"{type(observations).__name__}.", TypeError) from None
    if not observations:
        raise fail(owner, "observations must hold at least one (sites, kinds) pair, got none.")
    out = []
    for i, item in enumerate(observations):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise fail(owner, f"observations[{i}] must be a (sites, kinds) pair, got {type(item).__name__}.",
                       TypeError)
        sites, kinds = np.asarray(item[0]), np.asarray(item[1])
        if sites.ndim not in (2, 3) or not np.issubdtype(sites.dtype, np.integer):
            raise fail(owner, f"observations[{i}]: sites must be a 2D or 3D integer lattice of cell ids, got "
                       f"shape {sites.shape} and dtype {sites.dtype}.", TypeError)
        if kinds.ndim != 1 or not np.issubdtype(kinds.dtype, np.integer):
            raise fail(owner, f"observations[{i}]: kinds must be a 1-D integer array (the kind of each cell "
                       f"id), got shape {kinds.shape} and dtype {kinds.dtype}.", TypeError)
        if sites.size == 0 or sites.min() < 0 or sites.max() >= kinds.shape[0]:
            raise fail(owner, f"observations[{i}]: sites must hold ids 0..{kinds.shape[0] - 1} (kinds has one "
                       f"entry per id), got ids {int(sites.min()) if sites.size else None} to "
                       f"{int(sites.max()) if sites.size else None}.")
        if kinds[0] != 0 or np.any(kinds[1:] < 1) or np.any(kinds >= num_kinds):
            raise fail(owner, f"observations[{i}]: kinds[0] must be 0 (the medium) and every cell's kind in "
                       f"1..{num_kinds - 1} (one of kind_names), got {kinds.tolist()}.")
        if not np.any(sites > 0):
            raise fail(owner, f"observations[{i}]: sites hold no cell (all medium); nothing to fit.")
        out.append((sites.astype(np.int32), kinds.astype(np.int32)))
    ndims = {s.ndim for s, _ in out}
    if len(ndims) > 1:
        raise fail(owner, f"observations must all be 2D or all 3D, got {sorted(ndims)} dimensions.")
    return out


def _stack(observations, num_kinds: int):
    """Pad the lattices to one shape (with medium) and the kinds to one length: `(S, *shape)`,
    `(S, N_max + 1)`, the targets `(S, K)` and the free-site masks."""
    shape = tuple(max(s.shape[a] for s, _ in observations) for a in range(observations[0][0].ndim))
    length = max(k.shape[0] for _, k in observations)
    sites = np.stack([np.pad(s, [(0, n - m) for n, m in zip(shape, s.shape)]) for s, _ in observations])
    # Ids beyond a lattice's last cell hold no site; any valid kind will do for them.
    kinds = np.stack([np.pad(k, (0, length - k.shape[0]), constant_values=1) for _, k in observations])
    targets = np.stack([target_volumes(s, k, num_kinds) for s, k in observations])
    return sites, kinds, targets


def _softplus_inverse(y):
    return float(np.log(np.expm1(y)))


class _Layout:
    """Where the free parameters sit: upper-triangle pairs of J among the present kinds (and the
    medium), and the present kinds' lambda."""

    def __init__(self, num_kinds: int, present, contact0, lambda0):
        kinds = [0] + sorted(int(k) for k in present)
        self.pairs = np.array([(a, b) for i, a in enumerate(kinds) for b in kinds[i:] if (a, b) != (0, 0)],
                              np.int32).reshape(-1, 2)
        self.lam = np.array(kinds[1:], np.int32)
        self.num_kinds = num_kinds
        self.contact0 = np.asarray(contact0, np.float32)
        self.lambda0 = np.asarray(lambda0, np.float32)

    def initial(self) -> jax.Array:
        c = [_softplus_inverse(self.contact0[a, b]) for a, b in self.pairs]
        lam = np.log(self.lambda0[self.lam]).tolist()
        return jnp.asarray(np.array(c + lam, np.float32))

    def params(self, theta, target) -> PottsParams:
        n = self.pairs.shape[0]
        j = jax.nn.softplus(theta[:n])
        contact = jnp.asarray(self.contact0)
        contact = contact.at[self.pairs[:, 0], self.pairs[:, 1]].set(j).at[self.pairs[:, 1], self.pairs[:, 0]].set(j)
        lam = jnp.asarray(self.lambda0).at[self.lam].set(jnp.exp(theta[n:]))
        return PottsParams(contact=contact, lambda_volume=lam, target_volume=target, temperature=1.0)


def potts_params(contact, lambda_volume, target_volume) -> PottsParams:
    """`PottsParams` at temperature 1 (the scale `fit_potts` fixes), checked.

    Args:
      contact: `(K, K)` symmetric contact energies.
      lambda_volume: scalar or `(K,)` volume stiffness.
      target_volume: scalar or `(K,)` target volume in sites (e.g. `target_volumes`).

    Example:
      >>> p = potts_params(jnp.ones((3, 3)), 0.01, jnp.array([0.0, 20.0, 30.0]))
      >>> p.num_kinds, float(p.temperature)
      (3, 1.0)
    """
    from automata.potts_energy import check_params

    params = PottsParams(contact=jnp.asarray(contact, jnp.float32), lambda_volume=jnp.asarray(lambda_volume, jnp.float32),
                         target_volume=jnp.asarray(target_volume, jnp.float32), temperature=1.0)
    return check_params(params, owner="potts_params")


def fit_potts(observations, kind_names=KIND_NAMES, *, strategy=None, num_steps: int = 100, key=None,
              neighbourhood: str = "von_neumann", confine: bool = True, contact: float = 2.0,
              lambda_volume: float = 1e-3) -> TissueFit:
    """Fit contact energies and volume stiffness to observed lattices by pseudo-likelihood.

    Args:
      observations: a list of `(sites, kinds)` pairs: `sites` a 2D or 3D int lattice of cell ids
        (0 the medium, 1..N cells), `kinds` the `(N + 1,)` kind of each id (`kinds[0] = 0`, cells
        in 1..K-1; e.g. `neurosym.tissue.kinds_of(names)`). Lattices of different shapes are
        padded with medium.
      kind_names: the K kind names (index 0 the medium); default `KIND_NAMES`.
      strategy: an optax transformation (default `optax.adam(0.05)`) or an `EvolutionStrategy`.
      num_steps: gradient steps, or ES candidates; both strategies evaluate the loss
        `num_steps + 1` times.
      key: PRNG key, needed by `EvolutionStrategy` only.
      neighbourhood: "von_neumann" or "moore", the lattice's bonds and copy targets (the
        simulation must use the same).
      confine: hold the medium fixed (the embryo's outline), as `predict_contacts` does.
      contact: starting value of every `J` entry (> 0).
      lambda_volume: starting volume stiffness (> 0).

    Returns:
      a `TissueFit`.

    Example:
      >>> sites = np.zeros((8, 8), np.int32); sites[1:7, 1:4] = 1; sites[1:7, 4:7] = 2
      >>> fit = fit_potts([(sites, np.array([0, 1, 2]))], ("medium", "AB", "E"), num_steps=20)
      >>> fit.losses.shape, bool(fit.losses[-1] < fit.losses[0])
      ((21,), True)
    """
    owner = "fit_potts"
    if isinstance(kind_names, str) or len(tuple(kind_names)) < 2:
        raise fail(owner, f"kind_names must name the medium and at least one cell kind, got {kind_names!r}.")
    kind_names = tuple(str(k) for k in kind_names)
    num_kinds = len(kind_names)
    obs = _check_observations(observations, num_kinds, owner)
    num_steps = check_int(num_steps, "num_steps", 1, owner=owner)
    if neighbourhood not in NEIGHBOURHOODS:
        raise fail(owner, f"neighbourhood must be one of {NEIGHBOURHOODS}, got {neighbourhood!r}.")
    if not isinstance(confine, bool):
        raise fail(owner, f"confine must be True or False, got {confine!r}.", TypeError)
    contact = check_number(contact, "contact", minimum=0.0, open_minimum=True, owner=owner)
    lambda_volume = check_number(lambda_volume, "lambda_volume", minimum=0.0, open_minimum=True, owner=owner)
    if strategy is None:
        strategy = optax.adam(0.05)
    if isinstance(strategy, EvolutionStrategy):
        if key is None:
            raise fail(owner, "key is needed with an EvolutionStrategy (it draws the candidates), e.g. "
                       "key=jax.random.key(0).")
        key = check_key(key, owner=owner)
    elif not isinstance(strategy, optax.GradientTransformation):
        raise fail(owner, f"strategy must be an optax transformation (e.g. optax.adam(0.05)) or an "
                   f"EvolutionStrategy, got {type(strategy).__name__}.", TypeError)

    sites, kinds, targets = _stack(obs, num_kinds)
    present = sorted(set(np.unique(np.concatenate([k[np.unique(s[s > 0])] for s, k in obs])).tolist()))
    contact0 = np.full((num_kinds, num_kinds), contact, np.float32)
    contact0[0, 0] = 0.0
    layout = _Layout(num_kinds, present, contact0, np.full(num_kinds, lambda_volume, np.float32))
    lattice = automata.Lattice(sites.shape[1:], neighbourhood, boundary="fixed", fill=0.0)
    masks = sites > 0 if confine else np.ones(sites.shape, bool)
    num_free = float(masks.sum())

    def loss(theta, sites, kinds, targets, masks):
        def one(x, k, t, m):
            return pseudo_log_likelihood(layout.params(theta, t), x, lattice, k, mask=m if confine else None)
        return -jnp.sum(jax.vmap(one)(sites, kinds, targets, masks)) / num_free

    theta0 = layout.initial()
    data = tuple(jnp.asarray(a) for a in (sites, kinds, targets, masks))
    if isinstance(strategy, EvolutionStrategy):
        theta, losses = _run_es(loss, theta0, data, strategy.sigma, num_steps, key)
        name = "evolution"
    else:
        theta, losses = _run_gradient(loss, theta0, data, strategy, num_steps)
        name = "gradient"
    params = layout.params(theta, jnp.asarray(targets.mean(axis=0), jnp.float32))
    return TissueFit(params=params, losses=losses, kind_names=kind_names, free_kinds=tuple(present),
                     strategy=name)


def fit_loss(params: PottsParams, observations, *, neighbourhood: str = "von_neumann",
             confine: bool = True) -> float:
    """The loss `fit_potts` minimises, at `params`: the negative log pseudo-likelihood per free
    site over the observations, each with its own target volumes (`target_volumes`) and
    temperature 1. For held-out observations, or to compare parameters fitted in other ways.

    Args:
      params: `PottsParams` over K kinds.
      observations, neighbourhood, confine: as for `fit_potts`.

    Example:
      >>> sites = np.zeros((8, 8), np.int32); sites[1:7, 1:4] = 1; sites[1:7, 4:7] = 2
      >>> obs = [(sites, np.array([0, 1, 1]))]
      >>> cheap = fit_loss(potts_params(jnp.array([[0.0, 1.0], [1.0, 0.5]]), 0.01, 0.0), obs)
      >>> dear = fit_loss(potts_params(jnp.array([[0.0, 1.0], [1.0, 3.0]]), 0.01, 0.0), obs)
      >>> dear < cheap   # a straight cell-cell border is likelier when bending it costs more
      True
    """
    owner = "fit_loss"
    from automata.potts_energy import check_params

    check_params(params, owner=owner)
    obs = _check_observations(observations, params.num_kinds, owner)
    if neighbourhood not in NEIGHBOURHOODS:
        raise fail(owner, f"neighbourhood must be one of {NEIGHBOURHOODS}, got {neighbourhood!r}.")
    total, free = 0.0, 0.0
    for x, k in obs:
        lattice = automata.Lattice(x.shape, neighbourhood, boundary="fixed", fill=0.0)
        mask = jnp.asarray(x > 0) if confine else None
        p = params.replace(target_volume=jnp.asarray(target_volumes(x, k, params.num_kinds), jnp.float32),
                           temperature=jnp.asarray(1.0, jnp.float32))
        # Kinds padded to a power of two (ids beyond N hold no site) so that compiles are reused.
        k = np.pad(k, (0, (1 << int(np.ceil(np.log2(k.shape[0])))) - k.shape[0]), constant_values=1)
        total += float(_pll(p, jnp.asarray(x), lattice, jnp.asarray(k), mask))
        free += float((x > 0).sum()) if confine else float(x.size)
    return -total / free


@functools.partial(jax.jit, static_argnames=("lattice",))
def _pll(params, x, lattice, kinds, mask):
    return pseudo_log_likelihood(params, x, lattice, kinds, mask=mask)


def _run_gradient(loss, theta0, data, optimizer, num_steps: int):
    @jax.jit
    def run(theta, data):
        value_and_grad = jax.value_and_grad(loss)

        def step(carry, _):
            theta, opt_state = carry
            value, grad = value_and_grad(theta, *data)
            updates, opt_state = optimizer.update(grad, opt_state, theta)
            return (optax.apply_updates(theta, updates), opt_state), value

        (theta, _), values = jax.lax.scan(step, (theta, optimizer.init(theta)), None, length=num_steps)
        return theta, jnp.concatenate([values, loss(theta, *data)[None]])

    return run(theta0, data)


def _run_es(loss, theta0, data, sigma: float, num_steps: int, key):
    @jax.jit
    def run(theta, data, key):
        f0 = loss(theta, *data)

        def step(carry, i):
            theta, f, s = carry
            candidate = theta + s * jax.random.normal(jax.random.fold_in(key, i), theta.shape, theta.dtype)
            fc = loss(candidate, *data)
            better = fc <= f
            theta = jnp.where(better, candidate, theta)
            f = jnp.where(better, fc, f)
            s = s * jnp.where(better, jnp.exp(1.0 / 3.0), jnp.exp(-1.0 / 12.0))
            return (theta, f, s), f

        (theta, _, _), values = jax.lax.scan(step, (theta, f0, jnp.asarray(sigma, theta.dtype)), jnp.arange(num_steps))
        return theta, jnp.concatenate([f0[None], values])

    return run(theta0, data, key)
