"""A small, safe expression language for sweep constraints.

Constraints such as ``array.rows * array.cols <= 4096`` or
``buffers.weight_bytes + buffers.act_bytes <= 2 * 1024 * 1024`` are parsed with `ast` and
evaluated by walking a whitelist of node types: numbers, strings, booleans, names and dotted
names (resolved by a caller-supplied lookup), ``+ - * / // % **``, unary ``- + not``,
comparisons (including chained ones and ``in`` / ``not in`` a literal list), ``and`` / ``or``,
``x if c else y`` and the functions ``min max abs log2 sqrt``.  Evaluation is bounded: before
each operation the size of its result is checked (integers up to 4096 bits, strings and
sequences up to 10,000 items, exponents up to 256), so ``9**256**256``, ``'x' * 10**10`` or
``(1,) * 10**9`` is a one-line `InputError`, never a hang or a `MemoryError`.  Nothing is ever passed to
`eval`; attribute access, subscripts, lambdas, comprehensions and any other call are refused at
parse time with an `InputError` that names the expression.

>>> c = Constraint.parse("array.rows * array.cols <= 4096")
>>> c.names
('array.cols', 'array.rows')
>>> c.evaluate({"array.rows": 64, "array.cols": 64}.__getitem__)
True
>>> Constraint.parse("__import__('os')")
Traceback (most recent call last):
...
workloads.errors.InputError: constraint "__import__('os')": function '__import__' is not allowed (use one of abs, log2, max, min, sqrt)
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass
from typing import Any, Callable

from workloads.errors import InputError

__all__ = ["Constraint"]

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_CMPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_FUNCS: dict[str, Callable[..., Any]] = {"min": min, "max": max, "abs": abs, "log2": math.log2, "sqrt": math.sqrt}
_MAX_EXPONENT = 256
_MAX_LEN = 500
#: Every intermediate result is bounded before it is computed, so no constraint can run for long
#: or exhaust memory: integers up to `_MAX_INT_BITS` bits, strings and sequences up to
#: `_MAX_ITEMS` items.
_MAX_INT_BITS = 4096
_MAX_ITEMS = 10_000


def _bits(v: Any) -> int:
    return abs(v).bit_length() if isinstance(v, int) else 0


def _size(v: Any) -> int | None:
    return len(v) if isinstance(v, (str, tuple, list)) else None


def _bounded(op: type, left: Any, right: Any) -> str | None:
    """Why ``left <op> right`` would be too big to compute, or None when it is fine."""
    if op is ast.Pow:
        if isinstance(right, (int, float)) and not isinstance(right, bool) and abs(right) > _MAX_EXPONENT:
            return f"exponent {right!r} too large"
        if isinstance(left, int) and isinstance(right, int) and right > 0:
            if _bits(left) > 1 and (_bits(left) - 1) * right > _MAX_INT_BITS:
                return f"result of ** would exceed {_MAX_INT_BITS} bits"
        return None
    if op is ast.Mult:
        if isinstance(left, int) and isinstance(right, int):
            if _bits(left) + _bits(right) > _MAX_INT_BITS:
                return f"result of * would exceed {_MAX_INT_BITS} bits"
            return None
        for seq, n in ((left, right), (right, left)):
            if _size(seq) is not None and isinstance(n, int):
                if n > 0 and _size(seq) * n > _MAX_ITEMS:
                    return f"repeating a sequence would exceed {_MAX_ITEMS} items"
        return None
    if op is ast.Add:
        if _size(left) is not None and _size(right) is not None and _size(left) + _size(right) > _MAX_ITEMS:
            return f"result of + would exceed {_MAX_ITEMS} items"
        return None
    if op is ast.Mod and isinstance(left, str):
        return "string formatting with % is not allowed"
    return None


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` as a string when the node is a plain chain of names, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint: its source text, the dotted names it reads, and its checked AST."""

    text: str
    names: tuple[str, ...]
    _tree: ast.Expression

    @classmethod
    def parse(cls, text: str) -> "Constraint":
        where = f"constraint {text!r}" if "'" not in text else f'constraint "{text}"'
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: empty expression")
        if len(text) > _MAX_LEN:
            raise InputError(f"{where}: longer than {_MAX_LEN} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise InputError(f"{where}: syntax error ({exc.msg})") from None
        names: set[str] = set()
        cls._check(tree.body, where, names)
        return cls(text=text, names=tuple(sorted(names)), _tree=tree)

    @classmethod
    def _check(cls, node: ast.AST, where: str, names: set[str]) -> None:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bool)) and node.value is not None:
                raise InputError(f"{where}: literal {node.value!r} is not allowed")
            return
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = _dotted(node)
            if name is None:
                raise InputError(f"{where}: only plain dotted field names may be used")
            if any(part.startswith("_") for part in name.split(".")):
                raise InputError(f"{where}: name {name!r} is not allowed")
            if name in ("True", "False", "None"):
                return
            names.add(name)
            return
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            cls._check(node.left, where, names)
            cls._check(node.right, where, names)
            return
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            cls._check(node.operand, where, names)
            return
        if isinstance(node, ast.BoolOp):
            for v in node.values:
                cls._check(v, where, names)
            return
        if isinstance(node, ast.Compare) and all(type(op) in _CMPS for op in node.ops):
            cls._check(node.left, where, names)
            for c in node.comparators:
                cls._check(c, where, names)
            return
        if isinstance(node, ast.IfExp):
            for v in (node.test, node.body, node.orelse):
                cls._check(v, where, names)
            return
        if isinstance(node, (ast.Tuple, ast.List)):
            for v in node.elts:
                cls._check(v, where, names)
            return
        if isinstance(node, ast.Call):
            fname = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            if not isinstance(node.func, ast.Name) or fname not in _FUNCS:
                raise InputError(
                    f"{where}: function {fname!r} is not allowed (use one of {', '.join(sorted(_FUNCS))})"
                )
            if node.keywords:
                raise InputError(f"{where}: keyword arguments are not allowed")
            for a in node.args:
                cls._check(a, where, names)
            return
        raise InputError(f"{where}: {type(node).__name__} is not allowed in a constraint")

    def evaluate(self, lookup: Callable[[str], Any]) -> Any:
        """Value of the expression, reading each dotted name through ``lookup(name)``."""
        try:
            return self._eval(self._tree.body, lookup)
        except InputError:
            raise
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, ArithmeticError) as exc:
            raise InputError(f"constraint {self.text!r}: {type(exc).__name__}: {str(exc)[:100]}") from None
        except (MemoryError, RecursionError):
            raise InputError(f"constraint {self.text!r}: too large to evaluate") from None

    def _eval(self, node: ast.AST, lookup: Callable[[str], Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Name, ast.Attribute)):
            name = _dotted(node)
            assert name is not None
            if name in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[name]
            return lookup(name)
        if isinstance(node, ast.BinOp):
            left = self._eval(node.left, lookup)
            right = self._eval(node.right, lookup)
            why = _bounded(type(node.op), left, right)
            if why is not None:
                raise InputError(f"constraint {self.text!r}: {why}")
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self._eval(node.operand, lookup))
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                val: Any = True
                for v in node.values:
                    val = self._eval(v, lookup)
                    if not val:
                        return val
                return val
            val = False
            for v in node.values:
                val = self._eval(v, lookup)
                if val:
                    return val
            return val
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, lookup)
            for op, comp in zip(node.ops, node.comparators):
                right = self._eval(comp, lookup)
                if not _CMPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self._eval(node.body if self._eval(node.test, lookup) else node.orelse, lookup)
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self._eval(v, lookup) for v in node.elts)
        if isinstance(node, ast.Call):
            return _FUNCS[node.func.id](*(self._eval(a, lookup) for a in node.args))  # type: ignore[attr-defined]
        raise AssertionError(type(node))  # pragma: no cover - _check refuses everything else
