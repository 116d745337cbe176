"""Which cells divide, from the cycle times of other embryos."""

import pytest

from neurosym.io import CellTable
from neurosym.tissue import CycleTimes, calibrate_minutes, cycle_times, timed_names


def _embryo(name, scale):
    """P0's descendants to 8 AB-like cells: AB divides at 10 min, ABa/ABp 20 min after (scaled)."""
    rows = []
    for frame in range(0, 60):
        tm = frame * 1.0
        if tm < 5:
            cells = ["P0"]
        elif tm < 5 + 10 * scale:
            cells = ["AB", "P1"]
        elif tm < 5 + 30 * scale:
            cells = ["ABa", "ABp", "P1"]
        else:
            cells = ["ABal", "ABar", "ABpl", "ABpr", "P1"]
        rows += [(c, tm, frame) for c in cells]
    c, tm, fr = zip(*rows)
    return CellTable(embryo=name, cell=list(c), time_min=list(tm), frame=list(fr), x=[0] * len(c), y=[0] * len(c),
                     z=[0] * len(c))


def test_cycles_daughters_and_fallback_from_tracked_embryos():
    cycles = cycle_times([_embryo("a", 1.0), _embryo("b", 1.2)])
    assert cycles.minutes["AB"] == pytest.approx(11.0)          # 10 and 12 minutes
    assert cycles.minutes["ABa"] == pytest.approx(22.0)
    assert cycles.daughters["ABa"] == ("ABal", "ABar") and cycles.daughters["AB"] == ("ABa", "ABp")
    assert "P0" not in cycles.minutes                            # born before the first frame: censored
    assert cycles.cycle("ABal") is None                          # never seen dividing, no lineage mean
    assert CycleTimes(by_generation={("AB", 3): 30.0}).cycle("ABal") == 30.0
    with pytest.raises(ValueError, match="at least one tracked embryo"):
        cycle_times([])


def test_calibration_recovers_the_pace_and_the_schedule_follows_it():
    cycles = cycle_times([_embryo("a", 1.0)])                    # AB 10 min, ABa and ABp 20 min
    # a series observed every 2 minutes: AB born at time point 3, its daughters at 8, theirs at 18
    first_seen = {"AB": 3, "P1": 3, "ABa": 8, "ABp": 8, "ABal": 18, "ABar": 18}
    assert calibrate_minutes(first_seen, cycles, until=20) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="give a later until"):
        calibrate_minutes(first_seen, cycles, until=5)
    later = timed_names(["ABa", "ABp", "P1"], first_seen, 9, 17, cycles, minutes_per_time=2.0)
    assert later == ["ABa", "ABp", "P1"]                         # they divide at 18
    later = timed_names(["ABa", "ABp", "P1"], first_seen, 9, 18, cycles, minutes_per_time=2.0)
    assert sorted(later) == ["ABal", "ABar", "ABpl", "ABpr", "P1"]
    slower = timed_names(["ABa"], first_seen, 9, 18, cycles, minutes_per_time=1.0)
    assert slower == ["ABa"]
    assert calibrate_minutes({"P0": 1, "AB": 3, "ABa": 8, "ABp": 9}, cycles, until=9) == pytest.approx(2.0)


def test_first_seen_reads_names_up_to_until():
    from neurosym.io import load_celegans_segmentation
    from neurosym.tissue import first_seen

    seen = first_seen(load_celegans_segmentation(), until=9)
    assert {seen[n] for n in ("ABa", "ABp", "EMS", "P2")} == {1}
    assert max(seen.values()) <= 9 and seen["ABal"] > 1
