"""The search query language, parsed once into a typed tree that each backend translates.

    query   := clause+                     implicit AND
    clause  := term ("OR" term)*           OR binds tighter than AND, as on Twitter
    term    := "-"? atom
    atom    := word | "phrase" | #tag | @user | operator:value | "(" query ")"

Operators: ``from:`` ``to:`` ``since:YYYY-MM-DD`` ``until:YYYY-MM-DD`` ``has:media|links|poll``
``is:reply|retweet`` ``min_likes:N`` ``min_retweets:N`` ``lang:xx``. A mistake is a
``SearchSyntaxError`` naming the position (0-based, in characters) where it is.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from starling.errors import DomainError, ErrorCode
from starling.text import MAX_HASHTAG_LENGTH

MAX_QUERY_LENGTH = 500
MAX_TERMS = 30
MAX_DEPTH = 5
USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")
LANGUAGE = re.compile(r"[a-z]{2,3}")


class SearchSyntaxError(DomainError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(
            ErrorCode.BAD_USER_INPUT, f"{message} (at character {position + 1}).", "query"
        )
        self.position = position
        self.extensions = {"field": "query", "position": position}


# --- the tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """Words that must all appear (a phrase: in this order, next to each other)."""

    text: str
    phrase: bool = False


@dataclass(frozen=True)
class Hashtag:
    tag: str  # lower-cased, without '#'


@dataclass(frozen=True)
class Mentions:
    username: str


@dataclass(frozen=True)
class From:
    username: str


@dataclass(frozen=True)
class To:
    username: str


@dataclass(frozen=True)
class Since:
    day: date  # from the start of this day (UTC)


@dataclass(frozen=True)
class Until:
    day: date  # before the start of this day (UTC), as on Twitter


@dataclass(frozen=True)
class Has:
    what: Literal["media", "links", "poll"]


@dataclass(frozen=True)
class Is:
    what: Literal["reply", "retweet"]


@dataclass(frozen=True)
class MinCount:
    what: Literal["likes", "retweets"]
    count: int


@dataclass(frozen=True)
class Lang:
    code: str


@dataclass(frozen=True)
class Not:
    part: Node


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


Node = (
    Words
    | Hashtag
    | Mentions
    | From
    | To
    | Since
    | Until
    | Has
    | Is
    | MinCount
    | Lang
    | Not
    | And
    | Or
)


def walk(node: Node, negated: bool = False) -> list[tuple[Node, bool]]:
    """Every leaf with whether it sits under an odd number of NOTs."""
    if isinstance(node, Not):
        return walk(node.part, not negated)
    if isinstance(node, And | Or):
        return [leaf for part in node.parts for leaf in walk(part, negated)]
    return [(node, negated)]


# --- the tokenizer --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: Literal["word", "phrase", "or", "open", "close"]
    text: str
    position: int
    negated: bool = False


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(query):
        char = query[i]
        if char.isspace():
            i += 1
            continue
        start = i
        negated = char == "-" and i + 1 < len(query) and not query[i + 1].isspace()
        if negated:
            i += 1
            char = query[i]
        if char == "(":
            tokens.append(_Token("open", "(", start, negated))
            i += 1
        elif char == ")":
            if negated:
                raise SearchSyntaxError("'-' must come before a word", start)
            tokens.append(_Token("close", ")", start))
            i += 1
        elif char == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise SearchSyntaxError("This quote is never closed", i)
            tokens.append(_Token("phrase", query[i + 1 : end], start, negated))
            i = end + 1
        else:
            end = i
            while end < len(query) and not query[end].isspace() and query[end] not in '()"':
                end += 1
            text = query[i:end]
            kind: Literal["word", "or"] = "or" if text == "OR" and not negated else "word"
            tokens.append(_Token(kind, text, start, negated))
            i = end
    return tokens


# --- the parser -----------------------------------------------------------------------------


def parse(query: str) -> Node:
    """The tree of ``query``, or SearchSyntaxError saying where it goes wrong."""
    query = unicodedata.normalize("NFC", query)
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchSyntaxError(f"A query is at most {MAX_QUERY_LENGTH} characters", 0)
    tokens = _tokens(query)
    if not tokens:
        raise SearchSyntaxError("The query is empty", 0)
    if len(tokens) > MAX_TERMS:
        raise SearchSyntaxError(
            f"A query has at most {MAX_TERMS} terms", tokens[MAX_TERMS].position
        )
    parser = _Parser(tokens, len(query))
    tree = parser.query(depth=0)
    if parser.at < len(tokens):
        raise SearchSyntaxError("This ')' closes nothing", tokens[parser.at].position)
    if all(negated for _, negated in walk(tree)):
        raise SearchSyntaxError("A query needs something to look for, not only exclusions", 0)
    return tree


class _Parser:
    def __init__(self, tokens: list[_Token], length: int) -> None:
        self.tokens, self.length, self.at = tokens, length, 0

    def _peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def query(self, depth: int) -> Node:
        clauses: list[Node] = []
        while (token := self._peek()) is not None and token.kind != "close":
            clauses.append(self.clause(depth))
        if not clauses:
            raise SearchSyntaxError(
                "Expected a word here", token.position if token else self.length
            )
        return clauses[0] if len(clauses) == 1 else And(tuple(clauses))

    def clause(self, depth: int) -> Node:
        parts = [self.term(depth)]
        while (token := self._peek()) is not None and token.kind == "or":
            self.at += 1
            following = self._peek()
            if following is None or following.kind in ("or", "close"):
                raise SearchSyntaxError("OR needs a term after it", token.position)
            parts.append(self.term(depth))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def term(self, depth: int) -> Node:
        token = self.tokens[self.at]
        self.at += 1
        if token.kind == "or":
            raise SearchSyntaxError("OR needs a term before it", token.position)
        if token.kind == "open":
            if depth >= MAX_DEPTH:
                raise SearchSyntaxError("Too many nested parentheses", token.position)
            inner = self.query(depth + 1)
            closing = self._peek()
            if closing is None or closing.kind != "close":
                raise SearchSyntaxError("This '(' is never closed", token.position)
            self.at += 1
            return Not(inner) if token.negated else inner
        node: Node
        if token.kind == "phrase":
            text = token.text.strip()
            if not text:
                raise SearchSyntaxError("The quotes hold nothing", token.position)
            node = Words(text, phrase=True)
        else:
            node = _atom(token)
        return Not(node) if token.negated else node


_OPERATORS = {
    "from",
    "to",
    "since",
    "until",
    "has",
    "is",
    "min_likes",
    "min_retweets",
    "lang",
}


def _atom(token: _Token) -> Node:
    text, position = token.text, token.position + (1 if token.negated else 0)
    if text.startswith("#"):
        return Hashtag(_name(text[1:], position, "hashtag", allow_unicode=True).lower())
    if text.startswith("@"):
        return Mentions(_name(text[1:], position, "username"))
    name, colon, value = text.partition(":")
    if not colon or name not in _OPERATORS:
        return Words(text)
    value_at = position + len(name) + 1
    if not value:
        raise SearchSyntaxError(f"{name}: needs a value", value_at)
    match name:
        case "from":
            return From(_name(value.lstrip("@"), value_at, "username"))
        case "to":
            return To(_name(value.lstrip("@"), value_at, "username"))
        case "since":
            return Since(_day(value, value_at))
        case "until":
            return Until(_day(value, value_at))
        case "has":
            match value:
                case "media" | "links" | "poll":
                    return Has(value)
            raise SearchSyntaxError("has: takes media, links or poll", value_at)
        case "is":
            match value:
                case "reply" | "retweet":
                    return Is(value)
            raise SearchSyntaxError("is: takes reply or retweet", value_at)
        case "min_likes" | "min_retweets":
            if not value.isascii() or not value.isdigit() or len(value) > 9:
                raise SearchSyntaxError(f"{name}: takes a whole number", value_at)
            return MinCount("likes" if name == "min_likes" else "retweets", int(value))
        case _:  # lang
            if not LANGUAGE.fullmatch(value):
                raise SearchSyntaxError("lang: takes a language code such as en", value_at)
            return Lang(value)


def _name(value: str, position: int, what: str, *, allow_unicode: bool = False) -> str:
    valid = (
        value and all(c.isalnum() or c == "_" for c in value) and len(value) <= MAX_HASHTAG_LENGTH
        if allow_unicode
        else USERNAME.fullmatch(value)
    )
    if not valid:
        raise SearchSyntaxError(f"Not a valid {what}", position)
    return value


def _day(value: str, position: int) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise SearchSyntaxError("Dates are written YYYY-MM-DD", position) from None
