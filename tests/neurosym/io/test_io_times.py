"""TIME files and frame intervals: the checks, and a TIME file together with minutes_per_frame refused."""

import numpy as np
import pytest

import neurosym.io as nio
from iofiles import write, write_cd
from neurosym.io.times import MAX_MINUTES_PER_FRAME, check_minutes_per_frame


def test_time_file_errors_name_file_line_and_column(tmp_path):
    p = write_cd(tmp_path, spans={"AB": (1, 3)})
    short = write(tmp_path / "short.txt", "e\t1\t0\t0\ne\t2\t90\t90\n")
    with pytest.raises(ValueError, match=r"line 4, column 'time': frame 3 is not in the TIME file .*short.txt"):
        nio.read_cd(p, time_file=short)
    bad = write(tmp_path / "bad.txt", "e\t1\t0\t0\ne\t2\tsoon\t90\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 2, column 3 \(seconds\): expected a finite number"):
        nio.read_cd(p, time_file=bad)
    back = write(tmp_path / "back.txt", "frame,seconds\n1,0\n2,90\n3,60\n")
    with pytest.raises(ValueError, match=r"back.txt, line 4, column 2 \(seconds\): time goes back"):
        nio.read_cd(p, time_file=back)
    negative = write(tmp_path / "neg.txt", "frame,seconds\n1,-90\n2,0\n3,90\n")
    with pytest.raises(ValueError, match=r"neg.txt, line 2, column 2 \(seconds\): expected seconds >= 0"):
        nio.read_cd(p, time_file=negative)
    ok = write(tmp_path / "ok.txt", "frame,seconds\n1,0\n2,90\n3,150\n")
    assert nio.read_cd(p, time_file=ok).time_min.tolist() == [0.0, 1.5, 2.5]
    assert nio.read_time_file(ok) == {1: 0.0, 2: 1.5, 3: 2.5}


def test_time_file_and_minutes_per_frame_together_are_refused(tmp_path):
    p = write_cd(tmp_path, spans={"AB": (1, 3)})
    ok = write(tmp_path / "ok.txt", "frame,seconds\n1,0\n2,90\n3,150\n")
    with pytest.raises(ValueError, match="read_cd: pass time_file=... or minutes_per_frame=..., not both"):
        nio.read_cd(p, time_file=ok, minutes_per_frame=1.0)
    # A TIME file found beside the table is refused the same way, naming it; time_file=False ignores it.
    write(tmp_path / "TIMEembryo1.csv", "embryo1,1,0\nembryo1,2,90\nembryo1,3,180\n")
    assert nio.read_cd(p).time_min.tolist() == [0.0, 1.5, 3.0]
    with pytest.raises(ValueError, match=r"minutes_per_frame was given, but the TIME file .*TIMEembryo1.csv"):
        nio.read_cd(p, minutes_per_frame=1.0)
    with pytest.raises(ValueError, match="minutes_per_frame was given"):
        nio.read(p, minutes_per_frame=1.0)
    assert nio.read_cd(p, minutes_per_frame=2.0, time_file=False).time_min.tolist() == [0.0, 2.0, 4.0]


@pytest.mark.parametrize("value, error, phrase", [
    (-1.0, ValueError, "minutes_per_frame must be a finite number in"),
    (0, ValueError, "minutes_per_frame must be a finite number in"),
    (1e300, ValueError, "minutes_per_frame must be a finite number in"),
    (float("nan"), ValueError, "minutes_per_frame must be a finite number in"),
    (float("inf"), ValueError, "minutes_per_frame must be a finite number in"),
    ("90s", TypeError, "minutes_per_frame must be a finite number in"),
    (True, TypeError, "minutes_per_frame must be a finite number in"),
])
def test_minutes_per_frame_must_be_a_sane_positive_number(tmp_path, value, error, phrase):
    p = write_cd(tmp_path, spans={"AB": (1, 3)})
    with pytest.raises(error, match=f"read_cd: {phrase}.*pass minutes_per_frame=1.5"):
        nio.read_cd(p, minutes_per_frame=value)
    tracks = write(tmp_path / "t.csv", "t,x,y,cell\n0,0,0,a\n")
    with pytest.raises(error, match=f"read_tracks: {phrase}"):
        nio.read_tracks(tracks, minutes_per_frame=value)
    with pytest.raises(error, match=f"read: {phrase}"):
        nio.read(tracks, minutes_per_frame=value)


def test_the_largest_frame_interval_is_accepted():
    assert check_minutes_per_frame(np.float32(1.5), owner="x") == 1.5
    assert check_minutes_per_frame(MAX_MINUTES_PER_FRAME, owner="x") == MAX_MINUTES_PER_FRAME
