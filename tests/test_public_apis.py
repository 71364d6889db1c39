"""Only public APIs of our dependencies (issue 14): no ``_private`` name of a third-party package.

An AST check over every module of ``leadmagnet/``. It reports, with ``file:line``:

- ``from X import _y``, ``import X._y`` and ``from X._y import z`` where ``X`` is a third-party
  package (not ``leadmagnet``, not relative, not the standard library);
- ``name._y`` where ``name`` is bound in that scope by an import of a third-party package
  (``jinja2.Template._from_namespace``, ``current_app._get_current_object()``), and further
  along a chain of attributes for as long as it stays in the library's own namespace (a module,
  a class, a proxy object such as ``flask.g``); what an application stored at run time
  (``g.site._cache``) is ours and is not reported; likewise ``getattr(name, "_y")`` (and
  ``hasattr``, ``setattr``, ``delattr``) and ``importlib.import_module("X._y")``;
- in a class deriving from a third-party class: a method or attribute ``_y`` the library's
  class also has (overriding a private hook), and ``self._y``, ``cls._y`` or ``super()._y``
  reaching one of the library's private attributes.

Dunder names (``__version__``, ``__html__``) are public protocols. Private names of the standard
library (``os._exit``) and our own ``_private`` names are not this check's business. An object
a library call returned and a local variable holds (``env = jinja2.Environment(); env._x``) is
not followed: the check stays exact rather than guess what a variable holds.
"""

from __future__ import annotations

import ast
import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "leadmagnet"
OURS = "leadmagnet"
UNRESOLVED = object()  # a binding whose object could not be imported here: checked by name only


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def is_third_party(module: str | None, level: int = 0) -> bool:
    """A module of another package: not relative, not ours, not the standard library."""
    if level or not module:
        return False
    top = module.split(".")[0]
    return top != OURS and top not in sys.stdlib_module_names


def resolve(module: str, name: str | None = None) -> Any:
    """The object an import binds (``import module`` or ``from module import name``)."""
    try:
        obj = importlib.import_module(module)
        if name is None:
            return obj
        try:
            return getattr(obj, name)
        except AttributeError:
            return importlib.import_module(f"{module}.{name}")
    except Exception:  # not installed here (an optional extra), or it fails to import
        return UNRESOLVED


def lookup(obj: Any, name: str) -> Any:
    """``getattr`` for the chain walk; UNRESOLVED once the chain leaves the library's namespace
    (a proxy outside a request raises, an attribute set at run time does not exist yet)."""
    if obj is UNRESOLVED:
        return UNRESOLVED
    try:
        return getattr(obj, name)
    except Exception:
        return UNRESOLVED


@dataclass
class Scope:
    """Third-party objects bound by name in one function or module body."""

    bound: dict[str, Any] = field(default_factory=dict)  # name -> the library object (or UNRESOLVED)
    shadowed: set[str] = field(default_factory=set)  # names this scope binds to something else
    parent: Scope | None = None

    def get(self, name: str) -> tuple[bool, Any]:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.bound:
                return True, scope.bound[name]
            if name in scope.shadowed:
                return False, None
            scope = scope.parent
        return False, None


def import_bindings(node: ast.Import | ast.ImportFrom) -> list[tuple[str, Any]]:
    """(name bound, object) for each third-party name this import statement binds."""
    found = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if not is_third_party(alias.name):
                continue
            if alias.asname:
                found.append((alias.asname, resolve(alias.name)))
            else:
                top = alias.name.split(".")[0]
                found.append((top, resolve(top)))
    elif is_third_party(node.module, node.level):
        assert node.module is not None
        for alias in node.names:
            if alias.name != "*":
                found.append((alias.asname or alias.name, resolve(node.module, alias.name)))
    return found


def local_bindings(body: list[ast.stmt], args: ast.arguments | None) -> set[str]:
    """Names a function or module body binds itself (not counting nested functions and classes)."""
    names: set[str] = set()
    if args is not None:
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None:
                names.add(arg.arg)
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        stack.extend(ast.iter_child_nodes(node))
    return names


class Checker(ast.NodeVisitor):
    """Collects ``(line, message)`` for every private third-party name a module reaches."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []
        self.scope = Scope()
        # The third-party classes each class of this module derives from (through its own bases),
        # and the names its body defines.
        self.library_bases: dict[str, list[Any]] = {}
        self.own_names: dict[str, set[str]] = {}
        self.classes: list[tuple[str, list[Any], set[str]]] = []  # (name, library bases, own names)

    def report(self, node: ast.AST, message: str) -> None:
        self.found.append((getattr(node, "lineno", 0), message))

    # -- scopes -----------------------------------------------------------------------------

    def enter(self, body: list[ast.stmt], args: ast.arguments | None) -> Scope:
        scope = Scope(parent=self.scope)
        scope.shadowed = local_bindings(body, args)
        for node in ast.walk(ast.Module(body=body, type_ignores=[])):
            if isinstance(node, ast.Import | ast.ImportFrom) and self.in_this_scope(node, body):
                for name, obj in import_bindings(node):
                    scope.bound[name] = obj
        scope.shadowed -= set(scope.bound)
        return scope

    @staticmethod
    def in_this_scope(target: ast.AST, body: list[ast.stmt]) -> bool:
        stack: list[ast.AST] = list(body)
        while stack:
            node = stack.pop()
            if node is target:
                return True
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                continue
            stack.extend(ast.iter_child_nodes(node))
        return False

    def visit_Module(self, node: ast.Module) -> None:
        self.scope = self.enter(node.body, None)
        self.generic_visit(node)

    def visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.visit(default)
        if not isinstance(node, ast.Lambda):
            for decorator in node.decorator_list:
                self.visit(decorator)
        body = node.body if isinstance(node.body, list) else [ast.Expr(node.body)]
        outer, self.scope = self.scope, self.enter(body, node.args)
        for statement in body:
            self.visit(statement)
        self.scope = outer

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_function

    # -- imports ----------------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if is_third_party(alias.name) and any(is_private(part) for part in alias.name.split(".")):
                self.report(node, f"import {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not is_third_party(node.module, node.level):
            return
        assert node.module is not None
        if any(is_private(part) for part in node.module.split(".")):
            self.report(node, f"from {node.module} import ...")
        for alias in node.names:
            if is_private(alias.name):
                self.report(node, f"from {node.module} import {alias.name}")

    # -- attributes -------------------------------------------------------------------------

    def chain(self, node: ast.expr) -> tuple[str, list[str]] | None:
        """``a.b.c`` as (``a``, [``b``, ``c``]); None if it does not start at a plain name."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        return node.id, parts[::-1]

    def visit_Attribute(self, node: ast.Attribute) -> None:
        # Only the outermost attribute of a chain walks it (the inner ones are its prefixes).
        walked = self.chain(node)
        if walked is not None:
            root, parts = walked
            known, obj = self.scope.get(root)
            if known:
                self.walk(node, root, parts, obj)
            self.check_own_class(node, root, parts)
            self.check_subclass_name(node, root, parts)
        else:
            self.check_super(node)
        inner = node.value
        while isinstance(inner, ast.Attribute):
            inner = inner.value
        self.visit(inner)

    def walk(self, node: ast.AST, root: str, parts: list[str], obj: Any) -> None:
        unresolved_root = obj is UNRESOLVED
        for i, part in enumerate(parts):
            if obj is UNRESOLVED and not (unresolved_root and i == 0):
                return  # past the library's namespace: run-time data, ours
            if is_private(part):
                self.report(node, f"{'.'.join([root, *parts[: i + 1]])}")
                return
            obj = lookup(obj, part)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr", "setattr", "delattr") and len(node.args) >= 2:
            target, name = node.args[0], node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and is_private(name.value):
                walked = self.chain(target)
                if walked is not None:
                    known, obj = self.scope.get(walked[0])
                    if known:
                        self.walk(node, walked[0], [*walked[1], name.value], obj)
        if isinstance(func, ast.Attribute) and func.attr == "import_module" and node.args:
            arg = node.args[0]
            private = isinstance(arg, ast.Constant) and isinstance(arg.value, str) and any(is_private(p) for p in arg.value.split("."))
            if private and is_third_party(arg.value):
                self.report(node, f"import_module({arg.value!r})")
        self.generic_visit(node)

    # -- subclasses of library classes ------------------------------------------------------

    def library_classes(self, base: ast.expr) -> list[Any]:
        walked = self.chain(base)
        if walked is None:
            return []
        root, parts = walked
        if not parts and root in self.library_bases:  # a class of this module
            return self.library_bases[root]
        known, obj = self.scope.get(root)
        if not known:
            return []
        for part in parts:
            obj = lookup(obj, part)
        return [obj] if isinstance(obj, type) else []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in (*node.bases, *node.decorator_list, *(k.value for k in node.keywords)):
            self.visit(expr)
        bases = [cls for base in node.bases for cls in self.library_classes(base)]
        self.library_bases[node.name] = bases
        own: set[str] = set()
        for statement in node.body:
            for name in defined_names(statement):
                own.add(name)
                if bases and is_private(name) and any(hasattr(cls, name) for cls in bases):
                    self.report(statement, f"class {node.name} overrides {name} of {describe(bases)}")
        self.own_names[node.name] = own
        self.classes.append((node.name, bases, own))
        for statement in node.body:
            self.visit(statement)
        self.classes.pop()

    def check_own_class(self, node: ast.Attribute, root: str, parts: list[str]) -> None:
        """``self._y`` / ``cls._y`` in a method of a class deriving from a library class."""
        if not self.classes or root not in ("self", "cls") or not parts:
            return
        name, bases, own = self.classes[-1]
        first = parts[0]
        if bases and is_private(first) and first not in own and any(hasattr(cls, first) for cls in bases):
            self.report(node, f"{root}.{first} (of {describe(bases)}, in class {name})")

    def check_subclass_name(self, node: ast.Attribute, root: str, parts: list[str]) -> None:
        """``Fast._y`` where ``Fast`` is a class of this module deriving from a library class."""
        bases = self.library_bases.get(root)
        known, _obj = self.scope.get(root)
        if known or not bases or not parts:
            return
        first = parts[0]
        if is_private(first) and first not in self.own_names.get(root, set()) and any(hasattr(cls, first) for cls in bases):
            self.report(node, f"{root}.{first} (of {describe(bases)})")

    def check_super(self, node: ast.Attribute) -> None:
        """``super()._y`` in a method of a class deriving from a library class."""
        first = node
        while isinstance(first.value, ast.Attribute):
            first = first.value
        call = first.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "super" and self.classes):
            return
        name, bases, _own = self.classes[-1]
        if is_private(first.attr) and any(hasattr(cls, first.attr) for cls in bases):
            self.report(node, f"super().{first.attr} (of {describe(bases)}, in class {name})")


def defined_names(statement: ast.stmt) -> list[str]:
    """Names a statement of a class body defines."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [statement.name]
    if isinstance(statement, ast.Assign):
        return [t.id for t in statement.targets if isinstance(t, ast.Name)]
    if isinstance(statement, ast.AnnAssign | ast.AugAssign) and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    return []


def describe(bases: list[Any]) -> str:
    return ", ".join(f"{cls.__module__}.{cls.__qualname__}" for cls in bases)


def private_uses(source: str, filename: str = "<string>") -> list[tuple[int, str]]:
    """Every private third-party name ``source`` reaches, as (line, what), in line order."""
    checker = Checker()
    checker.visit(ast.parse(source, filename))
    return sorted(set(checker.found))


def offenders(root: Path = PACKAGE) -> list[str]:
    """``path:line: what`` for every module under ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for line, what in private_uses(path.read_text(encoding="utf-8"), str(path)):
            found.append(f"{path.relative_to(root.parent)}:{line}: {what}")
    return found


def test_leadmagnet_uses_no_private_name_of_a_dependency() -> None:
    found = offenders()
    assert not found, "private names of third-party packages (use their public API):\n" + "\n".join(found)


PLANTED = """
import jinja2
import markupsafe as ms
from flask import current_app, g, request
from markupsafe import _escape_inner
from jinja2 import Template
import werkzeug._internal
from werkzeug._internal import _log


def render(text):
    env = jinja2.Environment()
    ms._escape_inner(text)
    jinja2.runtime._context_function_types
    app = current_app._get_current_object()
    request._get_current_object()
    getattr(jinja2.Template, "_from_namespace")
    hasattr(Template, "_from_namespace")
    return Template._from_namespace


class Fast(jinja2.Template):
    @classmethod
    def from_code(cls, environment, code, globals, uptodate=None):
        rv = cls._from_namespace(environment, {}, globals)
        rv.uptodate = uptodate
        return super()._from_namespace(environment, {}, globals)

    def _get_default_module(self, ctx=None):
        return None


class Faster(Fast):
    def render(self):
        return self._get_default_module()


Faster._from_namespace
"""


def test_the_check_finds_planted_private_names() -> None:
    found = private_uses(PLANTED)
    lines = {line for line, _what in found}
    source = PLANTED.splitlines()

    def line_of(text: str) -> int:
        return next(n for n, line in enumerate(source, 1) if text in line)

    for text in (
        "from markupsafe import _escape_inner",
        "import werkzeug._internal",
        "from werkzeug._internal import _log",
        "ms._escape_inner(text)",
        "jinja2.runtime._context_function_types",
        "current_app._get_current_object()",
        "request._get_current_object()",
        'getattr(jinja2.Template, "_from_namespace")',
        'hasattr(Template, "_from_namespace")',
        "return Template._from_namespace",
        "rv = cls._from_namespace",
        "return super()._from_namespace",
        "def _get_default_module",
        "return self._get_default_module()",
        "Faster._from_namespace",
    ):
        assert line_of(text) in lines, f"not reported: {text}\n{found}"
    assert line_of("env = jinja2.Environment()") not in lines


OURS_ONLY = """
import atexit
import os
import sys

import jinja2
from flask import g
from leadmagnet.content.catalog import _scan
from . import _helpers


class Cache:
    def __init__(self):
        self._items = {}

    def _evict(self):
        return self._items.popitem()


class Loader(jinja2.BaseLoader):
    def __init__(self):
        self._ours = {}

    def get_source(self, environment, template):
        return self._ours[template], None, None

    def _own_helper(self):
        return self._ours


def handler(request):
    # a parameter that shadows nothing imported: ours
    request._cached = 1
    g.site._cache.clear()
    jinja2.__version__
    os._exit(0)
    sys._getframe()
    atexit._run_exitfuncs()
    return _scan, _helpers


def other(jinja2):
    return jinja2._anything  # a parameter named like the module: not the module
"""


def test_the_check_ignores_our_own_private_names_and_the_standard_library() -> None:
    assert private_uses(OURS_ONLY) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import flask\nflask.current_app._get_current_object()\n", "flask.current_app._get_current_object"),
        ("import jinja2.runtime as rt\nrt._thing\n", "rt._thing"),
        ("import importlib\nimportlib.import_module('markdown._x')\n", "import_module('markdown._x')"),
        ("def f():\n    from markupsafe import escape\n    return escape._x\n", "escape._x"),
    ],
)
def test_the_check_names_what_it_found(source: str, expected: str) -> None:
    assert [what for _line, what in private_uses(source)] == [expected]


def test_offenders_are_listed_with_file_and_line(tmp_path: Path) -> None:
    package = tmp_path / "leadmagnet"
    (package / "web").mkdir(parents=True)
    (package / "web" / "planted.py").write_text("from flask import current_app\n\n\napp = current_app._get_current_object()\n")
    assert offenders(package) == ["leadmagnet/web/planted.py:4: current_app._get_current_object"]
