"""search: words also stemmed in the tweet's language, beside the words as written

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 04:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: starling.language.STEMMED may grow, this migration must not change.
STEMMED = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
AS_WRITTEN = "to_tsvector('simple'::regconfig, text)"


def _stemmed() -> str:
    cases = " ".join(
        f"WHEN '{code}' THEN to_tsvector('{name}'::regconfig, text)"
        for code, name in sorted(STEMMED.items())
    )
    return f"CASE lang {cases} ELSE ''::tsvector END"


def _replace_column(expression: str) -> None:
    # A generated column's expression cannot be altered: drop it and add it again (a rewrite of
    # the table, under lock, as in 0006).
    op.execute("DROP INDEX ix_tweets_search")
    op.execute("ALTER TABLE tweets DROP COLUMN search_vector")
    op.execute(
        f"ALTER TABLE tweets ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({expression}) "
        "STORED"
    )
    op.execute(
        "CREATE INDEX ix_tweets_search ON tweets USING gin (search_vector) "
        "WHERE deleted_at IS NULL"
    )


def upgrade() -> None:
    _replace_column(f"{AS_WRITTEN} || {_stemmed()}")


def downgrade() -> None:
    _replace_column(AS_WRITTEN)
