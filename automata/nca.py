"""Growing neural cellular automata: a learned residual update over Sobel perception.

Reference: A. Mordvintsev, E. Randazzo, E. Niklasson, M. Levin, "Growing Neural Cellular
Automata", Distill (2020), doi:10.23915/distill.00023.

The growing CA is a composition of the engine's pieces:

    growing_nca(params) == AliveMasked(Stochastic(NCAUpdate(params), fire_rate=0.5),
                                       channel=3, threshold=0.1)

`NCAUpdate` is the deterministic residual update `x + MLP(perceive(x))`; the update schemes add
the random per-cell firing and the alive masking. Train `params` (an `NCAParams` pytree) with any
optax optimiser and rebuild the rule inside the loss.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata.lattice import Lattice
from automata.rule import Rule
from automata.schemes import AliveMasked, Stochastic
from automata.state import LatticeState


@functools.lru_cache(maxsize=4)
def perception_filters(ndim: int = 2) -> np.ndarray:
    """The fixed perception filters: identity, then one Sobel derivative per axis.

    In 2D these are the identity, Sobel-x (derivative along axis 1, the image's x) and Sobel-y
    (along axis 0), each Sobel divided by 8 as in Mordvintsev et al. 2020. In `ndim` dimensions
    a derivative `[-1, 0, 1]` along one axis is smoothed by `[1, 2, 1]` on every other axis and
    divided by `2 * 4 ** (ndim - 1)`; the derivatives come in order of the last axis first.

    Returns:
      float32 array of shape `(1 + ndim, 3, ..., 3)`; filters are applied as correlations,
      `y[i] = sum_o k[o + 1] x[i + o]`.

    Example:
      >>> perception_filters(2)[1]
      array([[-0.125,  0.   ,  0.125],
             [-0.25 ,  0.   ,  0.25 ],
             [-0.125,  0.   ,  0.125]], dtype=float32)
    """
    ident = np.zeros((3,) * ndim)
    ident[(1,) * ndim] = 1.0
    filters = [ident]
    smooth, deriv = np.array([1.0, 2.0, 1.0]), np.array([-1.0, 0.0, 1.0])
    for axis in reversed(range(ndim)):
        k = np.ones((1,) * ndim)
        for a in range(ndim):
            v = deriv if a == axis else smooth
            k = k * v.reshape((1,) * a + (3,) + (1,) * (ndim - a - 1))
        filters.append(k / (2 * 4 ** (ndim - 1)))
    return np.stack(filters).astype(np.float32)


class NCAParams(struct.PyTreeNode):
    """Weights of the update network: `dx = relu(p @ w1 + b1) @ w2 + b2` at every site.

    The perception vector `p` of a site holds, for each channel `c` and filter `f` of
    `perception_filters(ndim)`, the feature at index `c * (1 + ndim) + f` (48 features for 16
    channels in 2D).

    Attributes:
      w1: `(num_features, hidden)` first dense layer.
      b1: `(hidden,)`.
      w2: `(hidden, channels)` second dense layer (zero at initialisation).
      b2: `(channels,)`.
    """

    w1: jax.Array
    b1: jax.Array
    w2: jax.Array
    b2: jax.Array

    @property
    def channels(self) -> int:
        """Number of state channels the network reads and writes."""
        return self.w2.shape[-1]

    @property
    def hidden(self) -> int:
        """Width of the hidden layer."""
        return self.w1.shape[-1]

    @property
    def ndim(self) -> int:
        """Number of lattice axes the perception expects (features per channel minus one)."""
        return self.w1.shape[0] // self.channels - 1


def init_nca(key: jax.Array, channels: int = 16, hidden: int = 128, ndim: int = 2,
             dtype=jnp.float32) -> NCAParams:
    """Initial `NCAParams`: Glorot-uniform `w1`, zero biases and a zero last layer.

    The zero last layer makes the untrained CA do nothing, so training starts from a stable
    "do nothing" rule (Mordvintsev et al. 2020).

    Args:
      key: PRNG key.
      channels: state channels (4 visible RGBA + hidden ones; 16 in the paper).
      hidden: width of the hidden layer (128 in the paper).
      ndim: lattice axes (2 for images); sets the number of perception features,
        `channels * (1 + ndim)`.

    Example:
      >>> import jax
      >>> params = init_nca(jax.random.key(0))
      >>> params.w1.shape, params.w2.shape
      ((48, 128), (128, 16))
    """
    for name, v in (("channels", channels), ("hidden", hidden)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"init_nca {name} must be a positive integer, got {v!r}.")
    if ndim not in (1, 2, 3):
        raise ValueError(f"init_nca ndim must be 1, 2 or 3 (lattice axes), got {ndim!r}.")
    num_features = channels * (1 + ndim)
    limit = math.sqrt(6.0 / (num_features + hidden))
    w1 = jax.random.uniform(key, (num_features, hidden), dtype, -limit, limit)
    return NCAParams(
        w1=w1,
        b1=jnp.zeros((hidden,), dtype),
        w2=jnp.zeros((hidden, channels), dtype),
        b2=jnp.zeros((channels,), dtype),
    )


def _filter_outputs(lattice: Lattice, x: jax.Array) -> list[jax.Array]:
    """Each perception filter applied to every channel: `1 + ndim` arrays shaped like `x`."""
    nd = lattice.ndim
    xp = lattice.pad(x, 1)
    scale = jnp.asarray(1.0 / (2 * 4 ** (nd - 1)), x.dtype)
    feats = [x]
    for axis in reversed(range(nd)):
        y = xp
        for a, n in enumerate(lattice.shape):
            lo = jax.lax.slice_in_dim(y, 0, n, axis=a)
            hi = jax.lax.slice_in_dim(y, 2, n + 2, axis=a)
            if a == axis:
                y = hi - lo
            else:
                y = lo + 2 * jax.lax.slice_in_dim(y, 1, n + 1, axis=a) + hi
        feats.append(y * scale)
    return feats


def perceive(lattice: Lattice, x: jax.Array) -> jax.Array:
    """Perception vectors: every filter of `perception_filters` applied to every channel.

    The Sobel filters are separable, so each is computed as a difference along its axis and a
    `[1, 2, 1]` smoothing along the others, on the lattice-padded field (the lattice's boundary
    decides what lies beyond the edge).

    Args:
      lattice: the lattice.
      x: field of shape `(*lattice.shape, channels)`.

    Returns:
      shape `(*lattice.shape, channels * (1 + ndim))`, feature `c * (1 + ndim) + f` being filter
      `f` on channel `c`.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> lat = automata.Lattice((5, 5), boundary="fixed")
      >>> ramp = jnp.broadcast_to(jnp.arange(5.0), (5, 5))[..., None]  # x increases along axis 1
      >>> perceive(lat, ramp)[2, 2].tolist()
      [2.0, 1.0, 0.0]
    """
    feats = _filter_outputs(lattice, x)
    return jnp.stack(feats, axis=-1).reshape(x.shape[:-1] + (x.shape[-1] * len(feats),))


class NCAUpdate(Rule):
    """The deterministic residual update of the growing neural CA, `x + MLP(perceive(x))`.

    Perception (`perceive`: identity and Sobel filters per channel) reads the lattice-padded
    state, so the lattice's boundary decides what lies beyond the edge (Mordvintsev et al. 2020
    pad with zeros: `Lattice(shape, boundary="fixed")`). The perception is computed with shifted
    slices and fed to a dense layer rather than folded with that layer into one 3x3 convolution:
    the folded form does three times the multiply-adds, and on CPU its filter gradient (a
    convolution inside the rollout's backward scan) makes a training step much slower.

    Args:
      params: `NCAParams` (trainable).

    State: floating `x` of shape `(*lattice.shape, params.channels)`.

    Example:
      >>> import jax, automata
      >>> lat = automata.Lattice((32, 32), boundary="fixed")
      >>> rule = NCAUpdate(init_nca(jax.random.key(0)))
      >>> automata.step(rule, lat, seed_state(lat)).x.shape
      (32, 32, 16)
    """

    params: NCAParams

    def reach(self, lattice: Lattice) -> int:
        return 1

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        lattice.check_field(state.x, "state.x")
        p = self.params
        if not isinstance(p, NCAParams):
            raise TypeError(f"NCAUpdate needs NCAParams (see init_nca), got {type(p).__name__}.")
        c, h = p.channels, p.hidden
        expected = {"w1": (c * (1 + lattice.ndim), h), "b1": (h,), "w2": (h, c), "b2": (c,)}
        for name, shp in expected.items():
            got = tuple(jnp.shape(getattr(p, name)))
            if got != shp:
                raise ValueError(
                    f"NCAParams.{name} has shape {got}, but a {c}-channel network with hidden "
                    f"width {h} on a {lattice.ndim}D lattice needs {shp}; build the parameters "
                    f"with init_nca(key, channels={c}, hidden={h}, ndim={lattice.ndim})."
                )
        x = state.x
        if x.ndim != lattice.ndim + 1 or x.shape[-1] != c:
            raise ValueError(
                f"NCAUpdate expects state.x with {c} channels, shape {lattice.shape + (c,)}, got "
                f"{tuple(x.shape)}; build the parameters with init_nca(key, channels="
                f"{x.shape[-1] if x.ndim == lattice.ndim + 1 else 'C'}) or use seed_state(lattice, "
                f"channels={c})."
            )
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(f"NCA states must be floating point, got state.x of dtype {x.dtype}.")

    def __call__(self, lattice: Lattice, state: LatticeState, *, key=None) -> jax.Array:
        x = state.x
        p = self.params
        # Concatenating the filter outputs (filter-major) and reordering w1's rows to match is
        # cheaper than interleaving the features into the documented channel-major order.
        feats = jnp.concatenate(_filter_outputs(lattice, x), axis=-1)
        nf = 1 + lattice.ndim
        w1 = p.w1.reshape(p.channels, nf, p.hidden).swapaxes(0, 1).reshape(-1, p.hidden)
        h = jax.nn.relu(feats @ w1.astype(x.dtype) + p.b1.astype(x.dtype))
        return x + h @ p.w2.astype(x.dtype) + p.b2.astype(x.dtype)


def growing_nca(params: NCAParams, fire_rate: float = 0.5, channel: int = 3,
                threshold: float = 0.1) -> AliveMasked:
    """The growing neural CA rule: `AliveMasked(Stochastic(NCAUpdate(params), fire_rate), ...)`.

    Each step every cell fires with probability `fire_rate` (taking its residual update), then
    every cell with no cell of `x[..., channel] > threshold` in its 3x3 neighbourhood, before or
    after the update, is zeroed (Mordvintsev et al. 2020). Use a lattice with the Moore
    neighbourhood of radius 1 (the alive test reads it) and `boundary="fixed"` (zero padding).

    Args:
      params: `NCAParams` from `init_nca` (or trained).
      fire_rate: probability that a cell updates in a step; 1.0 makes the rule deterministic
        given the key.
      channel: the "alpha" channel that says whether a cell is alive.
      threshold: alive threshold on that channel.

    Example:
      >>> import jax, automata
      >>> lat = automata.Lattice((32, 32), boundary="fixed")
      >>> rule = growing_nca(init_nca(jax.random.key(0)))
      >>> final, _ = automata.rollout(rule, lat, seed_state(lat), key=jax.random.key(1),
      ...                             num_steps=8, record=False)
      >>> final.x.shape
      (32, 32, 16)
    """
    return AliveMasked(Stochastic(NCAUpdate(params), fire_rate), channel=channel, threshold=threshold)


def seed_state(lattice: Lattice, channels: int = 16, dtype=jnp.float32) -> LatticeState:
    """The growing CA's seed: all zeros except the central site, whose channels 3: are 1.

    Args:
      lattice: the lattice (any dimension).
      channels: state channels, at least 4 (RGB, alpha, then hidden channels).

    Example:
      >>> import automata
      >>> s = seed_state(automata.Lattice((9, 9)))
      >>> float(s.x[4, 4, 3]), float(s.x.sum())
      (1.0, 13.0)
    """
    if not isinstance(lattice, Lattice):
        raise TypeError(f"seed_state needs an automata.Lattice, got {type(lattice).__name__}.")
    if not isinstance(channels, (int, np.integer)) or channels < 4:
        raise ValueError(
            f"seed_state needs at least 4 channels (RGB, alpha, hidden...), got {channels!r}."
        )
    centre = tuple(n // 2 for n in lattice.shape)
    x = jnp.zeros(lattice.shape + (channels,), dtype).at[centre + (slice(3, None),)].set(1.0)
    return LatticeState(x=x, t=jnp.asarray(0, jnp.int32))
