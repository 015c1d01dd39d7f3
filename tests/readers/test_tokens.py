"""The C number scanner must equal Python's float() bit for bit, and the pure Python path."""

from __future__ import annotations

import numpy as np
import pytest

from stalstm.errors import MalformedTokenError
from stalstm.readers import _tokens
from stalstm.readers._tokens import _tokenize_in_python, tokenize_numbers


def random_decimal_tokens(count: int, seed: int = 0) -> list[bytes]:
    """Decimals in every shape the grammar allows: signs, leading zeros, no integer part, no
    fraction digits, exponents of both cases and signs, up to 25 significant digits."""
    rng = np.random.default_rng(seed)
    tokens = []
    for _ in range(count):
        sign = rng.choice(["", "-", "+"])
        integer = "".join(rng.choice(list("0123456789"), size=rng.integers(0, 12)))
        fraction = "".join(rng.choice(list("0123456789"), size=rng.integers(0, 14)))
        if not integer and not fraction:
            integer = "7"
        body = integer + ("." + fraction if fraction or rng.random() < 0.3 else "")
        if body.startswith(".") and not fraction:
            body = "0" + body
        exponent = ""
        if rng.random() < 0.4:
            exponent = (
                rng.choice(["e", "E"]) + rng.choice(["", "-", "+"]) + str(rng.integers(0, 330))
            )
        tokens.append((sign + body + exponent).encode())
    return tokens


EDGE_CASES = [
    b"0",
    b"-0",
    b"-0.0",
    b"+0.0",
    b"00012",
    b".5",
    b"5.",
    b"1e22",
    b"1e23",
    b"9007199254740993",
    b"72057594037931101",
    b"-9.276937E-05",
    b"1036.233",
    b"4.9e-324",
    b"1e-400",
    b"1e400",
    b"123456789012345678901234567890",
    b"0.1",
    b"0.30000000000000004",
    b"2.2250738585072014e-308",
]


def test_the_fast_path_is_built() -> None:
    # The C extension is optional for installs without a compiler; the project's own CI has one,
    # so this run must exercise it (otherwise the equality tests below compare a path with itself).
    assert _tokens._parse_in_c is not None


def test_fast_path_equals_python_float_bit_for_bit() -> None:
    tokens = EDGE_CASES + random_decimal_tokens(20000)
    data = b"\n".join(b" ".join(tokens[i : i + 12]) for i in range(0, len(tokens), 12))
    parsed = tokenize_numbers(data, "numbers.txt")
    expected = np.array([float(t) for t in tokens])
    assert len(parsed) == len(tokens)
    assert parsed.values.tobytes() == expected.tobytes()  # -0.0 and every last bit included
    assert [parsed.text(k) for k in range(len(tokens))] == tokens
    python_path = _tokenize_in_python(data, "numbers.txt")
    assert python_path.values.tobytes() == expected.tobytes()
    assert np.array_equal(python_path.starts, parsed.starts)
    assert np.array_equal(python_path.ends, parsed.ends)


@pytest.mark.parametrize(
    ("token", "line"),
    [(b"1_000", 2), (b"infinityx", 2), (b"1-2", 2), (b"e5", 2), (b"1.2.3", 2), (b"0x10", 2)],
)
def test_non_decimal_token_is_named_with_its_line(token: bytes, line: int) -> None:
    data = b"1 2 3\n4 " + token + b" 6\n7 8 9\n"
    with pytest.raises(MalformedTokenError) as caught:
        tokenize_numbers(data, "bad.skeleton")
    assert caught.value.line == line
    assert "bad.skeleton" in str(caught.value)


def test_nan_and_inf_are_converted_for_the_caller_to_report() -> None:
    parsed = tokenize_numbers(b"1 nan\n-inf 4\n", "x")
    assert np.isnan(parsed.values[1]) and parsed.values[2] == -np.inf
    assert parsed.line_of(2) == 2
