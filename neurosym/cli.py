"""The `neurosym` command: argument parsing and calls into the library, nothing more.

  neurosym fit [--data PATH [PATH ...]] [--format cd|acetree|tracks] [--minutes-per-frame M]
               [--embryo NAME] [--strict] [--out DIR] [--steps N] [--starts N] [--game] [--seed N]
               [--predict-only --from-fit FIT.json [--calibrate-minutes M]] [--quiet]
      Fit the division-timing model (cell-cycle lengths per lineage and generation, asynchrony,
      cell-cycle exit, apoptosis; per embryo a time scale and an observation loss) to one or
      several embryos' lineages at once (paths, or a folder of tables); the embedded C. elegans
      embryo when no --data is given. With --predict-only --from-fit, the model of an earlier
      fit.json predicts the embryos instead, none of their data fitted. Writes fit.json and
      figures to DIR (default ./neurosym-out). (`neurosym.fit.report.fit_embryos`)

  neurosym simulate [--from-fit FIT.json] [--minutes N] [--cv CV] [--size N] [--capacity N]
                    [--out DIR] [--seed N]
      Run the stochastic division model on a lattice (the founder divisions from P0, or the
      whole model of a fit.json) and write its cell counts, a picture and the named lineage.
      (`neurosym.fit.simulate`)

  neurosym tissue fit [--segmentation DIR] [--until T] [--factor F] [--steps N] [--strategy adam|es]
                      [--out DIR] [--seed N] [--quiet]
  neurosym tissue predict --fit DIR [--from DIR] --time T --until T2 [--mcs-per-time N] [--out DIR]
                          [--schedule observed|timed] [--seed N] [--quiet]
      The cellular Potts model on a named segmentation series (the embedded 3DMMS embryo by
      default): fit contact energies, volume stiffness and division axes; predict the named
      contacts of later time points from an observed one. (`neurosym.tissue.report`)

  neurosym label --images DIR --segmentation DIR --labels FILE [--out DIR] [--factor F] [--steps N]
                 [--seed N] [--quiet]
      Name every segmented cell of an image series by its founder lineage (AB, MS, E, C, D, P)
      from the founders of a few cells (a CSV time,label,founder): a classifier on each cell's
      image and shape, with anonymous tracking, the expected founder composition and spatial
      rules. Writes predictions.csv, founders.png and summary.json. (`neurosym.founders.label`)

  neurosym demo [--out DIR] [--quick] [--seed N]
      A tour of the engine: Life, Brian's Brain, Lenia's orbium and a growing neural CA trained
      to grow a drawn embryo. Writes pictures and `summary.json` to DIR
      (default `./neurosym-out/demo`). (`neurosym.demo.demo`)

Bad input ends with one line `neurosym: ...` on stderr naming the flag to change, exit code 1
(2 for usage errors), and no output folder: outputs appear only when complete.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import pathlib
import re
import sys
import warnings

from neurosym.demo import demo  # noqa: F401  (importable from here as before)
from neurosym.files import write_json  # noqa: F401  (importable from here as before)

DEFAULT_OUT = pathlib.Path("neurosym-out")

# The library names its arguments; the command names its flags.
FLAGS = {
    "data": "--data", "format": "--format", "minutes_per_frame": "--minutes-per-frame", "embryo": "--embryo",
    "strict": "--strict", "out": "--out", "num_steps": "--steps", "num_starts": "--starts", "seed": "--seed",
    "from_fit": "--from-fit", "calibrate_minutes": "--calibrate-minutes", "minutes": "--minutes", "cv": "--cv", "size": "--size", "capacity": "--capacity",
    "segmentation": "--segmentation", "until": "--until", "time": "--time", "fit": "--fit", "source": "--from",
    "factor": "--factor", "strategy": "--strategy", "mcs_per_time": "--mcs-per-time", "images": "--images",
    "schedule": "--schedule",
    "labels": "--labels",
}
_PHRASES = (  # API phrases with no argument of the same name
    (r"table\.select\(embryo=\.\.\.\)", "--embryo"),
    (r" \(see neurosym\.(?:io|datasets)\.list_celegans\(\)\)", ""),
    (r"\bload_celegans: name\b", "--embryo"),
    (r"^(?:read\w*|load_celegans): ", ""),
    (r"pass time_file=False to ignore it", "move the TIME file away to ignore it"),
    (r"\bpass name=\.\.\.", "pass --embryo ..."),
    (r"^(?:\w+: )?path must name a file", "--data must name a file"),
    (r"\bpass path=\.\.\.", "pass --data ..."),
    (r"\btime_file=(\.\.\.)?|\btime_file\b", "a TIME file"),
)


def flags(message: str) -> str:
    """A library message with its argument names (`FLAGS`) replaced by the command's flags.

    Example:
      >>> flags("cannot tell the format; pass format=... or minutes_per_frame=1.5")
      'cannot tell the format; pass --format ... or --minutes-per-frame 1.5'
      >>> flags("drop minutes_per_frame= to use the TIME file; pass strict=True to refuse")
      'drop --minutes-per-frame to use the TIME file; pass --strict to refuse'
    """
    for pattern, text in _PHRASES:
        message = re.sub(pattern, text, message)
    for name, flag in FLAGS.items():
        message = re.sub(rf"\b{name}=True\b", flag, message)
        message = re.sub(rf"\b{name}=\.\.\.", flag + " ...", message)
        message = re.sub(rf"\b{name}=(?=[\s,.;:)]|$)", flag, message)
        message = re.sub(rf"\b{name}=", flag + " ", message)
        if "_" in name:  # a bare identifier (never an English word)
            message = re.sub(rf"\b{name}\b", flag, message)
    return message


def _flag_value(text: str, convert, what: str, ok, wanted: str):
    """`convert(text)` if `ok` holds for it, else the argparse error that names what was wanted."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
    return value


def _positive_int(text: str) -> int:
    return _flag_value(text, int, "a whole number", lambda v: v >= 1, "at least 1")


def _minutes(text: str) -> float:
    return _flag_value(text, float, "a number of minutes", lambda v: math.isfinite(v) and v > 0, "positive")


def _minutes_per_frame(text: str) -> float:
    from neurosym.fit.inputs import MAX_MINUTES_PER_FRAME

    return _flag_value(text, float, "a number of minutes", lambda v: math.isfinite(v) and 0 < v <= MAX_MINUTES_PER_FRAME,
                       f"a number of minutes in (0, {MAX_MINUTES_PER_FRAME:g}]")


def _fit(args) -> None:
    from neurosym.fit.report import fit_embryos

    if args.predict_only and args.from_fit is None:
        raise ValueError("--predict-only needs --from-fit FIT.json, the fit whose model predicts the embryos.")
    if args.from_fit is not None and not args.predict_only:
        raise ValueError("--from-fit needs --predict-only (fit predicts from an earlier fit.json only when asked).")
    fit_embryos(args.data, out=args.out, format=args.format, minutes_per_frame=args.minutes_per_frame,
                embryo=args.embryo, strict=args.strict, num_steps=args.steps, num_starts=args.starts,
                game=args.game, seed=args.seed, from_fit=args.from_fit, calibrate_minutes=args.calibrate_minutes,
                progress=not args.quiet)


def _simulate(args) -> None:
    from neurosym.files import check_out_folder
    from neurosym.fit.simulate import load_fit_model, simulate_embryo, write_simulation

    check_out_folder(args.out)
    spec = None if args.from_fit is None else load_fit_model(args.from_fit)
    sim = simulate_embryo(spec, minutes=args.minutes, cv=args.cv, size=args.size, capacity=args.capacity,
                          seed=args.seed)
    write_simulation(args.out, sim)


def _tissue(args) -> None:
    from neurosym.tissue.report import tissue_fit, tissue_predict

    if args.tissue_command == "fit":
        tissue_fit(args.segmentation, out=args.out, until=args.until, factor=args.factor, num_steps=args.steps,
                   strategy=args.strategy, seed=args.seed, progress=not args.quiet)
    else:
        tissue_predict(args.fit, args.source, time=args.time, until=args.until, out=args.out,
                       mcs_per_time=args.mcs_per_time, seed=args.seed, schedule=args.schedule, progress=not args.quiet)


def _tissue_parser(sub) -> None:
    t = sub.add_parser("tissue", help="the embryo as a lattice of cells: fit a cellular Potts model to named "
                       "segmentations, predict later contacts",
                       description="The cellular Potts model on named 3D segmentations (the embedded 3DMMS "
                       "embryo by default).")
    tsub = t.add_subparsers(dest="tissue_command", metavar="fit|predict", required=True)
    f = tsub.add_parser("fit", help="fit contact energies, volume stiffness and division axes",
                        description="Fit the CPM's contact energies between founder kinds and the medium and its "
                        "volume stiffness (pseudo-likelihood), and division axes per founder kind, to a named "
                        "segmentation series. Writes fit.json and fit.png to DIR.")
    f.add_argument("--segmentation", default=None,
                   help="folder of seg_T###.npz label volumes with label_names.json (default: the embedded embryo)")
    f.add_argument("--until", type=int, default=None, help="last time point fitted (default: all)")
    f.add_argument("--factor", type=_positive_int, default=None,
                   help="voxels per lattice site (default: the smallest with at most 80 sites a side)")
    f.add_argument("--steps", type=_positive_int, default=150, help="optimiser steps (default: %(default)s)")
    f.add_argument("--strategy", choices=("adam", "es"), default="adam",
                   help="adam (gradient) or es (a (1+1) evolution strategy) (default: %(default)s)")
    f.add_argument("--out", default=str(DEFAULT_OUT / "tissue-fit"), help="output folder (default: %(default)s)")
    f.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    f.add_argument("--quiet", action="store_true", help="no progress lines")
    p = tsub.add_parser("predict", help="predict later named contacts from an observed time point",
                        description="From the observed time point --time, divide the cells that the names at each "
                        "later time point say divide (axes drawn from the fit, daughters named from them) and run "
                        "the CPM; writes contacts.csv (time,cell_a,cell_b,area), scores.csv (F1 and area overlap "
                        "against the observed contacts, persistence beside) and figures to DIR.")
    p.add_argument("--fit", required=True, help="the folder (or fit.json) of `neurosym tissue fit`")
    p.add_argument("--from", dest="source", default=None,
                   help="folder of the observed series, as --segmentation (default: the embedded embryo)")
    p.add_argument("--time", type=int, required=True, help="the observed time point to start from")
    p.add_argument("--until", type=int, required=True, help="the last time point predicted")
    p.add_argument("--mcs-per-time", type=_positive_int, default=10,
                   help="Monte Carlo steps per time point (default: %(default)s)")
    p.add_argument("--schedule", choices=("observed", "timed"), default="observed",
                   help="which cells divide: as the later names say (observed), or from the embedded embryos' "
                   "cycle times at the series' pace calibrated up to --time (timed) (default: %(default)s)")
    p.add_argument("--out", default=str(DEFAULT_OUT / "tissue-predict"), help="output folder (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    t.set_defaults(run=_tissue)


def _label(args) -> None:
    from neurosym.founders.label import label_cells

    label_cells(args.images, args.segmentation, args.labels, out=args.out, factor=args.factor, num_steps=args.steps,
                seed=args.seed, progress=not args.quiet)


def _label_parser(sub) -> None:
    g = sub.add_parser("label", help="name every segmented cell by founder lineage from a few known cells",
                       description="Name every segmented cell of an image series by its founder lineage (AB, MS, E, "
                       "C, D, P) from the founders of a few cells: a classifier on each cell's image and shape, with "
                       "anonymous tracking (mask overlap), the expected founder composition (the division-timing "
                       "model fitted on the embedded embryos) and spatial rules from the literature. Label numbers "
                       "are identifiers only; no name file is read. Writes predictions.csv "
                       "(time,label,founder,p_AB,...,p_P), founders.png and summary.json to DIR.")
    g.add_argument("--images", required=True, help="folder of image volumes, one per time point (memb_T###.npz, ...)")
    g.add_argument("--segmentation", required=True, help="folder of label volumes (seg_T###.npz, ...)")
    g.add_argument("--labels", required=True, help="CSV time,label,founder of the cells whose founder is known")
    g.add_argument("--out", default=str(DEFAULT_OUT / "label"), help="output folder (default: %(default)s)")
    g.add_argument("--factor", type=_positive_int, default=4,
                   help="voxels per working-grid site along each axis (default: %(default)s)")
    g.add_argument("--steps", type=_positive_int, default=400, help="classifier training steps (default: %(default)s)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    g.add_argument("--quiet", action="store_true", help="no progress lines")
    g.set_defaults(run=_label)


def _demo(args) -> None:
    demo(args.out, quick=args.quick, seed=args.seed)


def _fit_parser(sub) -> None:
    f = sub.add_parser(
        "fit", help="fit a division model to an embryo's lineage (the main job)",
        description="Fit cell-cycle lengths per lineage and generation (shrunk towards each lineage's "
        "trend), asynchrony, cell-cycle exit, apoptosis and, per embryo, a time scale and an observation "
        "loss, to the number of cells of each lineage over time and the observed fate of every cell. "
        "Several embryos are fitted together. With no --data, the embedded C. elegans embryo is used. "
        "Writes fit.json (fitted and directly measured cycle lengths per lineage and per generation, "
        "parameters, the whole fitted model, observed and simulated counts, loss history, data summary) "
        "and figures.",
    )
    f.add_argument("--data", default=None, nargs="+",
                   help="CD tables (.csv/.csv.gz), AceTree nuclei .zip or track tables (.csv), or a folder of them")
    f.add_argument("--format", choices=("cd", "acetree", "tracks"), default=None,
                   help="file format (default: worked out from the file)")
    f.add_argument("--minutes-per-frame", type=_minutes_per_frame, default=None,
                   help="minutes between frames, for data without a TIME file (refused where one exists)")
    f.add_argument("--embryo", default=None, help="which embryo (embedded name, or one in a multi-embryo file)")
    f.add_argument("--strict", action="store_true", help="refuse data whose lineage breaks a rule")
    f.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: %(default)s)")
    f.add_argument("--steps", type=_positive_int, default=200, help="optimiser steps (default: %(default)s)")
    f.add_argument("--starts", type=_positive_int, default=4,
                   help="initial guesses fitted side by side (default: %(default)s)")
    f.add_argument("--game", action="store_true",
                   help="add the game (payoff-driven division) term; off by default, as it did not improve "
                   "prediction of held-out embryos")
    f.add_argument("--no-game", action="store_true", help=argparse.SUPPRESS)  # the default; kept for old scripts
    f.add_argument("--predict-only", action="store_true",
                   help="fit nothing: predict the embryos with the model of --from-fit")
    f.add_argument("--from-fit", default=None, help="fit.json of an earlier fit (with --predict-only)")
    f.add_argument("--calibrate-minutes", type=_minutes, default=None,
                   help="with --predict-only: set each embryo's time scale from its cells born and divided "
                   "in its first M minutes (against the same kinds in the fit's embryos), then predict")
    f.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    f.add_argument("--quiet", action="store_true", help="no progress lines")
    f.set_defaults(run=_fit)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neurosym",
                                description="devosym: cellular automata and developmental rules fitted to imaging.")
    sub = p.add_subparsers(dest="command", metavar="command")
    _fit_parser(sub)
    _tissue_parser(sub)
    _label_parser(sub)
    s = sub.add_parser("simulate", help="run a C. elegans-like division model; write counts, a picture and the lineage")
    s.add_argument("--from-fit", default=None, help="simulate the whole model fitted in this fit.json")
    s.add_argument("--minutes", type=_positive_int, default=120, help="minutes to simulate (default: %(default)s)")
    s.add_argument("--cv", type=float, default=None,
                   help="asynchrony of the default model: coefficient of variation of periods (default 0.1)")
    s.add_argument("--size", type=_positive_int, default=32, help="lattice side (default: %(default)s)")
    s.add_argument("--capacity", type=_positive_int, default=1024, help="cell slots (default: %(default)s)")
    s.add_argument("--out", default=str(DEFAULT_OUT / "simulate"), help="output folder (default: %(default)s)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    s.set_defaults(run=_simulate)
    d = sub.add_parser("demo", help="a tour of the engine; writes pictures and summary.json")
    d.add_argument("--out", default=str(DEFAULT_OUT / "demo"), help="output folder (default: %(default)s)")
    d.add_argument("--quick", action="store_true", help="small sizes, about a minute on a laptop CPU")
    d.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    d.set_defaults(run=_demo)
    return p


@contextlib.contextmanager
def _warnings_in_flags():
    """Show library warnings as one `neurosym: warning: ...` line each, in the command's words."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"neurosym: warning: {flags(str(message))}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv=None) -> int:
    """Run the command; returns the exit code (0 done, 1 bad input or failure, 2 usage error)."""
    from rules.population import CapacityError

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # argparse: usage errors (2) and --help (0)
        return 0 if stop.code is None else int(stop.code)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        with _warnings_in_flags():
            args.run(args)
    except (ValueError, TypeError, OSError, CapacityError) as err:
        print(f"neurosym: {flags(str(err))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
