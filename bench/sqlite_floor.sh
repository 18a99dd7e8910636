#!/usr/bin/env bash
# The SQLite floor of a filesystem scan's inventory writes (docs/PERFORMANCE.md,
# "The SQLite floor"): the rows a finished `mica scan fs` stored, copied by SQLite
# itself into an empty inventory of the same schema and pragmas, in one transaction per
# table and in rowid order, which is the cheapest order for SQLite. No parsing, no
# statement per row, no walk: what is left is the B-tree and WAL work that any writer of
# these rows pays. A read-only pass over the same rows is timed too, to subtract.
#
#   bench/sqlite_floor.sh MICA SCANNED_DB
#
# MICA makes the empty inventory (a scan of an empty directory); SCANNED_DB is the
# database of a finished scan, e.g. the one bench/run_foundation.sh leaves in the corpus
# directory. Everything else lives in a temp directory, removed at the end.
set -euo pipefail
MICA=${1:?usage: sqlite_floor.sh MICA SCANNED_DB}
SRC=$(realpath "${2:?usage: sqlite_floor.sh MICA SCANNED_DB}")
W=$(mktemp -d /tmp/mica-sqlite-floor.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir "$W/empty"
"$MICA" --db "$W/floor.db" scan fs -q "$W/empty" > /dev/null
echo "# source: $SRC ($(sqlite3 "$SRC" 'select count(*) from identity') identities," \
  "$(sqlite3 "$SRC" 'select count(*) from location') locations," \
  "$(sqlite3 "$SRC" 'select count(*) from sighting') sightings)"
# WHERE id > 0 keeps SQLite from its transfer optimisation (a raw page copy of the
# table and its indexes), so every row goes through the B-tree insert and index updates.
sqlite3 "$W/floor.db" <<SQL
PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = ${CACHE_KIB:--65536};
ATTACH '$SRC' AS old;
.timer on
SELECT 'read identity', count(*), sum(length(der)) FROM old.identity WHERE id > 0;
SELECT 'read location', count(*), sum(length(path)) FROM old.location WHERE id > 0;
BEGIN; INSERT INTO main.identity SELECT * FROM old.identity WHERE id > 0; COMMIT;
BEGIN; INSERT INTO main.location SELECT * FROM old.location WHERE id > 0; COMMIT;
BEGIN; INSERT INTO main.sighting SELECT * FROM old.sighting WHERE id > 0; COMMIT;
.timer off
PRAGMA wal_checkpoint(TRUNCATE);
SQL
echo "# inventory written: $(du -h "$W/floor.db" | cut -f1)"
