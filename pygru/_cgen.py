"""Small C-generation primitives for the header exporter (pygru/export.py):
identifiers, literals, arrays, macros, compile-time checks and the CRC-32 the
headers carry. Each returns C text; none knows about GRU models."""
import datetime
import os
import re
import zlib

import numpy as np

MAX_NAME_LENGTH = 32            # NAME_IMPLEMENTATION_DONE stays within 63 characters
FLOAT_FORMATS = ("hex", "decimal")

# Keywords of C99, C11 and C23 (the header's identifiers are built from `name`).
C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern float for goto
    if inline int long register restrict return short signed sizeof static struct switch
    typedef union unsigned void volatile while _Bool _Complex _Imaginary _Alignas _Alignof
    _Atomic _Generic _Noreturn _Static_assert _Thread_local alignas alignof bool constexpr
    false nullptr static_assert thread_local true typeof typeof_unqual _BitInt _Decimal32
    _Decimal64 _Decimal128""".split())

C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.int8): "int8_t", np.dtype(np.int16): "int16_t",
           np.dtype(np.int32): "int32_t"}


# ---------------------------------------------------------------------- names and text

def check_name(name):
    """Return `name` if it can prefix a header's C identifiers, else raise."""
    if not isinstance(name, str):
        raise TypeError(f"name: expected a str (a C identifier), got {type(name).__name__} {name!r}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"name: expected a C identifier (letters, digits, '_', not starting "
                         f"with a digit), got {name!r}")
    if name in C_KEYWORDS:
        raise ValueError(f"name: {name!r} is a C keyword; choose another model name")
    if name.startswith("_") or "__" in name:
        raise ValueError(f"name: {name!r} would make reserved identifiers (leading '_' or '__'); "
                         f"choose a name without them")
    if name.lower() == "gru" or name.lower().startswith("gru_"):
        raise ValueError(f"name: {name!r} clashes with the runtime's gru_/GRU_ names; "
                         f"choose another model name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"name: expected at most {MAX_NAME_LENGTH} characters, "
                         f"got {len(name)} ({name!r})")
    return name


def comment_safe(text):
    """`text` made safe inside a C comment or string literal: ASCII, one line,
    no comment delimiters, quotes, backslashes or trigraphs."""
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text.replace("\\", "/").replace('"', "'"))
    text = re.sub(r"\?(?=\?)", "? ", text)                 # no trigraphs (??/ is a backslash)
    return re.sub(r"\*(?=/)|/(?=\*)", lambda m: m.group() + " ", text)   # no /* or */


def comment(lines):
    """A block comment, one ` * ` line per entry (entries already comment-safe)."""
    return "/*\n" + "".join(f" * {line}".rstrip() + "\n" for line in lines) + " */\n"


def export_date():
    """Now in UTC, or SOURCE_DATE_EPOCH (reproducible-builds.org) when set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        moment = datetime.datetime.now(datetime.timezone.utc)
    else:
        try:
            moment = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"SOURCE_DATE_EPOCH: expected seconds since 1970 as an integer, "
                             f"got {epoch!r}") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------- literals and arrays

def float_literals(values, float_format="hex"):
    """Exact C float literals for float32 values: hex floats (`-0x1.8p+1f`) or
    the shortest decimals that round back to the same float32 (`0.1f`)."""
    values = np.asarray(values, dtype=np.float32).ravel()
    if not np.isfinite(values).all():
        bad = values[~np.isfinite(values)][0]
        raise ValueError(f"values: expected finite floats, got {bad}")
    if float_format == "hex":
        out = []
        for v in values.astype(np.float64).tolist():   # float32 -> float64 is exact
            mantissa, exponent = v.hex().split("p")
            out.append(f"{mantissa.rstrip('0').rstrip('.')}p{exponent}f")
        return out
    texts = (str(v) for v in values)                   # numpy's shortest round-trip repr
    return [t + "f" if ("." in t or "e" in t) else t + ".0f" for t in texts]


def float_literal(value, float_format="hex"):
    """float_literals for one value."""
    return float_literals([value], float_format)[0]


def literals(values, float_format="hex"):
    """(C literals of an array's elements, how many go on one line)."""
    values = np.asarray(values)
    if values.dtype == np.float32:
        return float_literals(values, float_format), 4 if float_format == "hex" else 6
    return [str(int(v)) for v in values.ravel()], 16


def array(declaration, values, float_format="hex"):
    """`declaration[] = { ... };` holding `values` (float32 or integers)."""
    items, per_line = literals(values, float_format)
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return f"{declaration}[] = {{\n    " + ",\n    ".join(lines) + "\n};\n"


def c_type(values):
    return C_TYPES[np.asarray(values).dtype]


# ---------------------------------------------------------------------- macros and checks

def define(name, value, note=None):
    return f"#define {name} {value}" + (f" /* {note} */" if note else "") + "\n"


def error_if(condition, message):
    """Stop the build with `message` when the preprocessor `condition` holds."""
    return f"#if {condition}\n#error \"{message}\"\n#endif\n"


def size_checks(typedef_name, conditions, why):
    """A typedef that fails to compile (negative array size) unless every C
    constant expression in `conditions` holds: a C99 static assertion."""
    return (f"\n/* Fails to compile (negative array size) if {why}. */\n"
            f"typedef char {typedef_name}[(\n    " + " &&\n    ".join(conditions) + ") ? 1 : -1];\n")


def alignment_macros(prefix, alignment):
    """{prefix}_ALIGNMENT, GRU_ALIGN(n), {prefix}_WEIGHT_SECTION (each overridable
    before the include) and {prefix}_CONST_ARRAY, which begins a definition."""
    return f"""
#ifndef {prefix}_ALIGNMENT
#define {prefix}_ALIGNMENT {alignment}
#endif
#ifndef GRU_ALIGN
#if defined(__GNUC__) || defined(__clang__)
#define GRU_ALIGN(n) __attribute__((aligned(n)))
#elif defined(_MSC_VER)
#define GRU_ALIGN(n) __declspec(align(n))
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define GRU_ALIGN(n) _Alignas(n)
#else
#define GRU_ALIGN(n)
#endif
#endif
#ifndef {prefix}_WEIGHT_SECTION
#define {prefix}_WEIGHT_SECTION
#endif
#define {prefix}_CONST_ARRAY GRU_ALIGN({prefix}_ALIGNMENT) {prefix}_WEIGHT_SECTION static const
"""


# ---------------------------------------------------------------------- checksums

def crc32(arrays):
    """CRC-32 (zlib's, as gru_checksum computes it) of the arrays' bytes in
    order, each little-endian as on every supported target."""
    crc = 0
    for arr in arrays:
        a = np.asarray(arr)
        crc = zlib.crc32(a.astype(a.dtype.newbyteorder("<")).tobytes(), crc)
    return crc & 0xFFFFFFFF
