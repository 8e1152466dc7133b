"""open_listings: the open canonical postings, with what the job seekers' searches filter on.

Revision ID: 0007
Revises: 0006

A search's first page walks a sort index and tests each posting against the filters. The
filters live in three tables (postings, tags, credentials), so each posting passed costs
up to two index look-ups: at 1,000,000 postings the typical search (category, remote,
credential and state) passed 9,000 postings and made 800 look-ups for its 21 rows
(10 ms of SQLite). Here each open canonical posting is one narrow row holding its sort
keys and every filtered value (credentials, facets and places packed as `|A|B|` text), and
the indexes carry them all: the same search reads a few thousand index entries and
nothing else (under a millisecond).

The database keeps the table in step itself: triggers on postings, tags, credentials and
facet_tags recompute a posting's row (or drop it: closed, duplicate, deleted) whenever a
value it holds changes, whichever code path wrote it. Nothing in Python writes it.
PostgreSQL runs one function per table; SQLite repeats the statements in each trigger.
Like the FTS5 triggers of 0004, a later batch_alter_table("postings") on SQLite drops
these triggers: such a migration must create them again (`triggers_sqlite()`, and
`triggers_sqlite("closed_listings", "closed")` for those of 0008).

Migration 0008 keeps closed_listings, the closed canonical postings, the same way: the
builders below take the table and the status it holds.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("posting_id, newest, pay, currency, employer, country, states, category, remote, "
           "remote_states, credentials, facets")
TABLE = {
    "sqlite": "CREATE TABLE IF NOT EXISTS open_listings (posting_id INTEGER PRIMARY KEY, "
              "newest DATETIME NOT NULL, pay FLOAT NOT NULL, currency VARCHAR(3), "
              "employer TEXT, country VARCHAR(2), states TEXT NOT NULL, category VARCHAR(20), "
              "remote VARCHAR(10), remote_states TEXT, credentials TEXT, facets TEXT)",
    "postgresql": "CREATE TABLE IF NOT EXISTS open_listings (posting_id INTEGER PRIMARY KEY, "
                  "newest TIMESTAMP WITH TIME ZONE NOT NULL, pay FLOAT NOT NULL, "
                  "currency VARCHAR(3), employer TEXT, country VARCHAR(2), states TEXT NOT NULL, "
                  "category VARCHAR(20), remote VARCHAR(10), remote_states TEXT, "
                  "credentials TEXT, facets TEXT)",
}
_AGG = {"sqlite": "group_concat({0}, '|')", "postgresql": "string_agg({0}, '|')"}
# a posting's places: its state and the state of each place in `locations` ("|" taken out
# of free text, so it cannot fake a boundary)
_STATES = {
    "sqlite": "'|' || coalesce(replace(p.state, '|', ''), '') || '|' || coalesce(("
              "SELECT group_concat(replace(json_extract(j.value, '$.state'), '|', ''), '|') "
              "FROM json_each(CASE json_type(p.locations) WHEN 'array' THEN p.locations END) j "
              "WHERE json_type(j.value, '$.state') = 'text'), '') || '|'",
    "postgresql": "'|' || coalesce(replace(p.state, '|', ''), '') || '|' || coalesce(("
                  "SELECT string_agg(replace(e ->> 'state', '|', ''), '|') FROM "
                  "json_array_elements(CASE json_typeof(p.locations) WHEN 'array' "
                  "THEN p.locations END) e WHERE json_typeof(e -> 'state') = 'string'), '') "
                  "|| '|'",
}
_REMOTE_STATES = {
    "sqlite": "(SELECT '|' || group_concat(j.value, '|') || '|' FROM tags t, json_each("
              "CASE json_type(t.remote_states) WHEN 'array' THEN t.remote_states END) j "
              "WHERE t.posting_id = {pid})",
    "postgresql": "(SELECT '|' || string_agg(s, '|') || '|' FROM tags t, "
                  "json_array_elements_text(CASE json_typeof(t.remote_states) WHEN 'array' "
                  "THEN t.remote_states END) s WHERE t.posting_id = {pid})",
}


def tag_values(dialect: str, pid: str) -> dict[str, str]:
    """The tag's columns of the listing of posting `pid` (an SQL expression), each a
    subquery (NULL: no tag, or an empty list), so one table's trigger can recompute just
    its own."""
    agg = _AGG[dialect]
    return {
        "category": f"(SELECT category FROM tags WHERE posting_id = {pid})",
        "remote": f"(SELECT remote FROM tags WHERE posting_id = {pid})",
        "remote_states": _REMOTE_STATES[dialect].format(pid=pid),
        "credentials": "(SELECT '|' || " + agg.format("c.code || ':' || c.requirement")
                       + " || '|' FROM tags t JOIN credentials c ON c.tag_id = t.id "
                       f"WHERE t.posting_id = {pid})",
        "facets": "(SELECT '|' || " + agg.format("f.facet") + " || '|' FROM tags t "
                  f"JOIN facet_tags f ON f.tag_id = t.id WHERE t.posting_id = {pid})",
    }


def projection(dialect: str, where: str = "TRUE", status: str = "open") -> str:
    """SELECT the listing rows (COLUMNS, in order) of the canonical postings of `status`
    that `where` (an SQL condition on `p`) selects: the sort keys spelled as
    web.queries.sort_key."""
    tag = ", ".join(tag_values(dialect, "p.id").values())
    return ("SELECT p.id, coalesce(p.posted_at, p.first_seen), "
            "coalesce(p.salary_annual_max, p.salary_annual_min, -1.0), p.salary_currency, "
            f"lower(p.company), p.country, {_STATES[dialect]}, {tag} FROM postings p "
            f"WHERE p.status = '{status}' AND p.duplicate_of IS NULL AND {where}")


# what each table's rows change in the listing: a posting's row whole (it may come or go:
# opened, closed, duplicate, deleted), the others only their columns, in place (tagging
# writes a tag, then its credentials and facets one row at a time: recomputing the whole
# listing for each cost three times as much)
OWN_COLUMNS = {"tags": ("category", "remote", "remote_states", "credentials", "facets"),
               "credentials": ("credentials",), "facet_tags": ("facets",)}
# a posting's row changes with these columns (not with last_seen, times_seen, missed_runs:
# a recrawl that finds a posting unchanged fires nothing); a tag's with these of its rows
POSTING_COLUMNS = ("status, duplicate_of, posted_at, first_seen, salary_annual_max, "
                   "salary_annual_min, salary_currency, company, country, state, locations")
WATCHED = {"postings": POSTING_COLUMNS, "tags": "posting_id, category, remote, remote_states",
           "credentials": "tag_id, code, requirement", "facet_tags": "tag_id, facet"}
# the posting a row of each table belongs to (`{row}`: new or old), and the column saying so
_POSTING_OF = {"postings": "{row}.id", "tags": "{row}.posting_id",
               "credentials": "(SELECT posting_id FROM tags WHERE id = {row}.tag_id)",
               "facet_tags": "(SELECT posting_id FROM tags WHERE id = {row}.tag_id)"}
_OWNER = {"postings": "id", "tags": "posting_id", "credentials": "tag_id",
          "facet_tags": "tag_id"}


def _apply(dialect: str, table: str, row: str, listings: str, status: str) -> str:
    """The statements bringing the listing (in table `listings`, of postings of `status`)
    of the posting that `row` (new or old) of `table` belongs to in step."""
    posting = _POSTING_OF[table].format(row=row)
    if table == "postings":
        return (f"DELETE FROM {listings} WHERE posting_id = {posting}; "
                f"INSERT INTO {listings} ({COLUMNS}) "
                f"{projection(dialect, f'p.id = {posting}', status)}; ")
    values = tag_values(dialect, f"{listings}.posting_id")
    sets = ", ".join(f"{name} = {values[name]}" for name in OWN_COLUMNS[table])
    return f"UPDATE {listings} SET {sets} WHERE posting_id = {posting}; "


def triggers_sqlite(listings: str = "open_listings", status: str = "open") -> list[str]:
    """Per watched table, insert: the new row's posting; update: the new row's (and the old
    one's, when the row moved to another posting); delete: the old row's."""
    out = []
    for table, owner in _OWNER.items():
        name = f"{listings}_{table}"

        def apply(row: str, table: str = table) -> str:
            return _apply("sqlite", table, row, listings, status)

        out += [
            f"CREATE TRIGGER IF NOT EXISTS {name}_ai AFTER INSERT ON {table} BEGIN "
            f"{apply('new')}END",
            f"CREATE TRIGGER IF NOT EXISTS {name}_au AFTER UPDATE OF {WATCHED[table]} "
            f"ON {table} BEGIN {apply('new')}END",
            f"CREATE TRIGGER IF NOT EXISTS {name}_moved AFTER UPDATE OF {owner} ON {table} "
            f"WHEN old.{owner} IS NOT new.{owner} BEGIN {apply('old')}END",
            f"CREATE TRIGGER IF NOT EXISTS {name}_ad AFTER DELETE ON {table} BEGIN "
            f"{apply('old')}END",
        ]
    return out


def trigger_names_sqlite(listings: str = "open_listings") -> list[str]:
    return [f"{listings}_{table}_{event}" for table in WATCHED
            for event in ("ai", "au", "moved", "ad")]


def functions_pg(listings: str = "open_listings", status: str = "open") -> list[str]:
    return [
        f"CREATE OR REPLACE FUNCTION {listings}_on_{table}() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.{owner} IS DISTINCT FROM "
        f"NEW.{owner}) THEN {_apply('postgresql', table, 'OLD', listings, status)}END IF; "
        f"IF TG_OP <> 'DELETE' THEN {_apply('postgresql', table, 'NEW', listings, status)}"
        f"END IF; RETURN NULL; END $$"
        for table, owner in _OWNER.items()]


def triggers_pg(listings: str = "open_listings") -> list[str]:
    return [f"CREATE TRIGGER {listings}_{table} AFTER INSERT OR DELETE OR UPDATE OF "
            f"{watched} ON {table} FOR EACH ROW EXECUTE FUNCTION {listings}_on_{table}()"
            for table, watched in WATCHED.items()]


def function_names_pg(listings: str = "open_listings") -> tuple[str, ...]:
    return tuple(f"{listings}_on_{table}()" for table in WATCHED)

# the first page of a search, newest or best paid first, with or without a category: each
# filtered value rides in the entry (SQLite: trailing key columns; PostgreSQL: INCLUDE), so
# a search reads no table row until it has its page.
_CARRIED = "remote, credentials, states, facets, remote_states, country, currency, employer"
_INDEXED = {  # name suffix: SQLite key columns; PostgreSQL key columns, INCLUDE columns
    "newest": (f"newest, posting_id, category, {_CARRIED}, pay",
               f"newest, posting_id) INCLUDE (category, {_CARRIED}, pay"),
    "category_newest": (f"category, newest, posting_id, {_CARRIED}, pay",
                        f"category, newest, posting_id) INCLUDE ({_CARRIED}, pay"),
    "pay": (f"pay, posting_id, category, {_CARRIED}, newest",
            f"pay, posting_id) INCLUDE (category, {_CARRIED}, newest"),
    "category_pay": (f"category, pay, posting_id, {_CARRIED}, newest",
                     f"category, pay, posting_id) INCLUDE ({_CARRIED}, newest"),
}


def indexes(dialect: str, listings: str = "open_listings",
            indexed: dict[str, tuple[str, str]] | None = None) -> list[str]:
    """CREATE INDEX statements of `indexed` (as _INDEXED, which is the default) on
    `listings` (later migrations add theirs with this builder)."""
    return [f"CREATE INDEX IF NOT EXISTS ix_{listings}_{name} ON {listings} "
            f"({columns[dialect == 'postgresql']})"
            for name, columns in (_INDEXED if indexed is None else indexed).items()]


def create(dialect: str, listings: str = "open_listings", status: str = "open") -> None:
    """The table `listings` of the canonical postings of `status`, filled, indexed and
    kept in step."""
    op.execute(TABLE[dialect].replace("open_listings", listings))
    # filled before the triggers and indexes exist: one pass, then each index built once
    op.execute(f"INSERT INTO {listings} ({COLUMNS}) {projection(dialect, status=status)}")
    for sql in indexes(dialect, listings):
        op.execute(sql)
    if dialect == "postgresql":
        for sql in functions_pg(listings, status) + triggers_pg(listings):
            op.execute(sql)
    else:
        for sql in triggers_sqlite(listings, status):
            op.execute(sql)
    op.execute(f"ANALYZE {listings}")


def drop(dialect: str, listings: str = "open_listings") -> None:
    if dialect == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {listings}_{table} ON {table}")
        for function in function_names_pg(listings):
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
    else:
        for name in trigger_names_sqlite(listings):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(f"DROP TABLE IF EXISTS {listings}")


def upgrade() -> None:
    create(op.get_bind().dialect.name)


def downgrade() -> None:
    drop(op.get_bind().dialect.name)
