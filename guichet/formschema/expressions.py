"""The safe expression language of computed fields (see docs/form-schema.md).

Expressions are parsed with Python's own parser, then every node is checked against a short
whitelist: numbers, field names, ``+ - * /``, parentheses and the functions ``min``, ``max``,
``round``, ``sum(block.field)`` and ``count(block)``. Nothing else is ever evaluated, and all
arithmetic is done with ``Decimal``.
"""

import ast
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, DivisionByZero, InvalidOperation

FUNCTIONS = {"min", "max", "round", "sum", "count"}
MAX_LENGTH = 500


class ExpressionError(ValueError):
    """An expression that does not parse or uses something outside the language (French message)."""


@dataclass
class Expression:
    source: str
    tree: ast.Expression
    names: set[str] = field(default_factory=set)  # plain field names used
    block_fields: set[tuple[str, str]] = field(default_factory=set)  # (block, field) used in sum()
    blocks: set[str] = field(default_factory=set)  # blocks used in count()


def compile_expression(source: str) -> Expression:
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("l'expression est vide")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"l'expression dépasse {MAX_LENGTH} caractères")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"l'expression « {source} » est mal formée ({exc.msg})") from None
    expr = Expression(source=source, tree=tree)
    _check(tree.body, expr)
    return expr


def _check(node: ast.AST, expr: Expression) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ExpressionError(f"« {ast.unparse(node)} » n'est pas un nombre")
    elif isinstance(node, ast.Name):
        expr.names.add(node.id)
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
            raise ExpressionError("seules les opérations + − × ÷ sont permises")
        _check(node.left, expr)
        _check(node.right, expr)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise ExpressionError("seules les opérations + − × ÷ sont permises")
        _check(node.operand, expr)
    elif isinstance(node, ast.Call):
        _check_call(node, expr)
    else:
        raise ExpressionError(f"« {ast.unparse(node)} » n'est pas permis dans une expression")


def _check_call(node: ast.Call, expr: Expression) -> None:
    name = node.func.id if isinstance(node.func, ast.Name) else None
    if name not in FUNCTIONS:
        raise ExpressionError(
            f"fonction inconnue « {ast.unparse(node.func)} » (permises : min, max, round, sum, count)"
        )
    if node.keywords:
        raise ExpressionError(f"{name}() ne prend pas d'argument nommé")
    args = node.args
    if name == "sum":
        if len(args) != 1 or not (isinstance(args[0], ast.Attribute) and isinstance(args[0].value, ast.Name)):
            raise ExpressionError("sum() s'écrit sum(bloc.champ), sur un champ d'un bloc répétable")
        expr.block_fields.add((args[0].value.id, args[0].attr))
    elif name == "count":
        if len(args) != 1 or not isinstance(args[0], ast.Name):
            raise ExpressionError("count() s'écrit count(bloc), sur un bloc répétable")
        expr.blocks.add(args[0].id)
    elif name == "round":
        if len(args) not in (1, 2) or (len(args) == 2 and not (
                isinstance(args[1], ast.Constant) and isinstance(args[1].value, int)
                and not isinstance(args[1].value, bool) and 0 <= args[1].value <= 6)):
            raise ExpressionError("round() s'écrit round(x) ou round(x, n) avec n entier entre 0 et 6")
        _check(args[0], expr)
    else:
        if not args:
            raise ExpressionError(f"{name}() demande au moins un argument")
        for arg in args:
            _check(arg, expr)


def round_half_up(value: Decimal, digits: int = 0) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def evaluate(expr: Expression, resolve, resolve_column, count_rows) -> Decimal | None:
    """Evaluate with ``resolve(name) -> Decimal``, ``resolve_column(block, field) -> list[Decimal]``
    and ``count_rows(block) -> int``. Returns None when the result is undefined (division by zero)."""
    try:
        return _eval(expr.tree.body, resolve, resolve_column, count_rows)
    except (DivisionByZero, InvalidOperation, ZeroDivisionError):
        return None


def _eval(node, resolve, resolve_column, count_rows) -> Decimal:
    if isinstance(node, ast.Constant):
        return Decimal(repr(node.value))
    if isinstance(node, ast.Name):
        return resolve(node.id)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, resolve, resolve_column, count_rows)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left = _eval(node.left, resolve, resolve_column, count_rows)
        right = _eval(node.right, resolve, resolve_column, count_rows)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if right == 0:
            raise DivisionByZero
        return left / right
    name = node.func.id
    if name == "sum":
        return sum(resolve_column(node.args[0].value.id, node.args[0].attr), Decimal(0))
    if name == "count":
        return Decimal(count_rows(node.args[0].id))
    if name == "round":
        digits = node.args[1].value if len(node.args) == 2 else 0
        return round_half_up(_eval(node.args[0], resolve, resolve_column, count_rows), digits)
    values = [_eval(a, resolve, resolve_column, count_rows) for a in node.args]
    return min(values) if name == "min" else max(values)
