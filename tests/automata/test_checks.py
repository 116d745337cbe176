import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automata._checks import check_choice, check_finite_array, check_int, check_key, check_number, concrete, error_if


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


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_check_number_refuses_non_finite_and_out_of_range(value):
    with pytest.raises(ValueError, match="f: b must be a finite number"):
        check_number(value, "b", minimum=0.0, owner="f")


@pytest.mark.parametrize("value", ["x", True, None, [1.0], np.zeros(2)])
def test_check_number_refuses_non_numbers(value):
    with pytest.raises(TypeError, match="b must be a finite number"):
        check_number(value, "b")


def test_check_number_open_minimum_and_numpy_scalars():
    assert check_number(np.float32(0.25), "t", minimum=0.0, open_minimum=True) == 0.25
    with pytest.raises(ValueError, match=r"t must be a finite number > 0"):
        check_number(0.0, "t", minimum=0.0, open_minimum=True)


def test_check_finite_array_names_the_first_bad_entry():
    x = np.zeros((4, 4))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"x must hold finite numbers, got 1 NaN .* index \(2, 1\)"):
        check_finite_array(x, "x")
    check_finite_array(np.array([1, 2]), "x")  # integers are always finite


def test_check_choice_lists_the_choices():
    with pytest.raises(ValueError, match="mode must be one of 'a', 'b', got 'c'"):
        check_choice("c", "mode", ("a", "b"))
    with pytest.raises(ValueError, match="mode must be one of"):
        check_choice(["unhashable"], "mode", {"a", "b"})


def test_check_key_accepts_typed_and_raw_keys():
    assert check_key(jax.random.key(1)).shape == ()
    assert jax.dtypes.issubdtype(check_key(jax.random.PRNGKey(1)).dtype, jax.dtypes.prng_key)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        check_key(3)
    with pytest.raises(ValueError, match="key must be a single PRNG key"):
        check_key(jax.random.split(jax.random.key(0), 2))


def test_concrete_is_none_under_jit():
    assert concrete(np.ones(2)) is not None
    assert bool(jax.jit(lambda x: concrete(x) is None)(1.0))


def test_check_numbers_checks_every_entry():
    from automata._checks import check_numbers

    check_numbers(np.array([0.0, 0.5, 1.0]), "w", minimum=0.0, maximum=1.0)
    check_numbers(0.5, "w", minimum=0.0)
    with pytest.raises(ValueError, match=r"rate must be a finite number >= 0.0, got -0.5"):
        check_numbers(np.array([0.1, -0.5]), "rate", minimum=0.0)
    with pytest.raises(ValueError, match="rate must be a finite number"):
        check_numbers([0.1, np.nan], "rate")
    with pytest.raises(TypeError, match="rate must be a finite number"):
        check_numbers("x", "rate")
    assert bool(jax.jit(lambda x: check_numbers(x, "rate", minimum=0.0) is None)(-1.0))


def test_error_if_raises_now_or_when_the_program_runs():
    error_if(np.zeros(3, bool), "x must be positive")  # nothing bad: no error
    with pytest.raises(ValueError, match="x must be positive"):
        error_if(np.array([False, True]), "x must be positive")

    @jax.jit
    def double(x):
        error_if(x <= 0, "double: x must be positive")
        return 2 * x

    assert double(jnp.ones(2)).tolist() == [2.0, 2.0]
    with pytest.raises(jax.errors.JaxRuntimeError, match="double: x must be positive"):
        jax.block_until_ready(double(jnp.array([1.0, -1.0])))
    # vmap and grad go through the check as well.
    assert jax.vmap(double)(jnp.ones((2, 3))).shape == (2, 3)
    assert jax.grad(lambda x: double(x).sum())(jnp.ones(2)).tolist() == [2.0, 2.0]
