#!/usr/bin/env python3
"""Extract a JSON schema snapshot of the Aviatrix Terraform provider from its Go source.

Reads the Go source of AviatrixSystems/terraform-provider-aviatrix straight out of a
(bare) git directory with ``git cat-file`` / ``git ls-tree`` -- no work tree, no Go
toolchain -- and writes a deterministic JSON document (sorted keys, 2-space indent).

Usage::

    extract-aviatrix-schema.py --git-dir DIR --tag TAG --out FILE
                      [--resources a,b,c | all] [--data-sources a,b | all] [--facts-only]

How it works (stdlib only, Python 3.11):

* a real Go lexer (strings, raw strings, runes, comments, automatic semicolon
  insertion) over every non-test ``.go`` file in ``aviatrix/`` and ``goaviatrix/``;
* an index of package-level ``const``, ``var`` and ``func`` declarations per package;
* a recursive-descent Go expression parser (composite literals with elided types,
  selectors, calls, index, unary/binary operators, func literals) -- all brace
  matching is done on tokens, never with line regexes;
* a small evaluator that resolves constants (``goaviatrix.NameKey``), package-level
  vars (``dcfRuleElem``), helper functions returning ``*schema.Resource`` or
  ``map[string]*schema.Schema`` (simple straight-line bodies: locals, ``x[k] = v``,
  ``x.F = v``, ``delete``, ``for k, v := range src { dst[k] = v }`` merges, return),
  and well-known ``validation.*`` / ``schema.*`` helpers.

Anything that cannot be resolved is emitted as ``{"unresolved": "<go expr>"}`` and
listed in the top-level ``unresolved`` array; nothing is guessed.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

PROVIDER_SOURCE = "AviatrixSystems/aviatrix"

DEFAULT_RESOURCES = [
    "aviatrix_smart_group",
    "aviatrix_web_group",
    "aviatrix_dcf_ruleset",
    "aviatrix_dcf_policy_group",
    "aviatrix_spoke_gateway",
    "aviatrix_spoke_transit_attachment",
    "aviatrix_distributed_firewalling_config",
    "aviatrix_distributed_firewalling_default_action_rule",
    "aviatrix_distributed_firewalling_proxy_ca_config",
    "aviatrix_kubernetes_cluster",
    "aviatrix_distributed_firewalling_policy_list",
    # replacement named by aviatrix_distributed_firewalling_config's DeprecationMessage
    "aviatrix_config_feature",
]
# data sources: every DataSourcesMap entry whose name contains "dcf", plus these
DEFAULT_EXTRA_DATA_SOURCES = ["aviatrix_smart_groups", "aviatrix_web_group"]

PACKAGE_DIRS = ("aviatrix", "goaviatrix")
SCHEMA_TYPES = {
    "TypeString": "string",
    "TypeInt": "int",
    "TypeBool": "bool",
    "TypeFloat": "float",
    "TypeList": "list",
    "TypeSet": "set",
    "TypeMap": "map",
    "TypeInvalid": "invalid",
}

# --------------------------------------------------------------------------- git


class Git:
    def __init__(self, git_dir: str):
        self.git_dir = git_dir

    def run(self, *args: str, input_bytes: bytes | None = None) -> bytes:
        proc = subprocess.run(
            ["git", "--git-dir", self.git_dir, *args],
            input=input_bytes,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}"
            )
        return proc.stdout

    def commit_of(self, tag: str) -> str:
        return self.run("rev-parse", "--verify", f"{tag}^{{commit}}").decode().strip()

    def ls_files(self, commit: str, *paths: str) -> list[str]:
        out = self.run("ls-tree", "-r", "--name-only", commit, "--", *paths).decode()
        return [line for line in out.splitlines() if line]

    def read_many(self, commit: str, paths: list[str]) -> dict[str, str | None]:
        """Read several blobs with one ``git cat-file --batch`` call."""
        if not paths:
            return {}
        req = "".join(f"{commit}:{p}\n" for p in paths).encode()
        out = self.run("cat-file", "--batch", input_bytes=req)
        result: dict[str, str | None] = {}
        pos = 0
        for p in paths:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].decode()
            pos = nl + 1
            if header.endswith(" missing"):
                result[p] = None
                continue
            size = int(header.split()[2])
            result[p] = out[pos : pos + size].decode("utf-8", errors="replace")
            pos += size + 1  # trailing LF
        return result

    def read(self, commit: str, path: str) -> str | None:
        return self.read_many(commit, [path])[path]


# --------------------------------------------------------------------------- lexer

KEYWORDS = {
    "break",
    "case",
    "chan",
    "const",
    "continue",
    "default",
    "defer",
    "else",
    "fallthrough",
    "for",
    "func",
    "go",
    "goto",
    "if",
    "import",
    "interface",
    "map",
    "package",
    "range",
    "return",
    "select",
    "struct",
    "switch",
    "type",
    "var",
}

_OPS = [
    "<<=",
    ">>=",
    "&^=",
    "...",
    "&&",
    "||",
    "<-",
    "++",
    "--",
    "==",
    "!=",
    "<=",
    ">=",
    ":=",
    "+=",
    "-=",
    "*=",
    "/=",
    "%=",
    "&=",
    "|=",
    "^=",
    "<<",
    ">>",
    "&^",
    "+",
    "-",
    "*",
    "/",
    "%",
    "&",
    "|",
    "^",
    "<",
    ">",
    "=",
    "!",
    "~",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ".",
    ":",
]
_TOKEN_RE = re.compile(
    r"""
    (?P<nl>\n)
  | (?P<ws>[ \t\r\f\v]+)
  | (?P<lcomment>//[^\n]*)
  | (?P<bcomment>/\*.*?\*/)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<rune>'(?:[^'\\\n]|\\.)+')
  | (?P<num>0[xX][0-9a-fA-F_]*(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?[0-9_]+)?i?
           |0[bBoO][0-9a-fA-F_]+i?
           |[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9_]+)?i?
           |\.[0-9][0-9_]*(?:[eE][+-]?[0-9_]+)?i?)
  | (?P<ident>[^\W\d]\w*)
  | (?P<op>"""
    + "|".join(re.escape(o) for o in _OPS)
    + r""")
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(slots=True)
class Tok:
    kind: str  # ident keyword int float string rune op ;
    val: str
    start: int
    end: int
    line: int


_SEMI_AFTER = {"ident", "int", "float", "string", "rune"}
_SEMI_AFTER_VALS = {"break", "continue", "fallthrough", "return", "++", "--", ")", "]", "}"}


def lex(src: str, fname: str = "?") -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    line = 1
    n = len(src)

    def need_semi() -> bool:
        if not toks:
            return False
        t = toks[-1]
        return t.kind in _SEMI_AFTER or t.val in _SEMI_AFTER_VALS

    while pos < n:
        m = _TOKEN_RE.match(src, pos)
        if not m:
            raise SyntaxError(f"{fname}:{line}: cannot lex at {src[pos : pos + 20]!r}")
        kind = m.lastgroup
        text = m.group()
        if kind in {"nl", "lcomment"}:
            if kind == "nl":
                if need_semi():
                    toks.append(Tok(";", "\n", m.start(), m.start(), line))
                line += 1
        elif kind == "bcomment":
            if "\n" in text:
                if need_semi():
                    toks.append(Tok(";", "\n", m.start(), m.start(), line))
                line += text.count("\n")
        elif kind == "ws":
            pass
        else:
            if kind in {"raw", "str"}:
                k = "string"
            elif kind == "rune":
                k = "rune"
            elif kind == "num":
                k = (
                    "float"
                    if re.search(r"[.eEpP]", text) and not text.startswith(("0x", "0X"))
                    else "int"
                )
            elif kind == "ident":
                k = "keyword" if text in KEYWORDS else "ident"
            else:
                k = "op" if text != ";" else ";"
            toks.append(Tok(k, text, m.start(), m.end(), line))
            if kind == "raw":
                line += text.count("\n")
        pos = m.end()
    if need_semi():
        toks.append(Tok(";", "\n", n, n, line))
    return toks


def go_string_value(tok: Tok) -> str:
    v = tok.val
    if v.startswith("`"):
        return v[1:-1].replace("\r", "")
    # interpreted string literal: Go escapes are a superset-compatible subset of Python's
    body = v[1:-1]
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        simple = {
            "a": "\a",
            "b": "\b",
            "f": "\f",
            "n": "\n",
            "r": "\r",
            "t": "\t",
            "v": "\v",
            "\\": "\\",
            "'": "'",
            '"': '"',
        }
        if nxt in simple:
            out.append(simple[nxt])
            i += 2
        elif nxt == "x":
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        elif nxt == "u":
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        elif nxt == "U":
            out.append(chr(int(body[i + 2 : i + 10], 16)))
            i += 10
        elif nxt in "01234567":
            out.append(chr(int(body[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


# --------------------------------------------------------------------------- AST


@dataclass
class Node:
    kind: str
    a: int  # first token index
    b: int  # one past last token index
    f: GoFile
    # payload
    val: Any = None
    x: Any = None  # sub node
    args: list = field(default_factory=list)
    typ: Any = None  # TypeNode for composites / type nodes
    name: str = ""

    def text(self) -> str:
        return self.f.text(self.a, self.b)


@dataclass
class TypeNode:
    kind: str  # map slice array ptr named func interface struct chan other
    text: str
    key: TypeNode | None = None
    elem: TypeNode | None = None


class ParseError(Exception):
    pass


class GoFile:
    def __init__(self, path: str, src: str):
        self.path = path
        self.src = src
        self.toks = lex(src, path)
        self.package = ""
        self.imports: dict[str, str] = {}  # alias -> import path
        self.embeds: dict[str, str] = {}  # var name -> embedded file (go:embed)

    def text(self, a: int, b: int) -> str:
        if a >= b:
            return ""
        s = self.src[self.toks[a].start : self.toks[b - 1].end]
        return re.sub(r"\s+", " ", s).strip()

    def line_of(self, i: int) -> int:
        return self.toks[min(i, len(self.toks) - 1)].line

    # ---- token helpers
    def match_close(self, i: int) -> int:
        """i points at ( [ or {; return index of the matching closer."""
        pairs = {"(": ")", "[": "]", "{": "}"}
        opener = self.toks[i].val
        stack = [pairs[opener]]
        j = i + 1
        toks = self.toks
        while j < len(toks):
            v = toks[j].val
            if toks[j].kind == "op":
                if v in pairs:
                    stack.append(pairs[v])
                elif v in (")", "]", "}"):
                    if v != stack[-1]:
                        raise ParseError(f"{self.path}:{toks[j].line}: unbalanced {v}")
                    stack.pop()
                    if not stack:
                        return j
            j += 1
        raise ParseError(f"{self.path}: unclosed {opener} at line {toks[i].line}")


class Parser:
    """Recursive-descent parser for Go types and expressions over a GoFile's tokens."""

    PREC = {
        "||": 1,
        "&&": 2,
        "==": 3,
        "!=": 3,
        "<": 3,
        "<=": 3,
        ">": 3,
        ">=": 3,
        "+": 4,
        "-": 4,
        "|": 4,
        "^": 4,
        "*": 5,
        "/": 5,
        "%": 5,
        "<<": 5,
        ">>": 5,
        "&": 5,
        "&^": 5,
    }

    def __init__(self, f: GoFile, i: int, end: int | None = None):
        self.f = f
        self.t = f.toks
        self.i = i
        self.end = len(f.toks) if end is None else end

    def peek(self, k: int = 0) -> Tok | None:
        j = self.i + k
        return self.t[j] if j < self.end else None

    def at(self, val: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t.val == val and t.kind in ("op", "keyword", ";")

    def expect(self, val: str) -> Tok:
        t = self.peek()
        if t is None or t.val != val:
            got = t.val if t else "EOF"
            line = t.line if t else "?"
            raise ParseError(f"{self.f.path}:{line}: expected {val!r}, got {got!r}")
        self.i += 1
        return t

    # ---- types
    def parse_type(self) -> TypeNode:
        a = self.i
        t = self.peek()
        if t is None:
            raise ParseError(f"{self.f.path}: EOF in type")
        if t.val == "*" and t.kind == "op":
            self.i += 1
            el = self.parse_type()
            return TypeNode("ptr", self.f.text(a, self.i), elem=el)
        if t.val == "[" and t.kind == "op":
            self.i += 1
            if self.at("]"):
                self.i += 1
                el = self.parse_type()
                return TypeNode("slice", self.f.text(a, self.i), elem=el)
            close = self.f.match_close(self.i - 1)
            self.i = close + 1
            el = self.parse_type()
            return TypeNode("array", self.f.text(a, self.i), elem=el)
        if t.val == "map" and t.kind == "keyword":
            self.i += 1
            self.expect("[")
            key = self.parse_type()
            self.expect("]")
            el = self.parse_type()
            return TypeNode("map", self.f.text(a, self.i), key=key, elem=el)
        if t.val in ("interface", "struct") and t.kind == "keyword":
            self.i += 1
            if self.at("{"):
                self.i = self.f.match_close(self.i) + 1
            return TypeNode(t.val, self.f.text(a, self.i))
        if t.val == "func" and t.kind == "keyword":
            self.i += 1
            self.skip_signature()
            return TypeNode("func", self.f.text(a, self.i))
        if t.val == "chan" and t.kind == "keyword":
            self.i += 1
            if self.at("<-"):
                self.i += 1
            self.parse_type()
            return TypeNode("chan", self.f.text(a, self.i))
        if t.val == "<-":
            self.i += 1
            self.expect("chan")
            self.parse_type()
            return TypeNode("chan", self.f.text(a, self.i))
        if t.val == "(":
            self.i += 1
            inner = self.parse_type()
            self.expect(")")
            return inner
        if t.kind == "ident":
            self.i += 1
            if self.at(".") and self.peek(1) and self.peek(1).kind == "ident":
                self.i += 2
            if self.at("["):  # generic instantiation
                self.i = self.f.match_close(self.i) + 1
            return TypeNode("named", self.f.text(a, self.i))
        raise ParseError(f"{self.f.path}:{t.line}: unexpected {t.val!r} in type")

    def skip_signature(self) -> None:
        """After 'func' (and name): skip params and results."""
        if self.at("["):  # type params
            self.i = self.f.match_close(self.i) + 1
        if not self.at("("):
            raise ParseError(f"{self.f.path}:{self.peek().line}: expected ( in signature")
        self.i = self.f.match_close(self.i) + 1
        # results
        if self.at("("):
            self.i = self.f.match_close(self.i) + 1
        elif self._starts_type():
            self.parse_type()

    def _starts_type(self) -> bool:
        t = self.peek()
        if t is None:
            return False
        if t.kind == "ident":
            return True
        if t.kind == "keyword" and t.val in ("map", "func", "interface", "struct", "chan"):
            return True
        return t.kind == "op" and t.val in ("*", "[", "<-")

    # ---- expressions
    def parse_expr(self, no_lit: bool = False, min_prec: int = 1) -> Node:
        left = self.parse_unary(no_lit)
        while True:
            t = self.peek()
            if t is None or t.kind != "op" or t.val not in self.PREC:
                break
            p = self.PREC[t.val]
            if p < min_prec:
                break
            self.i += 1
            right = self.parse_expr(no_lit, p + 1)
            left = Node("binary", left.a, right.b, self.f, val=t.val, x=left, args=[right])
        return left

    def parse_unary(self, no_lit: bool) -> Node:
        t = self.peek()
        if t is not None and t.kind == "op" and t.val in ("+", "-", "!", "^", "*", "&", "<-", "~"):
            a = self.i
            self.i += 1
            x = self.parse_unary(no_lit)
            return Node("unary", a, x.b, self.f, val=t.val, x=x)
        return self.parse_primary(no_lit)

    def parse_primary(self, no_lit: bool) -> Node:
        a = self.i
        t = self.peek()
        if t is None:
            raise ParseError(f"{self.f.path}: unexpected EOF in expression")
        if t.kind == "string":
            self.i += 1
            node = Node("string", a, self.i, self.f, val=go_string_value(t))
        elif t.kind == "int":
            self.i += 1
            txt = t.val.replace("_", "")
            try:
                v = int(txt, 0) if not txt.endswith("i") else None
            except ValueError:
                v = int(txt, 8) if re.fullmatch(r"0[0-7]+", txt) else None
            node = Node("int", a, self.i, self.f, val=v)
        elif t.kind == "float":
            self.i += 1
            try:
                v = float(t.val.replace("_", ""))
            except ValueError:
                v = None
            node = Node("float", a, self.i, self.f, val=v)
        elif t.kind == "rune":
            self.i += 1
            node = Node("rune", a, self.i, self.f, val=t.val)
        elif t.kind == "keyword" and t.val == "func":
            self.i += 1
            self.skip_signature()
            if self.at("{"):
                self.i = self.f.match_close(self.i) + 1
                node = Node("funclit", a, self.i, self.f)
            else:
                node = Node("type", a, self.i, self.f, typ=TypeNode("func", self.f.text(a, self.i)))
        elif t.kind == "op" and t.val == "(":
            self.i += 1
            inner = self.parse_expr(False)
            self.expect(")")
            node = Node("paren", a, self.i, self.f, x=inner)
        elif (t.kind == "op" and t.val == "[") or (
            t.kind == "keyword" and t.val in ("map", "struct", "interface", "chan")
        ):
            typ = self.parse_type()
            if self.at("{"):
                node = self.parse_composite(typ, a)
            else:
                node = Node("type", a, self.i, self.f, typ=typ)
        elif t.kind == "ident":
            self.i += 1
            node = Node("ident", a, self.i, self.f, name=t.val)
        else:
            raise ParseError(f"{self.f.path}:{t.line}: unexpected {t.val!r} in expression")
        # postfix
        while True:
            t = self.peek()
            if t is None:
                break
            if t.val == "." and t.kind == "op":
                nt = self.peek(1)
                if nt is not None and nt.kind == "ident":
                    self.i += 2
                    node = Node("selector", a, self.i, self.f, x=node, name=nt.val)
                    continue
                if nt is not None and nt.val == "(":
                    self.i += 1
                    close = self.f.match_close(self.i)
                    self.i = close + 1
                    node = Node("assert", a, self.i, self.f, x=node)
                    continue
                break
            if t.val == "(" and t.kind == "op":
                self.i += 1
                args = []
                while not self.at(")"):
                    if self._looks_like_type_arg():
                        tb = self.i
                        typ = self.parse_type()
                        args.append(Node("type", tb, self.i, self.f, typ=typ))
                    else:
                        args.append(self.parse_expr(False))
                    if self.at("..."):
                        self.i += 1
                    if self.at(","):
                        self.i += 1
                        continue
                    if not self.at(")"):
                        raise ParseError(f"{self.f.path}:{self.peek().line}: bad call args")
                self.i += 1
                node = Node("call", a, self.i, self.f, x=node, args=args)
                continue
            if t.val == "[" and t.kind == "op":
                close = self.f.match_close(self.i)
                sub = Parser(self.f, self.i + 1, close)
                idx = None
                if sub.i < close and not sub.at(":"):
                    try:
                        idx = sub.parse_expr(False)
                    except ParseError:
                        idx = None
                self.i = close + 1
                node = Node("index", a, self.i, self.f, x=node, args=[idx] if idx else [])
                continue
            if (
                t.val == "{"
                and t.kind == "op"
                and not no_lit
                and node.kind in ("ident", "selector", "index")
            ):
                typ = TypeNode("named", self.f.text(a, self.i))
                node = self.parse_composite(typ, a)
                continue
            break
        return node

    def _looks_like_type_arg(self) -> bool:
        t = self.peek()
        if t is None:
            return False
        if t.kind == "keyword" and t.val in ("map", "chan", "interface", "struct"):
            # map[..]..{ is a composite literal, otherwise a type (make(map[..]..))
            save = self.i
            try:
                self.parse_type()
                return not self.at("{")
            except ParseError:
                return False
            finally:
                self.i = save
        if t.kind == "op" and t.val == "[":
            save = self.i
            try:
                self.parse_type()
                return not self.at("{")
            except ParseError:
                return False
            finally:
                self.i = save
        return False

    def parse_composite(self, typ: TypeNode | None, a: int) -> Node:
        self.expect("{")
        elems: list[tuple[Node | None, Node]] = []
        elem_t = _elem_type(typ)
        key_t = typ.key if typ is not None and typ.kind == "map" else None
        while not self.at("}"):
            while self.at(";"):
                self.i += 1
            if self.at("}"):
                break
            k = self.parse_element(key_t)
            if self.at(":"):
                self.i += 1
                v = self.parse_element(elem_t)
                elems.append((k, v))
            else:
                elems.append((None, k))
            while self.at(";"):
                self.i += 1
            if self.at(","):
                self.i += 1
                continue
            while self.at(";"):
                self.i += 1
            if not self.at("}"):
                t = self.peek()
                raise ParseError(
                    f"{self.f.path}:{t.line if t else '?'}: expected , or }} in composite literal"
                )
        self.i += 1
        return Node("composite", a, self.i, self.f, typ=typ, args=elems)

    def parse_element(self, typ: TypeNode | None) -> Node:
        if self.at("{"):
            a = self.i
            return self.parse_composite(typ, a)
        return self.parse_expr(False)


def _elem_type(typ: TypeNode | None) -> TypeNode | None:
    if typ is None:
        return None
    if typ.kind in ("map", "slice", "array"):
        el = typ.elem
        if el is not None and el.kind == "ptr":
            return el.elem  # elided &T{...}
        return el
    return None


# --------------------------------------------------------------------------- declarations


@dataclass
class FuncDecl:
    name: str
    f: GoFile
    params: list[str | None]
    body_a: int  # index of '{'
    body_b: int  # index of '}'
    line_a: int
    line_b: int


@dataclass
class ValueDecl:
    name: str
    f: GoFile
    kind: str  # const | var
    expr: Node | None
    iota: int
    typ: TypeNode | None
    line: int


class Package:
    def __init__(self, name: str):
        self.name = name
        self.funcs: dict[str, FuncDecl] = {}
        self.values: dict[str, ValueDecl] = {}
        self.files: list[GoFile] = []


def parse_file_decls(f: GoFile, pkg_of: dict[str, Package]) -> None:
    toks = f.toks
    i = 0
    n = len(toks)
    # package clause
    while i < n and not (toks[i].kind == "keyword" and toks[i].val == "package"):
        i += 1
    f.package = toks[i + 1].val
    pkg = pkg_of.setdefault(f.package, Package(f.package))
    pkg.files.append(f)
    i += 2
    # go:embed directives: find '//go:embed X' immediately preceding 'var name'
    for m in re.finditer(r"//go:embed\s+(\S+)\s*\n\s*var\s+(\w+)", f.src):
        f.embeds[m.group(2)] = m.group(1)
    while i < n:
        t = toks[i]
        if t.kind == ";":
            i += 1
            continue
        if t.kind == "keyword" and t.val == "import":
            i += 1
            if toks[i].val == "(":
                close = f.match_close(i)
                j = i + 1
                while j < close:
                    if toks[j].kind == ";":
                        j += 1
                        continue
                    alias = None
                    if toks[j].kind in ("ident",) or toks[j].val in (".", "_"):
                        alias = toks[j].val
                        j += 1
                    path = go_string_value(toks[j])
                    j += 1
                    f.imports[alias or path.rsplit("/", 1)[-1]] = path
                i = close + 1
            else:
                alias = None
                if toks[i].kind == "ident" or toks[i].val in (".", "_"):
                    alias = toks[i].val
                    i += 1
                path = go_string_value(toks[i])
                f.imports[alias or path.rsplit("/", 1)[-1]] = path
                i += 1
            continue
        if t.kind == "keyword" and t.val in ("const", "var"):
            kind = t.val
            i += 1
            if toks[i].val == "(":
                close = f.match_close(i)
                j = i + 1
                iota = 0
                prev: tuple[TypeNode | None, list[Node]] | None = None
                while j < close:
                    if toks[j].kind == ";":
                        j += 1
                        continue
                    j, prev = _parse_value_spec(f, j, close, kind, iota, prev, pkg)
                    iota += 1
                i = close + 1
            else:
                i, _ = _parse_value_spec(f, i, n, kind, 0, None, pkg)
            continue
        if t.kind == "keyword" and t.val == "type":
            i += 1
            # a grouped spec ends at its ')'; a single one at the next ';' at depth 0
            i = f.match_close(i) + 1 if toks[i].val == "(" else _skip_to_semicolon(f, i, n)
            continue
        if t.kind == "keyword" and t.val == "func":
            start = i
            i += 1
            receiver = False
            if toks[i].val == "(":
                receiver = True
                i = f.match_close(i) + 1
            name = toks[i].val
            i += 1
            p = Parser(f, i)
            if p.at("["):
                p.i = f.match_close(p.i) + 1
            params_a = p.i
            params_close = f.match_close(params_a)
            params = _param_names(f, params_a + 1, params_close)
            p.i = params_close + 1
            if p.at("("):
                p.i = f.match_close(p.i) + 1
            elif p._starts_type() and not p.at("{"):
                p.parse_type()
            if p.at("{"):
                body_b = f.match_close(p.i)
                if not receiver:
                    pkg.funcs[name] = FuncDecl(
                        name, f, params, p.i, body_b, toks[start].line, toks[body_b].line
                    )
                i = body_b + 1
            else:
                i = p.i
            continue
        # unknown top-level token: skip
        i += 1


def _skip_to_semicolon(f: GoFile, i: int, n: int) -> int:
    toks = f.toks
    while i < n and toks[i].kind != ";":
        if toks[i].val in ("(", "[", "{") and toks[i].kind == "op":
            i = f.match_close(i) + 1
        else:
            i += 1
    return i + 1


def _parse_value_spec(f, j, end, kind, iota, prev, pkg):
    toks = f.toks
    names = []
    while True:
        names.append((toks[j].val, toks[j].line))
        j += 1
        if toks[j].val == "," and toks[j].kind == "op":
            j += 1
            continue
        break
    p = Parser(f, j, end)
    typ = None
    if not p.at("=") and not p.at(";") and not p.at(")"):
        typ = p.parse_type()
    exprs: list[Node] = []
    if p.at("="):
        p.i += 1
        while True:
            exprs.append(p.parse_expr(False))
            if p.at(","):
                p.i += 1
                continue
            break
    elif kind == "const" and prev is not None:
        typ = typ or prev[0]
        exprs = prev[1]
    for k, (nm, line) in enumerate(names):
        expr = exprs[k] if k < len(exprs) else None
        if nm != "_":
            pkg.values[nm] = ValueDecl(nm, f, kind, expr, iota, typ, line)
    j = p.i
    while j < end and toks[j].kind != ";":
        j += 1
    return j + 1, (typ, exprs) if exprs else prev


def _param_names(f: GoFile, a: int, b: int) -> list[str | None]:
    toks = f.toks
    parts: list[list[Tok]] = []
    cur: list[Tok] = []
    depth = 0
    for k in range(a, b):
        t = toks[k]
        if t.kind == "op" and t.val in ("(", "[", "{"):
            depth += 1
        elif t.kind == "op" and t.val in (")", "]", "}"):
            depth -= 1
        if depth == 0 and t.kind == "op" and t.val == ",":
            parts.append(cur)
            cur = []
            continue
        if t.kind == ";":
            continue
        cur.append(t)
    if cur:
        parts.append(cur)
    named = any(len(p) >= 2 and p[0].kind == "ident" and p[1].val != "." for p in parts)
    out: list[str | None] = []
    for part in parts:
        variadic = any(t.val == "..." for t in part)
        if named and part and part[0].kind == "ident":
            out.append(("..." if variadic else "") + part[0].val)
        else:
            out.append("..." if variadic else None)
    return out


# --------------------------------------------------------------------------- values


@dataclass
class Unresolved:
    expr: str
    reason: str = ""


@dataclass
class Composite:
    typ: str  # type text ('' if elided and unknown)
    is_map: bool
    items: list  # list of (key, value); key is str field name / evaluated key / None
    taint: list = field(default_factory=list)  # unmodelled statements that touched this value


@dataclass
class TypeConst:
    name: str  # string int ...


@dataclass
class FuncRef:
    name: str  # function name, 'validation.IsCIDR', '<inline func>'


@dataclass
class LibCall:
    name: str  # e.g. validation.StringInSlice
    args: list
    text: str


@dataclass
class RegexpVal:
    pattern: str


class EvalError(Exception):
    pass


@dataclass
class Frame:
    env: dict
    pkg: Package
    f: GoFile


class Evaluator:
    MAX_DEPTH = 40

    def __init__(self, pkgs: dict[str, Package], embed_reader):
        self.pkgs = pkgs
        self.embed_reader = embed_reader
        self.value_cache: dict[tuple[str, str], Any] = {}
        self.in_progress: set = set()
        self.call_cache: dict[tuple[str, str], Any] = {}
        self.depth = 0
        self.notes: list[str] = []

    # ---- name resolution
    def pkg_for_import(self, f: GoFile, alias: str) -> Package | None:
        path = f.imports.get(alias)
        if path is None:
            return None
        last = path.rsplit("/", 1)[-1]
        # the provider's own packages: aviatrix.com/terraform-provider-aviatrix/<pkg> (v8.2.10+)
        # or github.com/AviatrixSystems/terraform-provider-aviatrix[/vN]/<pkg> (older tags)
        if path.startswith("aviatrix.com/") or "/terraform-provider-aviatrix" in path:
            return self.pkgs.get(last)
        return None

    def lookup_value(self, pkg: Package, name: str) -> Any:
        key = (pkg.name, name)
        if key in self.value_cache:
            return copy.deepcopy(self.value_cache[key])
        decl = pkg.values.get(name)
        if decl is None:
            raise EvalError(name)
        if key in self.in_progress:
            return Unresolved(name, "cyclic reference")
        self.in_progress.add(key)
        try:
            if decl.f.embeds.get(name):
                content = self.embed_reader(decl.f.path, decl.f.embeds[name])
                val = content if content is not None else Unresolved(name, "go:embed file missing")
            elif decl.expr is None:
                val = Unresolved(name, "declared without value")
            else:
                fr = Frame({"iota": decl.iota}, pkg, decl.f)
                val = self.eval(decl.expr, fr)
        finally:
            self.in_progress.discard(key)
        self.value_cache[key] = val
        return copy.deepcopy(val)

    # ---- evaluation
    def eval(self, node: Node, fr: Frame) -> Any:
        k = node.kind
        if k in {"string", "int", "float"}:
            return node.val if node.val is not None else Unresolved(node.text())
        if k == "rune":
            return Unresolved(node.text(), "rune")
        if k == "paren":
            return self.eval(node.x, fr)
        if k == "unary":
            if node.val == "&":
                return self.eval(node.x, fr)
            v = self.eval(node.x, fr)
            if node.val == "!" and isinstance(v, bool):
                return not v
            if node.val == "-" and isinstance(v, (int, float)) and not isinstance(v, bool):
                return -v
            if node.val == "+" and isinstance(v, (int, float)):
                return v
            return Unresolved(node.text())
        if k == "binary":
            lv = self.eval(node.x, fr)
            rv = self.eval(node.args[0], fr)
            op = node.val
            if op == "+" and isinstance(lv, str) and isinstance(rv, str):
                return lv + rv
            if all(isinstance(v, int) and not isinstance(v, bool) for v in (lv, rv)):
                ops = {
                    "+": lambda x, y: x + y,
                    "-": lambda x, y: x - y,
                    "*": lambda x, y: x * y,
                    "<<": lambda x, y: x << y,
                    ">>": lambda x, y: x >> y,
                    "|": lambda x, y: x | y,
                    "&": lambda x, y: x & y,
                }
                if op in ops:
                    return ops[op](lv, rv)
            return Unresolved(node.text())
        if k == "ident":
            return self.eval_ident(node, fr)
        if k == "selector":
            return self.eval_selector(node, fr)
        if k == "composite":
            return self.eval_composite(node, fr)
        if k == "call":
            return self.eval_call(node, fr)
        if k == "funclit":
            return FuncRef("<inline func>")
        if k == "index":
            base = self.eval(node.x, fr)
            if isinstance(base, Composite) and node.args:
                key = self.eval(node.args[0], fr)
                for kk, vv in base.items:
                    if kk == key and not isinstance(key, Unresolved):
                        return vv
            return Unresolved(node.text())
        return Unresolved(node.text())

    def eval_ident(self, node: Node, fr: Frame) -> Any:
        name = node.name
        if name in fr.env:
            return fr.env[name]
        if name == "true":
            return True
        if name == "false":
            return False
        if name == "nil":
            return None
        if name in fr.pkg.values:
            return self.lookup_value(fr.pkg, name)
        if name in fr.pkg.funcs:
            return FuncRef(name)
        return Unresolved(name, "unknown identifier")

    def eval_selector(self, node: Node, fr: Frame) -> Any:
        x = node.x
        if x.kind == "ident" and x.name not in fr.env:
            alias = x.name
            if alias == "schema":
                if node.name in SCHEMA_TYPES:
                    return TypeConst(SCHEMA_TYPES[node.name])
                return FuncRef(f"schema.{node.name}")
            if alias == "validation":
                return FuncRef(f"validation.{node.name}")
            pkg = self.pkg_for_import(fr.f, alias)
            if pkg is not None:
                if node.name in pkg.values:
                    return self.lookup_value(pkg, node.name)
                if node.name in pkg.funcs:
                    return FuncRef(f"{alias}.{node.name}")
                return Unresolved(node.text(), "unknown package member")
            if alias in fr.f.imports:
                return FuncRef(f"{alias}.{node.name}")
        base = self.eval(x, fr)
        if isinstance(base, Composite) and not base.is_map:
            for kk, vv in base.items:
                if kk == node.name:
                    return vv
        return Unresolved(node.text())

    def eval_composite(self, node: Node, fr: Frame) -> Any:
        typ = node.typ
        is_map = typ is not None and typ.kind == "map"
        is_list = typ is not None and typ.kind in ("slice", "array")
        items = []
        for key_node, val_node in node.args:
            val = self.eval(val_node, fr)
            if key_node is None:
                key = None
            elif is_map or is_list:
                key = self.eval(key_node, fr)
            elif key_node.kind == "ident":
                key = key_node.name  # struct field name
            else:
                key = Unresolved(key_node.text())
            items.append((key, val))
        t = typ.text if typ is not None else ""
        if typ is not None and typ.kind == "ptr" and typ.elem is not None:
            t = typ.elem.text
        return Composite(t, is_map, items)

    def eval_call(self, node: Node, fr: Frame) -> Any:
        callee = node.x
        # library helpers
        if callee.kind == "selector" and callee.x.kind == "ident" and callee.x.name not in fr.env:
            alias, member = callee.x.name, callee.name
            if (
                alias in ("validation", "schema", "regexp", "strings", "fmt")
                and alias in fr.f.imports
            ):
                args = [
                    self.eval(a, fr) if a.kind != "type" else Unresolved(a.text())
                    for a in node.args
                ]
                if (
                    alias == "regexp"
                    and member in ("MustCompile", "MustCompilePOSIX")
                    and args
                    and isinstance(args[0], str)
                ):
                    return RegexpVal(args[0])
                if (
                    alias == "strings"
                    and member == "Join"
                    and len(args) == 2
                    and isinstance(args[1], str)
                    and isinstance(args[0], Composite)
                    and all(isinstance(v, str) for _, v in args[0].items)
                ):
                    return args[1].join(v for _, v in args[0].items)
                if (
                    alias == "fmt"
                    and member == "Sprintf"
                    and args
                    and isinstance(args[0], str)
                    and all(isinstance(a, (str, int)) for a in args[1:])
                ):
                    try:
                        return _go_sprintf(args[0], args[1:])
                    except (ValueError, TypeError):
                        return Unresolved(node.text())
                return LibCall(f"{alias}.{member}", args, node.text())
            pkg = self.pkg_for_import(fr.f, alias)
            if pkg is not None and member in pkg.funcs:
                return self.call_func(pkg.funcs[member], node, fr, f"{alias}.{member}")
            return LibCall(f"{alias}.{member}", [], node.text())
        if callee.kind == "ident" and callee.name not in fr.env:
            if callee.name in fr.pkg.funcs:
                return self.call_func(fr.pkg.funcs[callee.name], node, fr, callee.name)
            if (
                callee.name == "make"
                and node.args
                and node.args[0].kind == "type"
                and node.args[0].typ.kind == "map"
            ):
                return Composite(node.args[0].typ.text, True, [])
            if callee.name in ("append",):
                base = self.eval(node.args[0], fr) if node.args else None
                if isinstance(base, Composite):
                    extra = [(None, self.eval(a, fr)) for a in node.args[1:]]
                    return Composite(base.typ, base.is_map, base.items + extra)
            return Unresolved(node.text(), "call to unknown function")
        return Unresolved(node.text(), "unsupported call")

    def call_func(self, fd: FuncDecl, node: Node, fr: Frame, label: str) -> Any:
        args = [self.eval(a, fr) if a.kind != "type" else Unresolved(a.text()) for a in node.args]
        cache_key = None
        if not args:
            cache_key = (fd.f.package, fd.name)
            if cache_key in self.call_cache:
                return copy.deepcopy(self.call_cache[cache_key])
        if self.depth >= self.MAX_DEPTH:
            return Unresolved(node.text(), "call depth exceeded")
        env = {}
        for pi, pname in enumerate(fd.params):
            if pname and pname.startswith("..."):
                rest = node.args[pi:]
                if rest and any(True for _ in rest) and _call_has_spread(node):
                    env[pname[3:]] = args[pi] if pi < len(args) else Composite("", False, [])
                elif pname[3:]:
                    env[pname[3:]] = Composite("", False, [(None, v) for v in args[pi:]])
                break
            if pname and pi < len(args):
                env[pname] = args[pi]
        self.depth += 1
        try:
            res = self.exec_body(fd, Frame(env, self.pkgs[fd.f.package], fd.f), node.text())
        finally:
            self.depth -= 1
        if isinstance(res, Unresolved) and res.expr == "":
            res = Unresolved(node.text(), res.reason)
        # A function whose body returns a func literal (e.g. DefaultFunc factories):
        # keep it as a call description instead of a bare inline func.
        if isinstance(res, FuncRef) and res.name == "<inline func>":
            res = LibCall(label, args, node.text())
        if cache_key is not None:
            self.call_cache[cache_key] = copy.deepcopy(res)
        return res

    # ---- function bodies (straight-line subset)
    #
    # Modelled statements: return; var; x := e / x = e; x[k] = e; x.F = e; delete(m, k);
    # maps.Copy(dst, src); for [k[, v]] := range E { ...modelled statements... };
    # if/switch guards whose body only panics or returns.  Any other statement that mentions
    # a local holding a composite value "taints" that value: the converter then reports the
    # map/struct as unresolved (partially built) instead of silently emitting it.
    def exec_body(self, fd: FuncDecl, fr: Frame, call_text: str) -> Any:
        f = fd.f
        saved = getattr(self, "_nested_return", False)
        self._nested_return = False
        try:
            res = self.exec_block(f, fd.body_a + 1, fd.body_b, fr, top=True)
            if res is None:
                return Unresolved(call_text, "no top-level return")
            if self._nested_return and not isinstance(res, Unresolved):
                self.notes.append(
                    f"{f.path}:{fd.line_a}: {fd.name} has conditional returns before the "
                    "final one; the final return was used"
                )
            return res
        finally:
            self._nested_return = saved

    def exec_block(self, f: GoFile, a: int, b: int, fr: Frame, top: bool) -> Any:
        """Execute statements in [a, b). Returns the value of a `return`, or None."""
        for sa, sb in split_statements(f, a, b):
            t0 = f.toks[sa]
            if t0.kind == "keyword" and t0.val == "return":
                if not top:
                    self._taint_stmt(f, sa, sb, fr)
                    return None
                if sb == sa + 1:
                    return Unresolved(f.text(sa, sb), "bare return")
                p = Parser(f, sa + 1, sb)
                try:
                    expr = p.parse_expr(False)
                except ParseError as e:
                    return Unresolved(f.text(sa, sb), f"parse error: {e}")
                return self.eval(expr, fr)
            if t0.kind == "keyword" and t0.val in ("if", "switch", "select"):
                if _contains_return(f, sa, sb):
                    self._nested_return = True
                if not self._is_guard(f, sa, sb):
                    self._taint_stmt(f, sa, sb, fr)
                continue
            if t0.kind == "keyword" and t0.val == "for":
                if not self.exec_for(f, sa, sb, fr):
                    self._taint_stmt(f, sa, sb, fr)
                continue
            if t0.kind == "keyword" and t0.val == "var":
                try:
                    p = Parser(f, sa + 1, sb)
                    name = f.toks[p.i].val
                    p.i += 1
                    typ = None
                    if not p.at("="):
                        typ = p.parse_type()
                    if p.at("="):
                        p.i += 1
                        fr.env[name] = self.eval(p.parse_expr(False), fr)
                    elif typ is not None and typ.kind == "map":
                        fr.env[name] = Composite(typ.text, True, [])
                    else:
                        fr.env[name] = Unresolved(name, "zero value")
                except ParseError:
                    self._taint_stmt(f, sa, sb, fr)
                continue
            if t0.kind == "keyword" and t0.val in ("const", "type"):
                continue
            if t0.kind == "keyword" or (t0.kind == "op" and t0.val == "{"):
                # go, defer, goto, break, continue, nested blocks ...
                self._taint_stmt(f, sa, sb, fr)
                continue
            if not self.exec_simple(f, sa, sb, fr):
                self._taint_stmt(f, sa, sb, fr)
        return None

    def _is_guard(self, f: GoFile, a: int, b: int) -> bool:
        """`if ... { panic(...) }` / `if ... { return ... }` without else: no effect on values."""
        toks = f.toks
        if toks[a].val != "if":
            return False
        j = a + 1
        # find the body '{' at depth 0 (no composite literals in if headers in Go)
        depth = 0
        while j < b:
            t = toks[j]
            if t.kind == "op" and t.val in ("(", "["):
                depth += 1
            elif t.kind == "op" and t.val in (")", "]"):
                depth -= 1
            elif t.kind == "op" and t.val == "{" and depth == 0:
                break
            j += 1
        if j >= b:
            return False
        close = f.match_close(j)
        if close + 1 < b:  # else branch
            return False
        for sa, _sb in split_statements(f, j + 1, close):
            t0 = toks[sa]
            if t0.val == "return":
                continue
            if t0.kind == "ident" and t0.val == "panic":
                continue
            return False
        return True

    def _taint_stmt(self, f: GoFile, a: int, b: int, fr: Frame) -> None:
        names = {t.val for t in f.toks[a:b] if t.kind == "ident"}
        text = f.text(a, b)
        if len(text) > 200:
            text = text[:197] + "..."
        for n in names:
            v = fr.env.get(n)
            if isinstance(v, Composite):
                v.taint.append(f"{f.path}:{f.toks[a].line}: {text}")

    def exec_simple(self, f: GoFile, a: int, b: int, fr: Frame) -> bool:
        """Assignment or expression statement. Returns False if not modelled."""
        depth = 0
        op_i = None
        for j in range(a, b):
            t = f.toks[j]
            if t.kind == "op" and t.val in ("(", "[", "{"):
                depth += 1
            elif t.kind == "op" and t.val in (")", "]", "}"):
                depth -= 1
            elif depth == 0 and t.kind == "op" and t.val in (":=", "="):
                op_i = j
                break
            elif (
                depth == 0
                and t.kind == "op"
                and t.val in ("+=", "-=", "++", "--", "|=", "&=", "<-")
            ):
                return False
        if op_i is None:
            p = Parser(f, a, b)
            try:
                e = p.parse_expr(False)
            except ParseError:
                return False
            if e.kind != "call":
                return False
            if (
                e.x.kind == "selector"
                and e.x.x.kind == "ident"
                and e.x.x.name == "maps"
                and e.x.name == "Copy"
                and len(e.args) == 2
            ):
                dst = self.eval(e.args[0], fr)
                src = self.eval(e.args[1], fr)
                if isinstance(dst, Composite) and isinstance(src, Composite):
                    _merge_into(dst, src)
                    return True
                return False
            if e.x.kind == "ident" and e.x.name == "delete" and len(e.args) == 2:
                target = self.eval(e.args[0], fr)
                key = self.eval(e.args[1], fr)
                if isinstance(target, Composite) and not isinstance(key, Unresolved):
                    target.items = [(k, v) for k, v in target.items if k != key]
                    return True
                return False
            # other calls: harmless unless they mention a composite local (handled by taint)
            return e.x.kind == "ident" and e.x.name == "panic"
        lhs = Parser(f, a, op_i)
        lhs_nodes = []
        try:
            while lhs.i < op_i:
                lhs_nodes.append(lhs.parse_expr(True))
                if lhs.at(","):
                    lhs.i += 1
        except ParseError:
            return False
        rhs = Parser(f, op_i + 1, b)
        try:
            rhs_node = rhs.parse_expr(False)
        except ParseError:
            return False
        if len(lhs_nodes) != 1:
            # e.g. `v, ok := m[k]` / `x, err := f()`: bind names as unresolved
            for ln in lhs_nodes:
                if ln.kind == "ident" and ln.name != "_":
                    fr.env[ln.name] = Unresolved(f.text(op_i + 1, b), "multi-value assignment")
            return all(ln.kind == "ident" for ln in lhs_nodes)
        ln = lhs_nodes[0]
        val = self.eval(rhs_node, fr)
        if ln.kind == "ident":
            if ln.name != "_":
                fr.env[ln.name] = val
            return True
        if ln.kind == "index" and ln.args:
            target = self.eval(ln.x, fr)
            key = self.eval(ln.args[0], fr)
            if isinstance(target, Composite) and not isinstance(key, Unresolved):
                target.items = [(k, v) for k, v in target.items if k != key] + [(key, val)]
                return True
            return False
        if ln.kind == "selector":
            target = self.eval(ln.x, fr)
            if isinstance(target, Composite) and not target.is_map:
                target.items = [(k, v) for k, v in target.items if k != ln.name] + [(ln.name, val)]
                return True
            return False
        return False

    def exec_for(self, f: GoFile, a: int, b: int, fr: Frame) -> bool:
        """Model `for [k[, v]] := range EXPR { body }` over a known composite."""
        toks = f.toks
        j = a + 1
        names: list[str] = []
        while toks[j].kind == "ident":
            names.append(toks[j].val)
            j += 1
            if toks[j].val == ",":
                j += 1
                continue
            break
        if not names or len(names) > 2 or toks[j].val != ":=" or toks[j + 1].val != "range":
            return False
        p = Parser(f, j + 2, b)
        try:
            src_node = p.parse_expr(True)
        except ParseError:
            return False
        if not p.at("{"):
            return False
        body_a = p.i
        body_b = f.match_close(body_a)
        src = self.eval(src_node, fr)
        if not isinstance(src, Composite) or src.taint:
            return False
        for idx, (k, v) in enumerate(src.items):
            key = k if src.is_map else idx
            if names[0] != "_":
                fr.env[names[0]] = key
            if len(names) == 2 and names[1] != "_":
                fr.env[names[1]] = v
            if self.exec_block(f, body_a + 1, body_b, fr, top=False) is not None:
                return False
        return True


def _merge_into(dst: Composite, src: Composite) -> None:
    for k, v in src.items:
        dst.items = [(kk, vv) for kk, vv in dst.items if kk != k] + [(k, v)]
    dst.taint.extend(src.taint)


def _go_sprintf(fmt: str, args: list) -> str:
    out = []
    ai = 0
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            verb = fmt[i + 1]
            if verb == "%":
                out.append("%")
            elif verb in "sdvq":
                a = args[ai]
                ai += 1
                out.append(f'"{a}"' if verb == "q" else str(a))
            else:
                raise ValueError(verb)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _call_has_spread(node: Node) -> bool:
    """True if the call's last argument is followed by '...' (f(xs...))."""
    f = node.f
    return node.b - 2 >= node.a and f.toks[node.b - 2].val == "..."


def split_statements(f: GoFile, a: int, b: int) -> list[tuple[int, int]]:
    """Split tokens [a, b) into statements at depth-0 semicolons.

    Semicolons inside an if/for/switch/select header (``if x := f(); x {``,
    ``for i := 0; i < n; i++ {``) do not end the statement.
    """
    out = []
    depth = 0
    start = a
    in_header = False
    for j in range(a, b):
        t = f.toks[j]
        if (
            depth == 0
            and t.kind == "keyword"
            and t.val in ("if", "for", "switch", "select")
            and (j == start or (j > a and f.toks[j - 1].val == "else"))
        ):
            in_header = True
        if t.kind == "op" and t.val in ("(", "[", "{"):
            if t.val == "{" and depth == 0:
                in_header = False
            depth += 1
        elif t.kind == "op" and t.val in (")", "]", "}"):
            depth -= 1
        elif t.kind == ";" and depth == 0 and not in_header:
            if j > start:
                out.append((start, j))
            start = j + 1
    if b > start:
        out.append((start, b))
    return out


def _contains_return(f: GoFile, a: int, b: int) -> bool:
    # ignore returns inside func literals
    j = a
    while j < b:
        t = f.toks[j]
        if t.kind == "keyword" and t.val == "func" and j + 1 < b and f.toks[j + 1].val == "(":
            p = Parser(f, j + 1, b)
            try:
                p.skip_signature()
            except ParseError:
                j += 1
                continue
            if p.at("{"):
                j = f.match_close(p.i) + 1
                continue
        if t.kind == "keyword" and t.val == "return":
            return True
        j += 1
    return False


# --------------------------------------------------------------------------- conversion

SCHEMA_FLAG_FIELDS = {
    "Required": "required",
    "Optional": "optional",
    "Computed": "computed",
    "ForceNew": "forceNew",
    "Sensitive": "sensitive",
    "DiffSuppressOnRefresh": "diffSuppressOnRefresh",
}
SCHEMA_LIST_FIELDS = {
    "ConflictsWith": "conflictsWith",
    "ExactlyOneOf": "exactlyOneOf",
    "AtLeastOneOf": "atLeastOneOf",
    "RequiredWith": "requiredWith",
    "ComputedWhen": "computedWhen",
}


class Converter:
    def __init__(self):
        self.unresolved: list[dict] = []

    def unres(self, where: str, expr: str, reason: str = "") -> dict:
        entry = {"where": where, "expr": expr}
        if reason:
            entry["reason"] = reason
        self.unresolved.append(entry)
        return {"unresolved": expr}

    def resource(self, val: Any, where: str) -> tuple[dict, dict]:
        """Return (schema, meta) for a *schema.Resource value."""
        meta: dict = {}
        if isinstance(val, Unresolved):
            return self.unres(where, val.expr, val.reason), meta
        if not isinstance(val, Composite) or val.is_map:
            return self.unres(where, _expr_of(val), "not a schema.Resource literal"), meta
        fields = {k: v for k, v in val.items if isinstance(k, str)}
        if val.taint:
            meta["partial"] = True
            for t in val.taint:
                self.unres(where, t, "resource value touched by an unmodelled statement")
        if "DeprecationMessage" in fields:
            dm = fields["DeprecationMessage"]
            meta["deprecationMessage"] = (
                dm if isinstance(dm, str) else {"unresolved": getattr(dm, "expr", repr(dm))}
            )
        if "SchemaVersion" in fields and isinstance(fields["SchemaVersion"], int):
            meta["schemaVersion"] = fields["SchemaVersion"]
        if "Importer" in fields:
            meta["importable"] = True
        if "CustomizeDiff" in fields:
            cd = fields["CustomizeDiff"]
            meta["customizeDiff"] = (
                cd.name if isinstance(cd, FuncRef) else getattr(cd, "text", "present")
            )
        sch = fields.get("Schema")
        if sch is None:
            return {}, meta
        return self.schema_map(sch, where), meta

    def _taint(self, val: Composite, out: dict, where: str) -> None:
        for n, t in enumerate(val.taint):
            out[f"<unresolved:partial:{n}>"] = self.unres(
                where, t, "value touched by an unmodelled statement"
            )

    def schema_map(self, val: Any, where: str) -> dict:
        if isinstance(val, Unresolved):
            return self.unres(where, val.expr, val.reason)
        if not isinstance(val, Composite) or not val.is_map:
            return self.unres(where, _expr_of(val), "schema is not a map literal")
        out: dict = {}
        self._taint(val, out, where)
        for k, v in val.items:
            if isinstance(k, str):
                out[k] = self.attr(v, f"{where}.{k}")
            else:
                expr = k.expr if isinstance(k, Unresolved) else repr(k)
                expr = _expr_of(k)
                out[f"<unresolved-key:{expr}>"] = self.unres(
                    f"{where}[key]", expr, "attribute name"
                )
        return out

    def attr(self, val: Any, where: str) -> dict:
        if isinstance(val, Unresolved):
            return self.unres(where, val.expr, val.reason)
        if not isinstance(val, Composite) or val.is_map:
            return self.unres(where, _expr_of(val), "attribute is not a schema.Schema literal")
        out: dict = {}
        self._taint(val, out, where)
        unknown = []
        for k, v in val.items:
            if not isinstance(k, str):
                continue
            if k == "Type":
                if isinstance(v, TypeConst):
                    out["type"] = v.name
                else:
                    out["type"] = self.unres(f"{where}.Type", _expr_of(v))
            elif k in SCHEMA_FLAG_FIELDS:
                if isinstance(v, bool):
                    if v:
                        out[SCHEMA_FLAG_FIELDS[k]] = True
                else:
                    out[SCHEMA_FLAG_FIELDS[k]] = self.unres(f"{where}.{k}", _expr_of(v))
            elif k in SCHEMA_LIST_FIELDS:
                lst = _str_list(v)
                out[SCHEMA_LIST_FIELDS[k]] = (
                    lst if lst is not None else self.unres(f"{where}.{k}", _expr_of(v))
                )
            elif k in ("MaxItems", "MinItems"):
                key = "maxItems" if k == "MaxItems" else "minItems"
                out[key] = (
                    v
                    if isinstance(v, int) and not isinstance(v, bool)
                    else self.unres(f"{where}.{k}", _expr_of(v))
                )
            elif k == "Default":
                out["default"] = (
                    v if _is_json_scalar(v) else self.unres(f"{where}.Default", _expr_of(v))
                )
            elif k == "Deprecated":
                out["deprecated"] = (
                    v if isinstance(v, str) else self.unres(f"{where}.Deprecated", _expr_of(v))
                )
            elif k == "Description":
                out["description"] = (
                    v if isinstance(v, str) else self.unres(f"{where}.Description", _expr_of(v))
                )
            elif k == "Elem":
                self.elem(v, out, where)
            elif k in ("ValidateFunc", "ValidateDiagFunc"):
                self.validator(v, out, f"{where}.{k}")
            elif k == "DefaultFunc":
                out["defaultFunc"] = self.default_func(v, f"{where}.DefaultFunc")
            elif k in ("DiffSuppressFunc", "StateFunc", "Set"):
                key = {
                    "DiffSuppressFunc": "diffSuppressFunc",
                    "StateFunc": "stateFunc",
                    "Set": "setFunc",
                }[k]
                out[key] = _func_name(v)
            elif k in ("ConfigMode", "InputDefault", "MaxItemsExact"):
                out[k[0].lower() + k[1:]] = _expr_of(v) if not _is_json_scalar(v) else v
            else:
                unknown.append(k)
        if unknown:
            out["otherFields"] = sorted(unknown)
        return out

    def elem(self, v: Any, out: dict, where: str) -> None:
        if isinstance(v, Composite) and not v.is_map:
            t = v.typ.lstrip("&*")
            fields = {k for k, _ in v.items if isinstance(k, str)}
            if t.endswith("schema.Resource") or (not t and "Schema" in fields):
                sch, _ = self.resource(v, f"{where}.elem")
                out["elem"] = sch
                out["elemKind"] = "resource"
                return
            if t.endswith("schema.Schema") or (not t and "Type" in fields):
                out["elem"] = self.attr(v, f"{where}.elem")
                out["elemKind"] = "schema"
                return
        out["elem"] = self.unres(f"{where}.elem", _expr_of(v))

    def validator(self, v: Any, out: dict, where: str) -> None:
        info = self._validator_info(v, where)
        for k, val in info.items():
            if k == "validators":
                out.setdefault("validators", []).extend(val)
            else:
                out[k] = val

    def _validator_info(self, v: Any, where: str) -> dict:
        if isinstance(v, FuncRef):
            return {"validators": [v.name]}
        if isinstance(v, Unresolved):
            return {"validators": [self.unres(where, v.expr, v.reason)]}
        if not isinstance(v, LibCall):
            return {"validators": [self.unres(where, _expr_of(v))]}
        name, args = v.name, v.args
        short = name.split(".", 1)[1] if name.startswith("validation.") else None
        if short == "ToDiagFunc" and len(args) == 1:
            return self._validator_info(args[0], where)
        if short in ("StringInSlice", "IntInSlice") and args:
            vals = _scalar_list(args[0])
            if vals is None:
                return {"validators": [self.unres(where, v.text)]}
            info: dict = {"enum": vals}
            if short == "StringInSlice" and len(args) > 1 and args[1] is True:
                info["enumIgnoreCase"] = True
            return info
        if (
            short in ("IntBetween", "FloatBetween")
            and len(args) == 2
            and all(_is_num(a) for a in args)
        ):
            return {"min": args[0], "max": args[1]}
        if short in ("IntAtLeast", "FloatAtLeast") and len(args) == 1 and _is_num(args[0]):
            return {"min": args[0]}
        if short in ("IntAtMost", "FloatAtMost") and len(args) == 1 and _is_num(args[0]):
            return {"max": args[0]}
        if short == "StringLenBetween" and len(args) == 2 and all(_is_num(a) for a in args):
            return {"minLength": args[0], "maxLength": args[1]}
        if short == "StringMatch" and args and isinstance(args[0], RegexpVal):
            info = {"pattern": args[0].pattern}
            if len(args) > 1 and isinstance(args[1], str) and args[1]:
                info["patternMessage"] = args[1]
            return info
        if short == "StringDoesNotMatch" and args and isinstance(args[0], RegexpVal):
            return {"notPattern": args[0].pattern}
        if short in ("All", "Any"):
            subs = [self._validator_info(a, where) for a in args]
            if short == "All":
                merged: dict = {}
                for s in subs:
                    for k, val in s.items():
                        if k == "validators":
                            merged.setdefault("validators", []).extend(val)
                        else:
                            merged[k] = val
                return merged
            return {"anyOf": subs}
        if short is not None and all(_is_json_scalar(a) for a in args):
            return {"validators": [v.text if args else name]}
        return {"validators": [v.text]}

    def default_func(self, v: Any, where: str) -> Any:
        if isinstance(v, LibCall):
            if (
                v.name == "schema.EnvDefaultFunc"
                and len(v.args) == 2
                and isinstance(v.args[0], str)
            ):
                d = v.args[1]
                return {
                    "envVar": v.args[0],
                    "default": d if _is_json_scalar(d) else {"unresolved": _expr_of(d)},
                }
            if v.name == "schema.MultiEnvDefaultFunc":
                return {"call": v.text}
            return {"call": v.text}
        if isinstance(v, FuncRef):
            return {"func": v.name}
        return self.unres(where, _expr_of(v))


def _expr_of(v: Any) -> str:
    if isinstance(v, Unresolved):
        return v.expr
    if isinstance(v, LibCall):
        return v.text
    if isinstance(v, FuncRef):
        return v.name
    if isinstance(v, TypeConst):
        return v.name
    if isinstance(v, Composite):
        return f"{v.typ or ''}{{...}}"
    return repr(v)


def _func_name(v: Any) -> str:
    if isinstance(v, FuncRef):
        return v.name
    if isinstance(v, LibCall):
        return v.text
    return _expr_of(v)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_json_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _scalar_list(v: Any) -> list | None:
    if isinstance(v, Composite) and not v.is_map:
        vals = [x for _, x in v.items]
        if all(_is_json_scalar(x) and x is not None for x in vals):
            return vals
    return None


def _str_list(v: Any) -> list | None:
    lst = _scalar_list(v)
    if lst is not None and all(isinstance(x, str) for x in lst):
        return lst
    return None


# --------------------------------------------------------------------------- provider


def find_func_return_composite(ev: Evaluator, fd: FuncDecl) -> Any:
    fr = Frame({}, ev.pkgs[fd.f.package], fd.f)
    return ev.exec_body(fd, fr, f"{fd.name}()")


def extract(
    git_dir: str, tag: str, resources: list[str] | None, data_sources: list[str] | None
) -> dict:
    git = Git(git_dir)
    commit = git.commit_of(tag)
    paths = [
        p
        for p in git.ls_files(commit, *PACKAGE_DIRS)
        if p.endswith(".go") and not p.endswith("_test.go") and p.count("/") == 1
    ]
    blobs = git.read_many(commit, paths)
    missing = sorted(p for p, s in blobs.items() if s is None)
    pkgs: dict[str, Package] = {}
    files: dict[str, GoFile] = {}
    for p in sorted(paths):
        src = blobs[p]
        if src is None:
            continue
        gf = GoFile(p, src)
        files[p] = gf
        parse_file_decls(gf, pkgs)

    def embed_reader(go_path: str, embed_name: str) -> str | None:
        d = go_path.rsplit("/", 1)[0]
        return git.read(commit, f"{d}/{embed_name}")

    ev = Evaluator(pkgs, embed_reader)
    conv = Converter()
    prov_pkg = pkgs.get("aviatrix")
    if prov_pkg is None or "Provider" not in prov_pkg.funcs:
        raise SystemExit("aviatrix.Provider() not found")
    prov_fd = prov_pkg.funcs["Provider"]
    prov_val = find_func_return_composite(ev, prov_fd)
    if not isinstance(prov_val, Composite):
        raise SystemExit(f"cannot evaluate Provider(): {prov_val}")
    pfields = {k: v for k, v in prov_val.items if isinstance(k, str)}

    # map tf names -> constructor call nodes (unevaluated, so we can lazily evaluate)
    rmap_nodes = _map_entries(prov_fd, "ResourcesMap")
    dmap_nodes = _map_entries(prov_fd, "DataSourcesMap")

    if resources is None:
        resources = list(DEFAULT_RESOURCES)
    elif resources == ["all"]:
        resources = sorted(rmap_nodes)
    if data_sources is None:
        data_sources = sorted(
            {n for n in dmap_nodes if "dcf" in n} | set(DEFAULT_EXTRA_DATA_SOURCES)
        )
    elif data_sources == ["all"]:
        data_sources = sorted(dmap_nodes)

    out_resources: dict = {}
    out_data: dict = {}
    meta: dict = {"resources": {}, "dataSources": {}}
    for kind, names, nodes, out in (
        ("resources", resources, rmap_nodes, out_resources),
        ("dataSources", data_sources, dmap_nodes, out_data),
    ):
        for name in names:
            if name not in nodes:
                out[name] = {"unresolved": f"{name} is not registered in provider.go {kind}"}
                conv.unresolved.append(
                    {"where": f"{kind}.{name}", "expr": name, "reason": "not in provider map"}
                )
                continue
            node = nodes[name]
            m: dict = {"goExpr": node.text()}
            fd = None
            if node.kind == "call" and node.x.kind == "ident":
                fd = prov_pkg.funcs.get(node.x.name)
            if fd is not None:
                m["file"] = fd.f.path
                m["func"] = fd.name
                m["lines"] = [fd.line_a, fd.line_b]
            val = ev.eval(node, Frame({}, prov_pkg, prov_fd.f))
            sch, rmeta = conv.resource(val, f"{kind}.{name}")
            m.update(rmeta)
            out[name] = sch
            meta[kind][name] = m

    provider_schema = (
        conv.schema_map(pfields.get("Schema"), "provider") if "Schema" in pfields else {}
    )

    # supported controller versions
    sv: dict = {"goSymbol": "supportedVersions"}
    sv_decl = prov_pkg.values.get("supportedVersions")
    if sv_decl is None:
        sv["unresolved"] = "supportedVersions not declared in package aviatrix"
    else:
        sv["file"] = sv_decl.f.path
        sv["line"] = sv_decl.line
        sv["goExpr"] = sv_decl.expr.text() if sv_decl.expr else ""
        val = ev.lookup_value(prov_pkg, "supportedVersions")
        raw = []
        sources = []
        if isinstance(val, Composite):
            for (_, v), (_, vnode) in zip(
                val.items,
                sv_decl.expr.args
                if sv_decl.expr and sv_decl.expr.kind == "composite"
                else [(None, None)] * len(val.items),
                strict=False,
            ):
                if isinstance(v, str):
                    raw.append(v.strip())
                else:
                    raw.append({"unresolved": _expr_of(v)})
                if vnode is not None and vnode.kind == "ident":
                    emb = prov_pkg.values.get(vnode.name)
                    if emb is not None and emb.f.embeds.get(vnode.name):
                        d = emb.f.path.rsplit("/", 1)[0]
                        sources.append(
                            {"goSymbol": vnode.name, "goEmbed": f"{d}/{emb.f.embeds[vnode.name]}"}
                        )
        sv["raw"] = raw
        if sources:
            sv["embeddedFrom"] = sources
        mm = []
        for r in raw:
            if isinstance(r, str):
                mt = re.match(r"^v?(\d+)\.(\d+)", r)
                mm.append(f"{mt.group(1)}.{mt.group(2)}" if mt else {"unresolved": r})
        sv["majorMinor"] = mm
        sv["comparison"] = (
            "goaviatrix.isVersionSupported: semver.MajorMinor(controller) == "
            "semver.MajorMinor(supported) (see goaviatrix/check.go)"
        )
    vf = git.read(commit, "version")
    if vf is not None:
        sv["repoVersionFile"] = vf.strip()
    sv["note"] = (
        "raw values come from the Go source at this tag; a value such as 99.0.0 in a go:embed file "
        "is the committed placeholder, not necessarily what a released binary embeds"
    )

    doc = {
        "providerSource": PROVIDER_SOURCE,
        "tag": tag,
        "commit": commit,
        "supportedVersions": sv,
        "provider": provider_schema,
        "resources": out_resources,
        "dataSources": out_data,
        "sources": meta,
        "unresolved": sorted(conv.unresolved, key=lambda e: (e["where"], e["expr"])),
        "extractorNotes": sorted(set(ev.notes)),
        "missingFiles": missing,
    }
    return doc


def _map_entries(prov_fd: FuncDecl, field_name: str) -> dict[str, Node]:
    """Parse Provider()'s return literal and return {tf_name: value node} for a map field."""
    f = prov_fd.f
    for a, b in split_statements(f, prov_fd.body_a + 1, prov_fd.body_b):
        if f.toks[a].val == "return":
            expr = Parser(f, a + 1, b).parse_expr(False)
            lit = expr.x if expr.kind == "unary" else expr
            if lit.kind != "composite":
                break
            for k, v in lit.args:
                if (
                    k is not None
                    and k.kind == "ident"
                    and k.name == field_name
                    and v.kind == "composite"
                ):
                    res = {}
                    for kk, vv in v.args:
                        if kk is not None and kk.kind == "string":
                            res[kk.val] = vv
                    return res
    raise SystemExit(f"Provider(): {field_name} not found")


def _without_prose(value: Any) -> Any:
    """The snapshot without upstream prose: descriptions are documentation, not schema."""
    if isinstance(value, dict):
        return {k: _without_prose(v) for k, v in value.items() if k != "description"}
    if isinstance(value, list):
        return [_without_prose(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--git-dir", required=True, help="bare git dir of terraform-provider-aviatrix")
    ap.add_argument("--tag", required=True, help="tag (or any commit-ish), e.g. v8.2.20")
    ap.add_argument("--out", required=True, help="output JSON file ('-' for stdout)")
    ap.add_argument(
        "--resources", help="comma-separated TF resource names, or 'all' (default: DCF set)"
    )
    ap.add_argument(
        "--data-sources", help="comma-separated TF data source names, or 'all' (default: DCF set)"
    )
    ap.add_argument(
        "--facts-only",
        action="store_true",
        help="drop the provider's prose (descriptions): keep names, types, flags and validators, "
        "the form vendored for conformance tests",
    )
    ns = ap.parse_args(argv)

    def split(s: str | None) -> list[str] | None:
        if s is None:
            return None
        return [x.strip() for x in s.split(",") if x.strip()]

    doc = extract(ns.git_dir, ns.tag, split(ns.resources), split(ns.data_sources))
    if ns.facts_only:
        doc = _without_prose(doc)
    # How to regenerate it, without this machine's paths.
    options = [f"--tag {ns.tag}"]
    options += [f"--resources {ns.resources}"] if ns.resources else []
    options += [f"--data-sources {ns.data_sources}"] if ns.data_sources else []
    options += ["--facts-only"] if ns.facts_only else []
    doc["generatedBy"] = (
        "scripts/extract-aviatrix-schema.py --git-dir <terraform-provider-aviatrix.git> "
        + " ".join(options)
        + " --out <file>"
    )
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if ns.out == "-":
        sys.stdout.write(text)
    else:
        with open(ns.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    if doc["unresolved"]:
        print(
            f"{len(doc['unresolved'])} unresolved item(s); see 'unresolved' in the output",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
