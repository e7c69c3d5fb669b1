"""The search query parser: the tree it builds, and that any text gives a tree or a
SearchSyntaxError (never another exception)."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from starling.search_query import (
    And,
    From,
    Has,
    Hashtag,
    Is,
    Mentions,
    MinCount,
    Not,
    Or,
    SearchSyntaxError,
    Since,
    Words,
    parse,
    walk,
)


def test_or_binds_tighter_than_the_implicit_and() -> None:
    assert parse("a b OR c") == And((Words("a"), Or((Words("b"), Words("c")))))
    assert parse("a OR b c") == And((Or((Words("a"), Words("b"))), Words("c")))
    assert parse("(a b) OR c") == Or((And((Words("a"), Words("b"))), Words("c")))


def test_operators_become_typed_nodes() -> None:
    tree = parse('"New York" #NYC -@bob from:ada since:2026-01-31 -has:links -is:reply min_likes:5')
    assert tree == And(
        (
            Words("New York", phrase=True),
            Hashtag("nyc"),
            Not(Mentions("bob")),
            From("ada"),
            Since(date(2026, 1, 31)),
            Not(Has("links")),
            Not(Is("reply")),
            MinCount("likes", 5),
        )
    )
    # A word with a colon that is not an operator stays a word; a lone '-' is a word too.
    assert parse("http:x - y") == And((Words("http:x"), Words("-"), Words("y")))
    assert [negated for _, negated in walk(parse("-(a -b)"))] == [True, False]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from('ab -"()#@:OR_1é\t'), max_size=120))
def test_any_text_parses_or_says_where_it_goes_wrong(text: str) -> None:
    problem: SearchSyntaxError | None = None
    try:
        parse(text)
    except SearchSyntaxError as error:
        problem = error
    if problem is not None:
        assert 0 <= problem.position <= len(text)
        assert problem.extensions == {"field": "query", "position": problem.position}
