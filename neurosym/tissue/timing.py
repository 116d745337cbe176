"""When cells divide, from other embryos: the division schedule of a prediction without its answer.

`predict_contacts` needs to know which cells divide between the observed time point and the
predicted one. Read from the names at the later time point, that schedule is an oracle. Here it
comes from other embryos instead:

- `cycle_times(tables)`: each named cell's mean cycle length (minutes from its birth to its
  daughters' birth) and its daughters' names, over tracked embryos (the C. elegans lineage is
  invariant, so a cell's cycle and daughters carry over between embryos); for a cell never seen
  dividing, the mean of its founder lineage at its generation;
- `first_seen(series, until=...)`: when each named cell of a segmentation series first appears;
- `calibrate_minutes(first_seen, cycles, until=...)`: the minutes per time point of the series
  being predicted, from the cells whose birth and division it shows up to `until` (the series'
  own clock; different microscopes and temperatures run at different paces);
- `timed_names(names, first_seen, time, later, cycles, minutes_per_time)`: the names expected at
  the later time point: each cell whose birth plus cycle falls before it is replaced by its
  daughters, and so on. Pass them to `predict_contacts` as `names_later`.

Example:
  >>> from neurosym.io import CellTable
  >>> t = CellTable(embryo="e", cell=["ABa", "ABp", "ABa", "ABp", "ABal", "ABar", "ABp"],
  ...               time_min=[0, 0, 10, 10, 20, 20, 20], frame=[1, 1, 2, 2, 3, 3, 3],
  ...               x=[0] * 7, y=[0] * 7, z=[0] * 7)
  >>> cycles = cycle_times([t])
  >>> cycles.daughters["ABa"], cycles.cycle("ABp")   # ABa's cycle is censored; ABp never divides here
  (('ABal', 'ABar'), None)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from automata._checks import check_number, fail
from rules.celegans import founder_of, sulston_generation, sulston_parent

__all__ = ["CycleTimes", "calibrate_minutes", "cycle_times", "first_seen", "timed_names"]


@dataclass(frozen=True)
class CycleTimes:
    """Cycle lengths and daughters by Sulston name, from tracked embryos.

    Attributes:
      minutes: {name: mean minutes from the cell's birth to its daughters' birth}, over the
        embryos where both were seen.
      daughters: {name: its two daughters' names}, as the tracked embryos named them.
      by_generation: {(founder, generation): mean cycle minutes}, the fallback for a cell not
        seen dividing.
    """

    minutes: dict = field(default_factory=dict)
    daughters: dict = field(default_factory=dict)
    by_generation: dict = field(default_factory=dict)

    def cycle(self, name: str) -> float | None:
        """The cell's cycle in minutes: its own mean, else its lineage's at its generation, else None."""
        if name in self.minutes:
            return self.minutes[name]
        return self.by_generation.get((founder_of(name), sulston_generation(name)))

    def daughters_of(self, name: str) -> tuple[str, str]:
        """The cell's daughters as tracked embryos named them, else `name + "a"`, `name + "p"`."""
        return self.daughters.get(name, (name + "a", name + "p"))


def cycle_times(tables) -> CycleTimes:
    """Each named cell's mean cycle and its daughters, over tracked embryos (`CellTable`s with
    Sulston names and `time_min`). A cycle counts where the cell's birth (its first row is not the
    embryo's first frame) and its daughters' birth were both seen."""
    tables = list(tables)
    if not tables:
        raise fail("cycle_times", "tables must hold at least one tracked embryo (CellTable).")
    samples: dict[str, list[float]] = defaultdict(list)
    daughters: dict[str, set[str]] = defaultdict(set)
    for table in tables:
        for embryo in table.embryos():
            t = table.select(embryo=embryo) if len(table.embryos()) > 1 else table
            cells = [str(c) for c in t.cell]
            times = np.asarray(t.time_min, float)
            first_time = float(times.min())
            born: dict[str, float] = {}
            for c, tm in zip(cells, times):
                if sulston_generation(c) is not None and (c not in born or tm < born[c]):
                    born[c] = tm
            for c, tb in born.items():
                m = sulston_parent(c)
                if m is not None and m in born:
                    daughters[m].add(c)
            for m, ds in daughters.items():
                if m in born and born[m] > first_time and any(d in born for d in ds):
                    first = min(born[d] for d in ds if d in born)
                    samples[m].append(first - born[m])
    minutes = {m: float(np.mean(v)) for m, v in samples.items() if v}
    groups: dict[tuple, list[float]] = defaultdict(list)
    for m, v in minutes.items():
        groups[(founder_of(m), sulston_generation(m))].append(v)
    return CycleTimes(minutes=minutes, daughters={m: tuple(sorted(d)) for m, d in daughters.items() if len(d) == 2},
                      by_generation={k: float(np.mean(v)) for k, v in groups.items()})


def first_seen(series, *, until: float | None = None) -> dict[str, int]:
    """{name: the first time point it appears} for the named cells of a `SegmentationSeries`,
    reading only its time points up to `until` (all without it)."""
    if series.names is None:
        raise fail("first_seen", "the series names no cells; give a folder with label_names.json.")
    out: dict[str, int] = {}
    for t in series.times:
        if until is not None and t > until:
            break
        for label in np.unique(series.labels(t)):
            if label:
                out.setdefault(str(series.names[int(label)]), t)
    return out


def calibrate_minutes(first_seen: dict, cycles: CycleTimes, *, until: float) -> float:
    """Minutes per time point of a named series: the median, over cells whose birth and whose
    daughters' birth both fall after the series' first time point and not after `until`, of
    their cycle in minutes (from `cycles`) over their cycle in time points.

    Args:
      first_seen: {name: first time point it appears} in the series.
      cycles: `cycle_times` of other embryos.
      until: the last time point that may be read (never the ones predicted).
    """
    owner = "calibrate_minutes"
    until = check_number(until, "until", owner=owner)
    start = min(first_seen.values()) if first_seen else 0
    ratios = []
    for m, tm in first_seen.items():
        if tm <= start or tm > until or m not in cycles.minutes:
            continue
        ds = [first_seen[d] for d in cycles.daughters_of(m) if d in first_seen and first_seen[d] <= until]
        if ds and min(ds) > tm:
            ratios.append(cycles.minutes[m] / (min(ds) - tm))
    if not ratios:
        raise fail(owner, f"no cell's birth and division are both seen after the first time point and up to "
                          f"until={until}; give a later until.")
    return float(np.median(ratios))


def timed_names(names, first_seen: dict, time: float, later: float, cycles: CycleTimes,
                minutes_per_time: float) -> list[str]:
    """The names expected at time point `later` from the cells named at `time`.

    A cell born at time point b (its first appearance; a cell already there at the series' first
    time point is taken to be half-way through its cycle then) divides at b + cycle /
    `minutes_per_time`; if that is not after `later` it is replaced by its daughters, born then,
    and so on. A cell whose cycle is unknown does not divide.

    Example:
      >>> cyc = CycleTimes(minutes={"ABa": 20.0, "ABal": 30.0}, daughters={"ABa": ("ABal", "ABar")})
      >>> timed_names(["ABa", "P1"], {"ABa": 2, "P1": 1}, 5, 12, cyc, minutes_per_time=2.0)
      ['P1', 'ABal', 'ABar']
    """
    owner = "timed_names"
    minutes_per_time = check_number(minutes_per_time, "minutes_per_time", minimum=0.0, open_minimum=True, owner=owner)
    start = min(first_seen.values()) if first_seen else time
    out = []
    todo = []
    for n in names:
        cyc = cycles.cycle(n)
        b = first_seen.get(n, time)
        if cyc is not None and b <= start:
            b = start - 0.5 * cyc / minutes_per_time
        todo.append((n, b))
    for _ in range(64):
        if not todo:
            break
        nxt = []
        for n, b in todo:
            cyc = cycles.cycle(n)
            if cyc is None or b + cyc / minutes_per_time > later:
                out.append(n)
            else:
                nxt += [(d, b + cyc / minutes_per_time) for d in cycles.daughters_of(n)]
        todo = nxt
    out += [n for n, _ in todo]
    return out
