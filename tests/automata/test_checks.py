import numpy as np
import pytest

from automata.checks import check_int


def test_integers_pass_through_as_python_ints():
    assert check_int(3, "n", 1) == 3
    value = check_int(np.int64(7), "n", 0, maximum=7)
    assert value == 7 and type(value) is int


@pytest.mark.parametrize("value, got", [(2.0, "float 2.0"), ("3", "str '3'"), (True, "the bool True"), (None, "NoneType None")])
def test_non_integers_are_type_errors(value, got):
    with pytest.raises(TypeError, match=f"f: n must be an integer >= 1, got {got}. Pass a count."):
        check_int(value, "n", 1, owner="f", hint="Pass a count.")


def test_out_of_range_values_are_value_errors():
    with pytest.raises(ValueError, match="n must be at least 1, got 0."):
        check_int(0, "n", 1)
    with pytest.raises(ValueError, match=r"n must lie in 0\.\.255, got 256."):
        check_int(256, "n", 0, maximum=255)
    with pytest.raises(TypeError, match=r"n must be an integer in 0\.\.255, got float"):
        check_int(1.5, "n", 0, maximum=255)
