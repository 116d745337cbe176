"""Label efficiency and a new microscope: does a rule-constrained encoder need fewer labels?

Data: synthetic founder-lineage embryos (`neurosym.synthetic.simulate_embryo`: one P0 cell grown
to ~48 cells on a 16x16 lattice with the C. elegans founder table, rendered as a nuclei stain in
which the six founder kinds differ only moderately in brightness and texture; each cell has a
noisy marker-gene expression vector, one marker per founder, noise sd 0.6). 8 training embryos,
8 test embryos. `--unlabelled-embryos K` adds K training embryos whose cells are never labelled:
labels cost an expert's time, images and expression do not, and only the rules and the prior
can use them.

Conditions, each trained from the same initial encoder (by default the shipped pre-trained
`nuclei2d` body with a new six-kind head; `--init scratch` for random weights) for the same
number of steps:
  labels only     cross-entropy on N randomly chosen labelled training cells;
  labels + rules  the same, plus the gene-expression prior (`rules.GeneExpressionPrior` built
                  from the marker profiles) on the unlabelled training cells, and on all
                  training cells the fuzzy-logic rule "a founder clone is contiguous", Implies(X, AtLeast(1, X))
                  for X in AB, MS, E, C, D, on the contact graph. The expression term
                  (`--prior-target`, default "posterior") pulls each unlabelled cell's prediction
                  toward the posterior of the encoder's own prediction and the expression
                  likelihood (self-training); "prior" pulls it toward the expression prior alone.

Reported for each N: concept accuracy (the fraction of test cells whose predicted kind is the
true one, images only; no expression at test time) and rule satisfaction (the fraction of test
cells whose crisp predicted kinds satisfy every contiguity rule; a model can satisfy the rules
with swapped kinds, so the two are reported apart). Label efficiency: for each accuracy reached
by "labels only", the fewest labels with which "labels + rules" reaches it; the ratio.
`--repeats R` trains every condition from R initial encoders and reports the means (and each
run's accuracy): near the image's limit two runs that differ only in their initial weights
differ by up to 0.06, so single runs cannot compare the tops of the curves.

A new microscope: the test embryos are rendered again through a different random instrument
(`Microscope.sample`: blur, noise, gain, background, illumination drift); reported is the
in-sample vs out-of-sample accuracy with and without rules, and with rules plus adaptation to
the new images using the rule and prior terms alone (no labels from the new microscope).

Usage:
  python benchmarks/label_efficiency.py            # ~30 min on a 2-core CPU
  python benchmarks/label_efficiency.py --quick    # ~3 min
  python benchmarks/label_efficiency.py --init scratch --repeats 3 --budgets 6,24,48,192,384   # ~25 min
  python benchmarks/label_efficiency.py --init scratch --repeats 3 --budgets 6,24,48,192,384 \
      --unlabelled-embryos 24   # ~28 min; rules and prior then reach labels-only's best with 16x fewer labels
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from common import label_efficiency, label_masks, print_label_tables, run_meta
from neurosym.files import write_json
from neurosym.constraints import logic_loss, prior_loss
from neurosym.encoder import Encoder, cell_cross_entropy, load_pretrained, train
from neurosym.encoder import with_kinds
from neurosym.render import Microscope
from neurosym.synthetic import FOUNDERS, marker_profiles, simulate_embryo
from rules.logic import Constraint
from rules.priors import GeneExpressionPrior

RULES = [Constraint(f"Implies({k}, AtLeast(1, {k}))") for k in ("AB", "MS", "E", "C", "D")]


def stack(embryos):
    return {
        "image": jnp.asarray(np.stack([e.image for e in embryos])),
        "labels": jnp.asarray(np.stack([e.labels for e in embryos])),
        "kinds": jnp.asarray(np.stack([e.kinds for e in embryos])),
        "expression": jnp.asarray(np.nan_to_num(np.stack([e.expression for e in embryos]))),
        "neighbours": jnp.asarray(np.stack([e.neighbours for e in embryos])),
        "present": jnp.asarray(np.stack([e.present for e in embryos])),
    }


def rule_loss(logits, data):
    def one(l, n, present):
        return sum(logic_loss(c, l, FOUNDERS, neighbours=n, mask=present) for c in RULES) / len(RULES)

    return jnp.mean(jax.vmap(one)(logits, data["neighbours"], data["present"]))


def crisp_satisfaction(pred, data) -> float:
    ok = []
    for p, nbrs, present in zip(np.asarray(pred), np.asarray(data["neighbours"]), np.asarray(data["present"])):
        for i in np.flatnonzero(present):
            k = p[i]
            nb = [p[j] for j in nbrs[i] if j >= 0]
            ok.append(FOUNDERS[k] == "P4" or k in nb)
    return float(np.mean(ok))


def evaluate(model, data, num_labels):
    logits = model(data["image"], data["labels"], num_labels=num_labels)
    pred = np.asarray(jnp.argmax(logits, -1))
    present = np.asarray(data["present"])
    acc = float((pred == np.asarray(data["kinds"]))[present].mean())
    return acc, crisp_satisfaction(pred, data)


def balanced_accuracy(model, data, num_labels) -> float:
    """Mean over kinds of the fraction of that kind's test cells predicted right."""
    logits = model(data["image"], data["labels"], num_labels=num_labels)
    pred = np.asarray(jnp.argmax(logits, -1))[np.asarray(data["present"])]
    true = np.asarray(data["kinds"])[np.asarray(data["present"])]
    return float(np.mean([(pred[true == k] == k).mean() for k in np.unique(true)]))


def fit(init, data, labelled, *, with_rules, prior, num_steps, key, rule_weight, prior_weight, num_labels, supervised=True,
        prior_target="posterior"):
    def loss_fn(model, batch, k):
        logits = model(batch["image"], batch["labels"], num_labels=num_labels)
        loss = jnp.zeros(())
        aux = {}
        if supervised:
            ce = cell_cross_entropy(logits, batch["kinds"], labelled)
            loss = loss + ce
            aux["ce"] = ce
        if with_rules:
            # The prior speaks for the cells without labels; a label overrides it.
            free = batch["present"] if labelled is None else batch["present"] & ~labelled
            pr = jnp.mean(jax.vmap(lambda l, x, m: prior_loss(prior, l, x, FOUNDERS, mask=m, target=prior_target))(
                logits, batch["expression"], free))
            rl = rule_loss(logits, batch)
            loss = loss + prior_weight * pr + rule_weight * rl
            aux.update(prior=pr, rule=rl)
        return loss, aux

    # The data travel as the step's argument (not as compiled constants), so compiling is quick.
    return train(init, loss_fn, [data] * num_steps, num_steps=num_steps, key=key, optimizer=optax.adam(3e-3)).encoder


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--embryos", type=int, default=None, help="training (and test) embryos")
    p.add_argument("--unlabelled-embryos", type=int, default=0,
                   help="more training embryos whose cells are never labelled: images and expression that "
                        "only the rules and the prior can use")
    p.add_argument("--budgets", type=str, default=None, help="comma-separated numbers of labelled cells")
    p.add_argument("--rule-weight", type=float, default=1.0)
    p.add_argument("--prior-weight", type=float, default=1.0)
    p.add_argument("--prior-target", choices=("prior", "posterior"), default="posterior",
                   help="expression term: pull the encoder to the expression prior, or to the posterior "
                        "of its own prediction and the expression (self-training)")
    p.add_argument("--init", choices=("pretrained", "scratch"), default="pretrained",
                   help="start from the shipped nuclei2d body with a new head, or from random weights")
    p.add_argument("--repeats", type=int, default=1,
                   help="train each condition from this many initial encoders and report the mean: single "
                        "runs differ by up to 0.06 in accuracy near the image's limit")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    q = args.quick
    steps = args.steps or (120 if q else 300)
    n_emb = args.embryos or (4 if q else 8)
    if not 0 <= args.unlabelled_embryos <= 250 or n_emb > 250:
        raise SystemExit("--embryos and --unlabelled-embryos must be between 0 and 250 each: a seed's embryos "
                         "come from 1000 keys, in blocks of 250 for training, unlabelled and test embryos.")
    if args.repeats < 1:
        raise SystemExit(f"--repeats must be at least 1 (initial encoders per condition), got {args.repeats}.")
    budgets = [int(b) for b in args.budgets.split(",")] if args.budgets else ([6, 24, 96] if q else [6, 12, 24, 48, 96, 192, 384])
    t0 = time.perf_counter()
    train_emb = [simulate_embryo(jax.random.key(args.seed * 1000 + i)) for i in range(n_emb)]
    test_emb = [simulate_embryo(jax.random.key(args.seed * 1000 + 500 + i)) for i in range(n_emb)]
    new_scope = Microscope.sample(jax.random.key(args.seed + 77), base=Microscope.nuclei(len(FOUNDERS)))
    test_new = [simulate_embryo(jax.random.key(args.seed * 1000 + 500 + i), microscope=new_scope) for i in range(n_emb)]
    extra_emb = [simulate_embryo(jax.random.key(args.seed * 1000 + 250 + i)) for i in range(args.unlabelled_embryos)]
    train_data, test_data, new_data = stack(train_emb), stack(test_emb), stack(test_new)
    # The rules and the prior see every training embryo; labels only sees the labelled ones
    # (its loss has no term on an unlabelled cell, and the encoder's group norm works per image,
    # so more unlabelled images would change nothing there).
    pool_data = stack(train_emb + extra_emb) if extra_emb else train_data
    num_labels = train_emb[0].num_labels
    print(f"data: {n_emb} + {n_emb} embryos, {int(train_data['present'].sum())} training cells"
          + (f", {len(extra_emb)} unlabelled embryos ({int(pool_data['present'].sum())} training cells in all)" if extra_emb else "")
          + f", {time.perf_counter() - t0:.0f} s", flush=True)
    prior = GeneExpressionPrior.from_table(marker_profiles(FOUNDERS), std=0.6)
    # Kind frequencies are not uniform (AB is most of the embryo): estimate them from the
    # unlabelled training expression by EM on the mixture weights, then use them as the prior's
    # kind prior.
    expr = np.asarray(pool_data["expression"])[np.asarray(pool_data["present"])]
    loglik = np.asarray(prior.log_likelihood(jnp.asarray(expr)))
    weights = np.full(len(FOUNDERS), 1 / len(FOUNDERS))
    for _ in range(200):
        post = np.exp(loglik + np.log(weights) - (loglik + np.log(weights)).max(1, keepdims=True))
        post /= post.sum(1, keepdims=True)
        weights = post.mean(0)
    prior = prior.replace(log_kind_prior=jnp.asarray(np.log(np.maximum(weights, 1e-6)), jnp.float32))
    print("kind frequencies estimated from unlabelled expression:", dict(zip(FOUNDERS, np.round(weights, 3))), flush=True)
    present = np.asarray(train_data["present"])
    cells = np.argwhere(present)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(cells))
    # Initial encoders: the first from the seed (as a single run always was), the others from
    # further seeds; every condition and budget starts from the same ones.
    init_seeds = [args.seed] + [args.seed * 1000 + 500 + r for r in range(1, args.repeats)]
    if args.init == "pretrained":
        body = load_pretrained("nuclei2d")
        inits = [with_kinds(body, FOUNDERS, rngs=nnx.Rngs(s)) for s in init_seeds]
    else:
        inits = [Encoder(FOUNDERS, features=(8, 16), head_hidden=16, rngs=nnx.Rngs(s)) for s in init_seeds]
    counts = np.bincount(np.asarray(test_data["kinds"])[np.asarray(test_data["present"])], minlength=len(FOUNDERS))
    majority_acc = float(counts.max() / counts.sum())
    print(f"majority class ({FOUNDERS[int(counts.argmax())]}) on test cells: {majority_acc:.3f}", flush=True)
    prior_acc = float((np.asarray(jnp.argmax(prior.log_prob(test_data["expression"]), -1)) == np.asarray(test_data["kinds"]))[np.asarray(test_data["present"])].mean())
    print(f"the expression prior alone (not an image model) labels {prior_acc:.3f} of test cells", flush=True)
    rows = []
    for n, mask in label_masks(present, order, budgets):
        for with_rules in (False, True):
            t1 = time.perf_counter()
            if with_rules and extra_emb:
                mask = np.concatenate([mask, np.zeros((len(extra_emb),) + mask.shape[1:], bool)])
            data, labelled = (pool_data if with_rules else train_data), jnp.asarray(mask)
            runs = []
            for init in inits:
                model = fit(init, data, labelled, with_rules=with_rules,
                            prior=prior, num_steps=steps,
                            key=jax.random.key(args.seed), rule_weight=args.rule_weight, prior_weight=args.prior_weight,
                            num_labels=num_labels, prior_target=args.prior_target)
                run = dict(zip(("accuracy", "rule_satisfaction"), evaluate(model, test_data, num_labels)))
                run["balanced_accuracy"] = balanced_accuracy(model, test_data, num_labels)
                run["accuracy_new_microscope"], run["rule_satisfaction_new_microscope"] = evaluate(model, new_data, num_labels)
                if with_rules:
                    adapted = fit(model, new_data, None, with_rules=True, prior=prior, num_steps=max(steps // 3, 20),
                                  key=jax.random.key(args.seed + 1), rule_weight=args.rule_weight,
                                  prior_weight=args.prior_weight, num_labels=num_labels, supervised=False,
                                  prior_target=args.prior_target)
                    run["accuracy_new_microscope_adapted"], run["rule_satisfaction_new_microscope_adapted"] = evaluate(adapted, new_data, num_labels)
                runs.append(run)
            # Each measure is the mean over the initial encoders; the spread is kept beside it.
            row = dict(labels=n, rules=with_rules, **{k: float(np.mean([r[k] for r in runs])) for k in runs[0]})
            row["accuracy_runs"] = [r["accuracy"] for r in runs]
            row["seconds"] = time.perf_counter() - t1
            rows.append(row)
            spread = f" (runs {' '.join(f'{a:.3f}' for a in row['accuracy_runs'])})" if len(runs) > 1 else ""
            print(f"labels {n:4d} rules {'on ' if with_rules else 'off'}: accuracy {row['accuracy']:.3f}{spread}, "
                  f"balanced {row['balanced_accuracy']:.3f} (rules satisfied {row['rule_satisfaction']:.3f}); "
                  f"new microscope {row['accuracy_new_microscope']:.3f}"
                  + (f", adapted {row['accuracy_new_microscope_adapted']:.3f}" if with_rules else "")
                  + f"  ({row['seconds']:.0f} s)", flush=True)
    efficiency = label_efficiency(rows)
    print_label_tables(rows, efficiency)
    print("\nA new microscope (test embryos re-imaged):")
    print("| labelled cells | rules | in-sample | new microscope | gap | adapted without labels |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        adapted = f"{r['accuracy_new_microscope_adapted']:.3f}" if r["rules"] else "-"
        print(f"| {r['labels']} | {'on' if r['rules'] else 'off'} | {r['accuracy']:.3f} | {r['accuracy_new_microscope']:.3f} | "
              f"{r['accuracy'] - r['accuracy_new_microscope']:+.3f} | {adapted} |")
    print("\nGoal: the same accuracy with >= 5x fewer labelled cells when rules and priors are on.")
    meta = {
        **run_meta(argv), "steps": steps, "embryos": n_emb, "unlabelled_embryos": len(extra_emb), "init": args.init,
        "prior_target": args.prior_target, "repeats": args.repeats, "init_seeds": init_seeds,
        "new_microscope": {k: float(np.asarray(v)) for k, v in vars(new_scope).items() if k in ("blur", "noise", "gain", "background", "drift", "poisson")},
        "expression_prior_alone_accuracy": prior_acc, "majority_class_accuracy": majority_acc,
        "kind_frequencies_em": dict(zip(FOUNDERS, map(float, weights))),
        "seconds": time.perf_counter() - t0,
    }
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / "label_efficiency.json"
    write_json(out, {"meta": meta, "runs": rows, "efficiency": efficiency})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
