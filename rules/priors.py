"""A prior over cell kinds from gene expression: per-kind likelihoods fitted to a cell x gene table.

Each row of the table is a cell (or a kind's reference profile) with a kind label; each column a
gene. The prior fits one distribution per kind and gene and, for a cell's expression vector `e`,
gives the posterior over kinds `log p(kind | e) = log p(kind) + sum_g log p(e_g | kind) - log Z`,
treating genes as independent given the kind (naive Bayes). Two likelihoods:

- `"gaussian"`: `e_g ~ Normal(mean[kind, g], std[kind, g])`, with the mean the kind's average
  over its rows and the std the pooled within-kind standard deviation of the gene (all kinds
  share it), falling back to the gene's standard deviation over all rows where no kind has two
  measured rows, and never below `min_std`. A fixed `std=` overrides the estimate.
- `"bernoulli"`: expression is binarised (`e_g > threshold`) and
  `on ~ Bernoulli(p[kind, g])`, `p = (rows on + alpha) / (rows + 2 alpha)` (additive smoothing
  with `alpha = smoothing`, which keeps log-probabilities finite).

Missing values are NaN. In the table they are left out of the fit; where a kind has no measured
row for a gene, that kind gets the gene's distribution over all rows (so the gene does not
favour or penalise it), and a gene with no measurement at all is ignored. In a query, a NaN gene
contributes nothing to any kind's likelihood.

Example:
  >>> import numpy as np
  >>> from rules.priors import GeneExpressionPrior
  >>> prior = GeneExpressionPrior.from_table(
  ...     np.array([[5.0, 0.0], [0.0, 5.0]]), genes=("pha-4", "hlh-1"), rows=("gut", "muscle"))
  >>> prior.kinds, int(prior.assign(np.array([4.5, 0.2])))
  (('gut', 'muscle'), 0)
"""

from __future__ import annotations

from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata._checks import check_choice, check_number, fail

__all__ = ["GeneExpressionPrior", "LIKELIHOODS"]

LIKELIHOODS = ("gaussian", "bernoulli")


_OWNER = "GeneExpressionPrior.from_table"


def _names(value, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise fail(_OWNER, f"{what} must be a sequence of names, got the single string {value!r}.", TypeError)
    return tuple(str(v) for v in value)


def _read_nested(table: Mapping, genes) -> tuple[np.ndarray, tuple]:
    """`{row: {gene: value}}` -> (values, genes): the genes are the union, missing entries NaN."""
    seen = []
    for r, entry in table.items():
        if not isinstance(entry, Mapping):
            raise fail(
                _OWNER, f"table rows must all be dicts of gene -> value like the first; row {r!r} is not.", TypeError
            )
        seen += [str(g) for g in entry if str(g) not in seen]
    if genes is None:
        genes = tuple(seen)
    else:
        genes = _names(genes, "genes")
        unknown = [g for g in seen if g not in genes]
        if unknown:
            raise fail(
                _OWNER,
                f"genes must name every gene of the table: the table has gene(s) {', '.join(unknown)} "
                f"that are not in genes={genes}; add them or drop them from the table.",
            )
    values = np.full((len(table), len(genes)), np.nan)
    for i, entry in enumerate(table.values()):
        for g, v in entry.items():
            values[i, genes.index(str(g))] = np.nan if v is None else float(v)
    return values, genes


def _read_values(table) -> np.ndarray:
    """A dict of rows or an array -> a `(rows, genes)` float64 array, checked to be 2D and non-empty."""
    if isinstance(table, Mapping):
        values = np.asarray([np.asarray(v, dtype=np.float64) for v in table.values()])
    else:
        try:
            values = np.asarray(table, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise fail(
                _OWNER, f"table must be a numeric cell x gene array or a dict; got {type(table).__name__}.", TypeError
            ) from err
    if values.ndim != 2:
        raise fail(_OWNER, f"table must be 2D (cells x genes), got shape {values.shape}.")
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise fail(_OWNER, f"table must have rows and genes; the expression table is empty (shape {values.shape}).")
    return values


def _axis_names(names, what: str, count: int, unit: str) -> tuple[str, ...]:
    """One name per table row or column, or an error saying how many are needed."""
    if names is None:
        raise fail(_OWNER, f"{what} must name the table's {count} {unit}s: pass {what}=(...).")
    names = _names(names, what)
    if len(names) != count:
        raise fail(_OWNER, f"{what} must have one name per {unit}: {len(names)} given for {count} {unit}s.")
    return names


def _read_table(table, genes, rows):
    """(values (R, G) float64, gene names, row names) from an array or a dict."""
    if isinstance(table, Mapping):
        if rows is not None:
            raise fail(_OWNER, "rows must not be given with a dict table: they are the dict's keys.")
        rows = tuple(str(r) for r in table)
        if not rows:
            raise fail(_OWNER, "table must have rows; the expression table is empty: it has no rows (cells or kinds).")
        if isinstance(next(iter(table.values())), Mapping):
            return (*_read_nested(table, genes), rows)
    values = _read_values(table)
    genes = _axis_names(genes, "genes", values.shape[1], "column")
    rows = _axis_names(rows, "rows", values.shape[0], "row")
    return values, genes, rows


class GeneExpressionPrior(struct.PyTreeNode):
    """A naive-Bayes prior over cell kinds given a cell's gene expression.

    Build it with `GeneExpressionPrior.from_table`. Fitted arrays are pytree leaves (they can be
    passed into jitted losses); names and the likelihood are static.

    Attributes:
      loc: `(num_kinds, num_genes)` per-kind mean expression (gaussian) or on-probability
        (bernoulli).
      scale: `(num_kinds, num_genes)` per-kind standard deviation (gaussian; ones for bernoulli).
      log_kind_prior: `(num_kinds,)` log-probabilities of the kinds before seeing expression.
      gene_mask: `(num_genes,)` 1 for genes with data, 0 for genes that are ignored.
      genes, kinds: names; likelihood: `"gaussian"` or `"bernoulli"`; threshold: binarisation
        threshold (bernoulli).
    """

    loc: jax.Array
    scale: jax.Array
    log_kind_prior: jax.Array
    gene_mask: jax.Array
    genes: tuple[str, ...] = struct.field(pytree_node=False)
    kinds: tuple[str, ...] = struct.field(pytree_node=False)
    likelihood: str = struct.field(pytree_node=False, default="gaussian")
    threshold: float = struct.field(pytree_node=False, default=0.5)

    @classmethod
    def from_table(
        cls,
        table,
        *,
        genes: Sequence[str] | None = None,
        rows: Sequence[str] | None = None,
        labels: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
        likelihood: str = "gaussian",
        std: float | None = None,
        min_std: float = 0.1,
        threshold: float = 0.5,
        smoothing: float = 0.5,
        kind_prior: str = "uniform",
    ) -> "GeneExpressionPrior":
        """Fit per-kind likelihoods to a cell x gene expression table.

        Args:
          table: `(num_rows, num_genes)` numbers (NaN = not measured) with `genes` and `rows`;
            or a dict `{row: {gene: value}}` (absent genes are missing); or a dict
            `{row: [values...]}` with `genes`.
          genes: gene names, one per column.
          rows: row names (cell names, or kinds when each row is a kind's profile).
          labels: optional kind of each row (default: the row names themselves).
          kinds: optional kind names in output order (default: labels in order of first
            appearance); a row labelled with a kind outside them is an error, and so is a kind
            without rows.
          likelihood: `"gaussian"` or `"bernoulli"` (see the module docs).
          std: fixed standard deviation for every kind and gene (gaussian); None to estimate.
          min_std: floor on estimated standard deviations (expression units).
          threshold: expression above which a gene counts as on (bernoulli).
          smoothing: additive smoothing `alpha` of the on-probabilities (bernoulli), positive.
          kind_prior: `"uniform"` or `"frequency"` (kinds weighted by their number of rows).

        Example:
          >>> prior = GeneExpressionPrior.from_table(
          ...     {"ABa": {"g1": 1.0, "g2": 0.0}, "ABp": {"g1": 1.0}, "EMS": {"g1": 0.0, "g2": 1.0}},
          ...     labels=("AB", "AB", "EMS"), likelihood="bernoulli")
          >>> prior.kinds, prior.genes
          (('AB', 'EMS'), ('g1', 'g2'))
        """
        _check_fit_options(likelihood, kind_prior, std, min_std, smoothing, _OWNER)
        values, genes, rows = _read_table(table, genes, rows)
        if len(set(genes)) != len(genes):
            dup = sorted({g for g in genes if genes.count(g) > 1})
            raise fail(_OWNER, f"genes must be unique names; repeated: {', '.join(dup)}.")
        labels, kinds = _kinds_of(rows, labels, kinds)
        label_idx = np.array([kinds.index(lab) for lab in labels])
        if likelihood == "gaussian":
            loc, scale = _fit_gaussian(values, label_idx, len(kinds), std, min_std)
        else:
            loc, scale = _fit_bernoulli(values, label_idx, len(kinds), threshold, smoothing)
        gene_mask = (~np.isnan(values)).any(axis=0)
        loc = np.where(gene_mask, loc, 0.0 if likelihood == "gaussian" else 0.5)
        f = jnp.result_type(float)
        return cls(
            loc=jnp.asarray(loc, f),
            scale=jnp.asarray(scale, f),
            log_kind_prior=jnp.asarray(_log_kind_prior(kind_prior, label_idx, len(kinds)), f),
            gene_mask=jnp.asarray(gene_mask, f),
            genes=genes,
            kinds=kinds,
            likelihood=likelihood,
            threshold=float(threshold),
        )

    @property
    def num_kinds(self) -> int:
        return len(self.kinds)

    @property
    def num_genes(self) -> int:
        return len(self.genes)

    def _align(self, expression, genes) -> jax.Array:
        """`expression` as `(..., num_genes)` in this prior's gene order (NaN where absent)."""
        if isinstance(expression, Mapping):
            if genes is not None:
                raise ValueError("genes= is taken from the dict's keys; do not pass both.")
            genes = tuple(str(g) for g in expression)
            if not genes:
                raise ValueError("The expression dict is empty; give at least one gene.")
            expression = jnp.stack([jnp.asarray(expression[g], jnp.result_type(float)) for g in expression], -1)
        x = jnp.asarray(expression)
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            x = x.astype(jnp.result_type(float))
        if x.ndim == 0:
            raise ValueError(
                f"expression must have the genes on its last axis, shape (..., {self.num_genes}); got a scalar."
            )
        if genes is None:
            if x.shape[-1] != self.num_genes:
                raise ValueError(
                    f"expression has {x.shape[-1]} gene(s) on its last axis (shape {tuple(x.shape)}) "
                    f"but the prior has {self.num_genes}: {', '.join(self.genes)}. Pass genes=(...) "
                    "to name the columns when they differ."
                )
            return x
        genes = _names(genes, "genes")
        if len(genes) != x.shape[-1]:
            raise ValueError(f"genes names {len(genes)} gene(s) but expression has {x.shape[-1]} on its last axis.")
        unknown = [g for g in genes if g not in self.genes]
        if unknown:
            raise ValueError(
                f"Unknown gene(s) {', '.join(unknown)}; the prior knows {', '.join(self.genes)}."
            )
        nan = jnp.full(x.shape[:-1], jnp.nan, x.dtype)
        cols = [x[..., genes.index(g)] if g in genes else nan for g in self.genes]
        return jnp.stack(cols, axis=-1)

    def log_likelihood(self, expression, *, genes: Sequence[str] | None = None) -> jax.Array:
        """Per-kind `sum_g log p(e_g | kind)` over the measured genes.

        Args:
          expression: `(..., num_genes)` expression (NaN = missing), or a dict gene -> `(...)`.
          genes: names of `expression`'s columns when they are not the prior's genes in order;
            prior genes absent from the query count as missing.

        Returns:
          `(..., num_kinds)` log-likelihoods (unnormalised over kinds).
        """
        x = self._align(expression, genes)
        observed = ~jnp.isnan(x) & (self.gene_mask > 0)
        # Zero out missing values before any arithmetic so that their (discarded) terms and
        # gradients stay finite.
        x0 = jnp.where(observed, x, 0.0)[..., None, :]
        if self.likelihood == "gaussian":
            z = (x0 - self.loc) / self.scale
            per = -0.5 * z**2 - jnp.log(self.scale) - 0.5 * np.log(2 * np.pi)
        else:
            on = (x0 > self.threshold).astype(x0.dtype)
            per = on * jnp.log(self.loc) + (1 - on) * jnp.log1p(-self.loc)
        return jnp.sum(jnp.where(observed[..., None, :], per, 0.0), axis=-1)

    def log_prob(self, expression, *, genes: Sequence[str] | None = None) -> jax.Array:
        """Posterior log-probabilities over kinds, `(..., num_kinds)` (log-softmax normalised).

        Example:
          >>> import numpy as np
          >>> prior = GeneExpressionPrior.from_table(np.eye(2), genes=("a", "b"), rows=("A", "B"))
          >>> bool(prior.log_prob(np.array([1.0, 0.0]))[0] > np.log(0.5))
          True
        """
        logits = self.log_likelihood(expression, genes=genes) + self.log_kind_prior
        return jax.nn.log_softmax(logits, axis=-1)

    def loss(
        self,
        logits,
        expression,
        *,
        genes: Sequence[str] | None = None,
        divergence: str = "kl",
        mask=None,
        target: str = "prior",
    ) -> jax.Array:
        """Mean divergence between the prior and predicted kind probabilities.

        With `q = softmax(logits)` the prediction and `p = exp(log_prob(expression))` the prior,
        `"kl"` is `KL(p || q) = sum_k p_k (log p_k - log q_k)`, zero exactly when `q = p`;
        `"cross_entropy"` is `-sum_k p_k log q_k`, which differs by the prior's entropy and has
        the same gradient in `logits`. The prior is a fixed target: no gradient flows into it.

        `target="posterior"` combines the two sources instead of pulling the prediction to the
        expression alone: the target is `p_k ∝ q_k * exp(log_likelihood(expression))_k` with `q`
        held fixed (no gradient), the posterior of a model whose kind prior is the current
        prediction and whose evidence is the expression (the kind-frequency term
        `log_kind_prior` is not used, since `q` carries it). Minimising it is one EM step of
        self-training: cells where image and expression agree become confident, and where they
        disagree the better-supported kind wins. The loss is zero when the expression does not
        distinguish the kinds `q` holds. Use it when the predictions come from a second source
        (e.g. an image encoder), so that neither source's errors are copied into the other.

        Args:
          logits: `(..., num_kinds)` predicted logits (or log-probabilities).
          expression: `(..., num_genes)` expression of the same cells (NaN = missing).
          genes: column names of `expression`, see `log_likelihood`.
          divergence: `"kl"` or `"cross_entropy"`.
          mask: optional `(...)` booleans or weights, e.g. a population's alive cells.

        Returns:
          a scalar: the (masked) mean over cells.
        """
        check_choice(divergence, "divergence", ("kl", "cross_entropy"), owner="GeneExpressionPrior.loss")
        check_choice(target, "target", ("prior", "posterior"), owner="GeneExpressionPrior.loss")
        logits = jnp.asarray(logits)
        if logits.ndim == 0 or logits.shape[-1] != self.num_kinds:
            raise ValueError(
                f"logits must have the {self.num_kinds} kinds ({', '.join(self.kinds)}) on their "
                f"last axis; got shape {tuple(logits.shape)}."
            )
        log_q = jax.nn.log_softmax(logits, axis=-1)
        if target == "prior":
            log_p = self.log_prob(expression, genes=genes)
        else:
            log_p = jax.nn.log_softmax(log_q + self.log_likelihood(expression, genes=genes), axis=-1)
        log_p = jax.lax.stop_gradient(log_p)
        if log_p.shape != logits.shape:
            raise ValueError(
                f"logits have shape {tuple(logits.shape)} but the expression gives priors of shape "
                f"{tuple(log_p.shape)}; give one row of logits per cell."
            )
        p = jnp.exp(log_p)
        per = -jnp.sum(p * log_q, axis=-1)
        if divergence == "kl":
            per = per + jnp.sum(p * log_p, axis=-1)
        if mask is None:
            return jnp.mean(per)
        mask = jnp.asarray(mask)
        if mask.shape != per.shape:
            raise ValueError(f"mask has shape {tuple(mask.shape)}; expected one entry per cell, {tuple(per.shape)}.")
        w = mask.astype(per.dtype)
        return jnp.sum(per * w) / jnp.maximum(jnp.sum(w), 1)

    def assign(self, expression, *, key: jax.Array | None = None, genes: Sequence[str] | None = None) -> jax.Array:
        """Kind indices for cells: the most probable kind, or a sample from the prior if `key`.

        Args:
          expression: `(..., num_genes)` (NaN = missing) or a dict gene -> `(...)`.
          key: optional PRNG key; with it each cell's kind is drawn from its posterior.

        Returns:
          `(...)` int32 indices into `kinds`.
        """
        log_p = self.log_prob(expression, genes=genes)
        if key is None:
            return jnp.argmax(log_p, axis=-1).astype(jnp.int32)
        return jax.random.categorical(key, log_p, axis=-1).astype(jnp.int32)


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean ignoring NaN; NaN (without a warning) where a column has no values."""
    measured = ~np.isnan(values)
    cnt = measured.sum(axis=axis)
    total = np.where(measured, values, 0.0).sum(axis=axis)
    return np.divide(total, cnt, out=np.full(total.shape, np.nan), where=cnt > 0)


def _nanstd(values: np.ndarray, axis: int) -> np.ndarray:
    """Population standard deviation ignoring NaN; NaN where a column has no values."""
    mean = _nanmean(values, axis)
    dev = np.where(np.isnan(values), 0.0, values - mean)
    cnt = (~np.isnan(values)).sum(axis=axis)
    return np.sqrt(np.divide((dev**2).sum(axis=axis), cnt, out=np.full(mean.shape, np.nan), where=cnt > 0))


def _check_fit_options(likelihood, kind_prior, std, min_std, smoothing, owner: str) -> None:
    """The fit's options, checked where the chosen likelihood uses them."""
    check_choice(likelihood, "likelihood", LIKELIHOODS, owner=owner)
    check_choice(kind_prior, "kind_prior", ("uniform", "frequency"), owner=owner)
    if likelihood == "bernoulli":
        check_number(smoothing, "smoothing", minimum=0.0, open_minimum=True, owner=owner)
    elif std is not None:
        check_number(std, "std", minimum=0.0, open_minimum=True, owner=owner)
    else:
        check_number(min_std, "min_std", minimum=0.0, open_minimum=True, owner=owner)


def _kinds_of(rows: tuple, labels, kinds) -> tuple[tuple, tuple]:
    """The kind label of each row and the kinds in output order, checked against each other."""
    labels = rows if labels is None else _names(labels, "labels")
    if len(labels) != len(rows):
        raise fail(_OWNER, f"labels must give one kind per row: it gives {len(labels)} for {len(rows)} row(s).")
    if kinds is None:
        kinds = tuple(dict.fromkeys(labels))
    else:
        kinds = _names(kinds, "kinds")
        if len(set(kinds)) != len(kinds):
            raise fail(_OWNER, f"kinds must be unique names, got {kinds}.")
        unknown = sorted({lab for lab in labels if lab not in kinds})
        if unknown:
            bad_rows = [r for r, lab in zip(rows, labels) if lab in unknown]
            raise fail(
                _OWNER,
                f"kinds must include every label: row(s) {', '.join(bad_rows)} have unknown kind(s) "
                f"{', '.join(unknown)}; known kinds: {', '.join(kinds)}.",
            )
    empty = [k for k in kinds if k not in labels]
    if empty:
        raise fail(
            _OWNER,
            f"kinds must all have rows: kind(s) {', '.join(empty)} have no rows in the table, so their "
            "expression cannot be estimated; add rows or leave them out of kinds.",
        )
    return labels, kinds


def _pooled_std(values: np.ndarray, loc: np.ndarray, label_idx: np.ndarray, min_std: float) -> np.ndarray:
    """`(num_genes,)` pooled within-kind standard deviation, floored at `min_std`.

    Squared deviations from each row's kind mean, over the rows of kinds with at least two
    measurements of the gene; the gene's standard deviation over all rows where no kind has two.
    """
    measured = ~np.isnan(values)
    num_genes = values.shape[1]
    dev = values - loc[label_idx]
    ss = np.zeros(num_genes)
    dof = np.zeros(num_genes)
    for k in range(loc.shape[0]):
        m = measured[label_idx == k]
        cnt = m.sum(axis=0)
        d = np.where(m, dev[label_idx == k], 0.0)
        ss += np.where(cnt >= 2, (d**2).sum(axis=0), 0.0)
        dof += np.where(cnt >= 2, cnt - 1, 0)
    pooled = np.sqrt(np.divide(ss, dof, out=np.zeros(num_genes), where=dof > 0))
    gene_std = np.where(dof > 0, pooled, _nanstd(values, axis=0))
    return np.maximum(np.nan_to_num(gene_std, nan=min_std), min_std)


def _fit_gaussian(values, label_idx, num_kinds: int, std, min_std) -> tuple[np.ndarray, np.ndarray]:
    """`(loc, scale)`, each `(num_kinds, num_genes)`: kind means and a fixed or pooled std."""
    num_genes = values.shape[1]
    gene_mask = (~np.isnan(values)).any(axis=0)
    overall_mean = np.where(gene_mask, _nanmean(values, axis=0), 0.0)
    loc = np.empty((num_kinds, num_genes))
    for k in range(num_kinds):
        kmean = _nanmean(values[label_idx == k], axis=0)
        loc[k] = np.where(np.isnan(kmean), overall_mean, kmean)
    if std is not None:
        return loc, np.full((num_kinds, num_genes), float(std))
    gene_std = _pooled_std(values, loc, label_idx, float(min_std))
    return loc, np.broadcast_to(gene_std, (num_kinds, num_genes)).copy()


def _fit_bernoulli(values, label_idx, num_kinds: int, threshold, smoothing) -> tuple[np.ndarray, np.ndarray]:
    """`(loc, scale)`: smoothed per-kind on-probabilities and ones, each `(num_kinds, num_genes)`."""
    measured = ~np.isnan(values)
    on = np.where(measured, values > threshold, False)
    tot_on, tot = on.sum(axis=0), measured.sum(axis=0)
    overall_p = (tot_on + smoothing) / (tot + 2 * smoothing)
    loc = np.empty((num_kinds, values.shape[1]))
    for k in range(num_kinds):
        sel = label_idx == k
        n_on, n = on[sel].sum(axis=0), measured[sel].sum(axis=0)
        loc[k] = np.where(n > 0, (n_on + smoothing) / (n + 2 * smoothing), overall_p)
    return loc, np.ones_like(loc)


def _log_kind_prior(kind_prior: str, label_idx: np.ndarray, num_kinds: int) -> np.ndarray:
    """`(num_kinds,)` log-probabilities: uniform, or by each kind's number of rows."""
    if kind_prior == "uniform":
        return np.full(num_kinds, -np.log(num_kinds))
    counts = np.bincount(label_idx, minlength=num_kinds)
    return np.log(counts / counts.sum())
