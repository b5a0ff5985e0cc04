#!/usr/bin/env bats
# etl-load: records into SQLite and PostgreSQL tables, one transaction a
# run, refused rows as rejects with the database's message.

load helper
load pg

setup_file() {
	# Offers enough for a load to be under way when it is killed.
	BIG="$BATS_FILE_TMPDIR/big.ndjson"
	offers 60000 >"$BIG"
	export BIG
	pg_start
	if [ -z "$PG_SKIP" ]; then
		# The pipeline's role owns the database; a reader role reads.
		pg_sql -d postgres -c "CREATE ROLE loader LOGIN" \
		    -c "CREATE ROLE reader LOGIN" \
		    -c "CREATE DATABASE etl OWNER loader" >/dev/null ||
		    PG_SKIP="cannot create the test roles"
	fi
	LOADER="postgresql://loader@127.0.0.1:${PGPORT:-0}/etl"
	export PG_SKIP PG_DIR PG_BIN PG_URL PGHOST PGPORT PGUSER LOADER
}

teardown_file() {
	pg_stop
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	L="$DATA/load"
	S="$ETL_ROOT/pipelines/schemas/offers.schema.json"
}

need_pg() {
	[ -z "$PG_SKIP" ] || skip "$PG_SKIP"
}

# Records as sorted, compact JSON without null fields: what a table holds.
norm() {
	jq -S -c 'with_entries(select(.value != null))' "$@" | sort
}

# The rows of an SQLite table as NDJSON.
sq_rows() {
	sqlite3 -json "$1" "SELECT * FROM $2" | jq -c '.[]'
}

# The rows of a PostgreSQL table (database etl) as NDJSON.
pg_rows() {
	pg_sql -d etl -c "SELECT row_to_json(etl_row) FROM $1 etl_row"
}

# NDJSON of N generated offers, ids k0000000...
offers() {
	/usr/bin/python3 - "$1" <<'EOF'
import json, sys
for i in range(int(sys.argv[1])):
    area = 20 + i % 400
    print(json.dumps({"id": "k%07d" % i, "price": area * 4000.5, "currency": "EUR",
        "living_area": area, "property_type": ("apartment", "house")[i % 2],
        "municipality": "M%d" % (i % 300), "price_per_m2": 4000.5,
        "scraping_date": "2024-01-%02d" % (i % 28 + 1)}, separators=(",", ":")))
EOF
}

# Starts etl-load ARGS... on a fifo fed with FILE, leaving the fifo open so
# the tool waits mid-load for more: its pid in $pid.  The write end is fd 5.
start_stalled() {
	local file=$1
	shift
	mkfifo in.fifo
	etl-load "$@" in.fifo >out.ndjson 2>err 3>rej.ndjson &
	pid=$!
	exec 5>in.fifo
	cat "$file" >&5
}

# --- SQLite ---

@test "sqlite: loads the records; out is the input byte for byte; the rows are the records" {
	run_split etl-load --db sqlite:t.db --table offers -s "$S" --stats st.json "$L/offers.ndjson" 3>rej.ndjson
	[ "$status" -eq 0 ]
	cmp "$L/offers.ndjson" "$stdout_file"
	[ ! -s rej.ndjson ]
	assert_eq "$(stats_triple st.json)" "10 10 0"
	assert_eq "$(jq -c '[.database, .table, .inserted]' st.json)" '["sqlite","offers",10]'
	assert_contains "$stderr_file" "etl-load: 10 in, 10 out, 0 rejected; t.db offers: 10 inserted"
	sq_rows t.db offers | norm >got
	norm "$L/offers.ndjson" >want
	cmp want got
	# Numbers are REAL, text is TEXT: what SQLite stored, not a cast.
	assert_eq "$(sqlite3 t.db "SELECT DISTINCT typeof(price) || typeof(living_area) || typeof(id) FROM offers")" "realrealtext"
}

@test "sqlite: a plain path ending .db is SQLite; an empty input is 0 and creates the table" {
	run etl-load --db t.db --table offers -s "$S" </dev/null 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(sqlite3 t.db 'SELECT count(*) FROM offers')" 0
}

@test "sqlite: a rerun with --key duplicates nothing and updates the rows that changed" {
	etl-load --db sqlite:t.db --table offers -s "$S" --key id "$L/offers.ndjson" >/dev/null 3>&- 2>/dev/null
	run_split etl-load --db sqlite:t.db --table offers -s "$S" --key id --stats st.json "$L/offers.ndjson" 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.inserted, .updated, .unchanged]' st.json)" "[0,0,10]"
	run_split etl-load --db sqlite:t.db --table offers --key id --stats st.json "$L/changed.ndjson" 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.inserted, .updated, .unchanged]' st.json)" "[1,2,1]"
	# The table is the offers with the changed ones in their place.
	sq_rows t.db offers | norm >got
	cat "$L/offers.ndjson" "$L/changed.ndjson" | jq -s -c 'map({(.id): .}) | add | .[]' | norm >want
	cmp want got
	assert_eq "$(sqlite3 t.db 'SELECT count(*), count(DISTINCT id) FROM offers')" "11|11"
}

@test "sqlite: refused rows are load rejects with SQLite's message; the others load" {
	run_split etl-load --db sqlite:t.db --table offers -s "$S" --stats st.json "$L/bad.ndjson" 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(stats_triple st.json)" "8 2 6"
	assert_eq "$(jq -r .id "$stdout_file" | tr '\n' ' ')" "b1 b6 "
	jq -c '[.src.line, .reasons[0].code, .reasons[0].path, .reasons[0].message]' rej.ndjson >got
	cat >want <<'EOF'
[2,"load","/living_area","CHECK constraint failed: living_area <= 500"]
[3,"load","/price","CHECK constraint failed: price is a number"]
[4,"load","/agent","table offers has no column named agent"]
[5,"load","/price","NOT NULL constraint failed: offers.price"]
[7,"load","/property_type","CHECK constraint failed: property_type in (apartment, house)"]
[8,"parse","","column 11: string or '}' expected near end of file"]
EOF
	diff want got
	# The rejected record is there as it came.
	sed -n 2p "$L/bad.ndjson" >want
	jq -c 'select(.src.line == 2) | .record' rej.ndjson >got
	cmp want got
	sq_rows t.db offers | norm >got
	norm "$stdout_file" >want
	cmp want got
}

@test "sqlite: the DDL from the schema: types as checks, NOT NULL, CHECK, the key" {
	etl-load --db sqlite:t.db --table offers -s "$S" --key id </dev/null 3>&- 2>/dev/null
	sqlite3 t.db .schema >schema.sql
	assert_contains schema.sql 'CREATE TABLE IF NOT EXISTS "offers" ('
	assert_contains schema.sql '"id" ANY NOT NULL CONSTRAINT "id is a string" CHECK (typeof("id") = '"'text'"')'
	assert_contains schema.sql '"price" ANY NOT NULL CONSTRAINT "price is a number" CHECK (typeof("price") = '"'real'"') CONSTRAINT "price > 0" CHECK ("price" > 0)'
	assert_contains schema.sql '"currency" ANY CONSTRAINT "currency is a string" CHECK ("currency" IS NULL OR (typeof("currency") = '"'text'"'))'
	assert_contains schema.sql 'CONSTRAINT "living_area >= 10" CHECK ("living_area" >= 10) CONSTRAINT "living_area <= 500" CHECK ("living_area" <= 500)'
	assert_contains schema.sql 'CHECK ("property_type" IN ('"'apartment', 'house'"'))'
	assert_contains schema.sql 'PRIMARY KEY ("id")'
	assert_contains schema.sql ') STRICT;'
	# SQLite itself now refuses a number written as text, and NULL.
	run sqlite3 t.db "INSERT INTO offers VALUES ('x', '12', 'EUR', 50, 'house', NULL, '2024-01-01', 5000)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"CHECK constraint failed: price is a number"* ]]
	run sqlite3 t.db "INSERT INTO offers (id) VALUES ('y')"
	[[ "$output" == *"NOT NULL constraint failed"* ]]
}

@test "sqlite: a table without --schema must exist (78), and is then loaded by its own types" {
	run_split etl-load --db sqlite:t.db --table offers "$L/offers.ndjson" 3>&-
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "sqlite:t.db: no table offers (give --schema to create it)"
	# A table made by hand: its affinity would turn "12" into 12, etl-load refuses.
	sqlite3 t.db 'CREATE TABLE m (id INTEGER PRIMARY KEY, n REAL, s TEXT, d TEXT DEFAULT (42))'
	printf '%s\n' '{"id":1,"n":1.5,"s":"a"}' '{"id":2,"n":"12"}' '{"id":3,"s":5}' '{"id":4.5}' \
	    '{"id":5,"d":null}' >m.ndjson
	run_split etl-load --db t.db --table m m.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.reasons[0].path, .reasons[0].message]' rej.ndjson | tr '\n' ' ')" \
	    '["/n","column \"n\" (REAL) takes a number, not string \"12\""] ["/s","column \"s\" (TEXT) takes a string, not integer 5"] ["/id","column \"id\" (INTEGER) takes an integer, not number 4.5"] '
	assert_eq "$(sqlite3 t.db 'SELECT id, n, s, d FROM m ORDER BY id' | tr '\n' ' ')" "1|1.5|a|42 5|||42 "
}

@test "sqlite: --mode replace makes the table the run's rows, with and without a key" {
	etl-load --db t.db --table offers -s "$S" "$L/offers.ndjson" >/dev/null 3>&- 2>&-
	run_split etl-load --db t.db --table offers --mode replace --stats st.json "$L/changed.ndjson" 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.inserted, .deleted]' st.json)" "[4,10]"
	sq_rows t.db offers | norm >got
	norm "$L/changed.ndjson" >want
	cmp want got
	# By key: kept rows are updated or left alone, the others go.
	etl-load --db k.db --table offers -s "$S" --key id "$L/offers.ndjson" >/dev/null 3>&- 2>&-
	run_split etl-load --db k.db --table offers --key id --mode replace --stats st.json "$L/changed.ndjson" 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.inserted, .updated, .unchanged, .deleted]' st.json)" "[1,2,1,7]"
	sq_rows k.db offers | norm >got
	cmp want got
}

@test "sqlite: kill -9 in the middle of a large load leaves the table as before" {
	etl-load --db t.db --table offers -s "$S" --key id "$L/offers.ndjson" >/dev/null 3>&- 2>&-
	sq_rows t.db offers | norm >before
	start_stalled "$BIG" --db t.db --table offers --key id
	# The tool has every row and waits for the end of its input: it has
	# written pages of its transaction into the file, with their journal.
	for _ in $(seq 100); do
		[ "$(stat -c %s t.db)" -gt 1000000 ] && break
		sleep 0.1
	done
	[ -s t.db-journal ]
	[ "$(stat -c %s t.db)" -gt 1000000 ]
	kill -9 "$pid"
	wait "$pid" || :
	exec 5>&-
	[ ! -s out.ndjson ]
	# The next reader rolls the hot journal back.
	assert_eq "$(sqlite3 t.db 'PRAGMA integrity_check')" ok
	sq_rows t.db offers | norm >after
	cmp before after
	# And a load then goes through.
	head -1000 "$BIG" >some.ndjson
	run etl-load --db t.db --table offers --key id some.ndjson 3>&- 2>/dev/null
	[ "$status" -eq 0 ]
	assert_eq "$(sqlite3 t.db 'SELECT count(*) FROM offers')" 1010
}

@test "sqlite: SIGTERM mid-load rolls back: status 143, nothing out, the table as before" {
	etl-load --db t.db --table offers -s "$S" "$L/offers.ndjson" >/dev/null 3>&- 2>&-
	start_stalled "$BIG" --db t.db --table offers
	sleep 0.5
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	exec 5>&-
	assert_eq "$st" 143
	[ ! -s out.ndjson ]
	assert_contains err "rolled back"
	assert_eq "$(sqlite3 t.db 'SELECT count(*) FROM offers')" 10
	[ ! -e t.db-journal ]
}

@test "usage 64, a bad schema 78, a missing input 66 rolls back, >/dev/full 74, | head -1 quiet 0" {
	run etl-load --db t.db 3>&-
	[ "$status" -eq 64 ]
	run etl-load --db t.db --table t --no-such 3>&-
	[ "$status" -eq 64 ]
	run etl-load --db t.db --table t --mode merge 3>&-
	[ "$status" -eq 64 ]
	run etl-load --db nowhere --table t 3>&-
	[ "$status" -eq 64 ]
	run etl-load --db t.db --table a.b.c 3>&-
	[ "$status" -eq 64 ]
	run etl-load --db t.db --table t --grant-read reader 3>&-
	[ "$status" -eq 64 ]
	[[ "$output" == *"file's permissions"* ]]
	run etl-load --db t.db --table t --key id,id 3>&-
	[ "$status" -eq 64 ]
	echo '{"properties": {"a": {"type": "strnig"}}}' >bad.json
	run etl-load --db t.db --table t -s bad.json 3>&-
	[ "$status" -eq 78 ]
	[[ "$output" == *"bad.json: /properties/a: type: unknown type strnig"* ]]
	run etl-load --db t.db --table t -s "$S" --key nope 3>&-
	[ "$status" -eq 78 ]
	echo '{"type": "object"}' >bad.json
	run etl-load --db t.db --table t -s bad.json 3>&-
	[ "$status" -eq 78 ]
	run etl-load --db t.db --table t -s nonexistent.json 3>&-
	[ "$status" -eq 66 ]
	# A missing input: the others were read, nothing is loaded.
	run_split etl-load --db t.db --table offers -s "$S" "$L/offers.ndjson" missing.ndjson 3>&-
	[ "$status" -eq 66 ]
	[ ! -s "$stdout_file" ]
	assert_eq "$(sqlite3 t.db "SELECT count(*) FROM sqlite_master WHERE name = 'offers'")" 0
	# The rows are committed, the output fails.
	st=0
	etl-load --db f.db --table offers -s "$S" "$L/offers.ndjson" 3>&- >/dev/full 2>err || st=$?
	assert_eq "$st" 74
	assert_contains err "stdout: No space left on device"
	assert_eq "$(sqlite3 f.db 'SELECT count(*) FROM offers')" 10
	run_split sh -c 'etl-load --db h.db --table offers -s "$1" "$2" 3>&- | head -1' sh "$S" "$L/offers.ndjson"
	[ "$status" -eq 0 ]
	assert_eq "$output" "$(head -1 "$L/offers.ndjson")"
	[ -z "$errput" ] || [[ "$errput" == "etl-load: 10 in"* ]]
	assert_eq "$(sqlite3 h.db 'SELECT count(*) FROM offers')" 10
}

@test "sqlite: a database that cannot be opened is 73, one that is not SQLite 78" {
	run etl-load --db sqlite:/nonexistent/dir/t.db --table t 3>&- </dev/null
	[ "$status" -eq 73 ]
	[[ "$output" == *"sqlite:/nonexistent/dir/t.db: cannot"* ]]
	echo "not a database, just text that is long enough to be read as a header" >x.db
	run etl-load --db x.db --table t 3>&- </dev/null
	[ "$status" -eq 78 ]
	[[ "$output" == *"x.db"*"not a database"* ]]
}

@test "the EXAMPLES of the man page run (those on SQLite)" {
	cp "$L/offers.ndjson" offers.ndjson
	cp "$S" offers.schema.json
	man_examples "$ETL_ROOT/man/etl-load.1" | grep -v -e postgresql -e 'dbname=' -e '\.\.\.' >examples.sh
	[ -s examples.sh ]
	run sh -e examples.sh 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(sqlite3 etl.db 'SELECT count(*) FROM offers')" 10
}

# --- PostgreSQL ---

@test "postgresql: an unreachable server is 75, the message names it without its password" {
	run etl-load --db "postgresql://loader:secret@127.0.0.1:1/etl" --table t 3>&- </dev/null
	[ "$status" -eq 75 ]
	[[ "$output" == *"postgresql: host=127.0.0.1 port=1 dbname=etl user=loader: cannot connect:"* ]]
	[[ "$output" != *secret* ]]
	run etl-load --db "host=127.0.0.1 port=1 dbname=etl password=secret" --table t 3>&- </dev/null
	[ "$status" -eq 75 ]
	[[ "$output" != *secret* ]]
}

@test "postgresql: COPY loads the records; a rerun with --key duplicates nothing, updates the changed" {
	need_pg
	run_split etl-load --db "$LOADER" --table offers_a -s "$S" --key id --stats st.json "$L/offers.ndjson" 3>rej.ndjson
	[ "$status" -eq 0 ]
	cmp "$L/offers.ndjson" "$stdout_file"
	assert_eq "$(jq -c '[.in, .out, .rejected, .database, .inserted, .updated, .unchanged]' st.json)" '[10,10,0,"postgresql",10,0,0]'
	pg_rows offers_a | norm >got
	norm "$L/offers.ndjson" >want
	cmp want got
	run_split etl-load --db "$LOADER" --table offers_a --key id --stats st.json "$L/offers.ndjson" 3>&-
	assert_eq "$(jq -c '[.inserted, .updated, .unchanged]' st.json)" "[0,0,10]"
	run_split etl-load --db "$LOADER" --table offers_a --key id --stats st.json "$L/changed.ndjson" 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.inserted, .updated, .unchanged]' st.json)" "[1,2,1]"
	pg_rows offers_a | norm >got
	cat "$L/offers.ndjson" "$L/changed.ndjson" | jq -s -c 'map({(.id): .}) | add | .[]' | norm >want
	cmp want got
	# The DDL: types, NOT NULL, checks, the key.
	pg_sql -d etl -c "SELECT column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns WHERE table_name = 'offers_a' ORDER BY ordinal_position" >cols
	assert_eq "$(tr '\n' '|' <cols)" "id text NO|price double precision NO|currency text YES|living_area double precision NO|property_type text NO|municipality text YES|scraping_date text NO|price_per_m2 double precision NO|"
	assert_eq "$(pg_sql -d etl -c "SELECT string_agg(conname, '|' ORDER BY conname) FROM pg_constraint WHERE conrelid = 'offers_a'::regclass")" \
	    "id length >= 1|living_area <= 500|living_area >= 10|offers_a_pkey|price > 0|price_per_m2 <= 15000|price_per_m2 >= 500|property_type in (apartment, house)"
	assert_eq "$(pg_sql -d etl -c "SELECT tableowner FROM pg_tables WHERE tablename = 'offers_a'")" loader
}

@test "postgresql: text with backslashes, tabs, newlines, quotes and unicode round-trips exactly" {
	need_pg
	run_split etl-load --db "$LOADER" --table texts -s "$L/text.schema.json" --key id "$L/text.ndjson" 3>rej.ndjson
	[ "$status" -eq 0 ]
	[ ! -s rej.ndjson ]
	assert_eq "$(pg_sql -d etl -c "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = 'texts'::regclass AND attnum > 0 ORDER BY attnum" | tr '\n' ' ')" \
	    "bigint text jsonb jsonb "
	pg_rows texts | norm >got
	norm "$L/text.ndjson" >want
	cmp want got
	# Byte for byte, compared by Python rather than by jq alone.
	pg_sql -d etl -c "SELECT json_agg(r ORDER BY id) FROM texts r" >rows.json
	"$PY" - "$L/text.ndjson" rows.json <<'EOF'
import json, sys
want = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
got = json.load(open(sys.argv[2], encoding="utf-8"))
for w, g in zip(want, got):
    for k in ("id", "t", "doc", "tags"):
        assert w.get(k) == g.get(k), (k, w.get(k), g.get(k))
assert len(want) == len(got) == 11
EOF
	# And SQLite the same.
	etl-load --db t.db --table texts -s "$L/text.schema.json" "$L/text.ndjson" >/dev/null 3>&- 2>&-
	sqlite3 -json t.db "SELECT id, t, json(doc) AS doc, json(tags) AS tags FROM texts" |
	    jq -c '.[] | .doc |= (if . then fromjson else . end) | .tags |= (if . then fromjson else . end)' | norm >got
	cmp want got
}

@test "postgresql: refused rows carry PostgreSQL's message; the others load in the same transaction" {
	need_pg
	run_split etl-load --db "$LOADER" --table offers_b -s "$S" --stats st.json "$L/bad.ndjson" 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(stats_triple st.json)" "8 2 6"
	jq -c '[.src.line, .reasons[0].path, .reasons[0].message]' rej.ndjson | sort >got
	cat >want <<'EOF'
[2,"/living_area","new row for relation \"offers_b\" violates check constraint \"living_area <= 500\""]
[3,"/price","column \"price\" (double precision) takes a number, not string \"zwei Millionen\""]
[4,"/agent","column \"agent\" of relation \"offers_b\" does not exist"]
[5,"/price","null value in column \"price\" of relation \"offers_b\" violates not-null constraint"]
[7,"/property_type","new row for relation \"offers_b\" violates check constraint \"property_type in (apartment, house)\""]
[8,"","column 11: string or '}' expected near end of file"]
EOF
	diff want got
	assert_eq "$(jq -r .id "$stdout_file" | tr '\n' ' ')" "b1 b6 "
	pg_rows offers_b | norm >got
	norm "$stdout_file" >want
	cmp want got
	# Many refused among many: each found, every other row loaded.
	offers 3000 | jq -c 'if (.id | ltrimstr("k") | tonumber) % 97 == 5 then .living_area = 999 else . end' >many.ndjson
	run_split etl-load --db "$LOADER" --table offers_c -s "$S" --key id --stats st.json many.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(stats_triple st.json)" "3000 2969 31"
	assert_eq "$(jq -r '.reasons[0].message' rej.ndjson | sort -u)" 'new row for relation "offers_c" violates check constraint "living_area <= 500"'
	pg_rows offers_c | norm >got
	norm "$stdout_file" >want
	cmp want got
}

@test "postgresql: kill -9 and SIGTERM mid-load leave nothing half-loaded" {
	need_pg
	etl-load --db "$LOADER" --table offers_k -s "$S" --key id "$L/offers.ndjson" >/dev/null 3>&- 2>&-
	pg_rows offers_k | norm >before
	# Its own name, apart from the loads of other tests running at once.
	db="$LOADER?application_name=etl-load-killed"
	start_stalled "$BIG" --db "$db" --table offers_k --key id
	# Wait until the rows stream into the server's COPY.
	for _ in $(seq 100); do
		n=$(pg_sql -d etl -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'etl-load-killed' AND query LIKE 'COPY%'")
		[ "$n" -ge 1 ] && break
		sleep 0.1
	done
	[ "$n" -ge 1 ]
	sleep 0.5
	kill -9 "$pid"
	wait "$pid" || :
	exec 5>&-
	[ ! -s out.ndjson ]
	pg_rows offers_k | norm >after
	cmp before after
	rm -f in.fifo
	start_stalled "$BIG" --db "$db" --table offers_k --key id
	sleep 1
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	exec 5>&-
	assert_eq "$st" 143
	[ ! -s out.ndjson ]
	pg_rows offers_k | norm >after
	cmp before after
	# Nothing is left behind: the server has no etl-load session.
	for _ in $(seq 50); do
		n=$(pg_sql -d etl -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'etl-load-killed'")
		[ "$n" -eq 0 ] && break
		sleep 0.1
	done
	assert_eq "$n" 0
}

@test "postgresql: --grant-read: the reader can SELECT and is denied INSERT" {
	need_pg
	run_split etl-load --db "$LOADER" --table offers_g -s "$S" --key id --grant-read reader "$L/offers.ndjson" 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(pg_sql -d etl -U reader -c 'SELECT count(*) FROM offers_g')" 10
	run pg_sql -d etl -U reader -c "INSERT INTO offers_g (id, price, living_area, property_type, scraping_date, price_per_m2) VALUES ('x', 1, 50, 'house', '2024-01-01', 5000)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"permission denied for table offers_g"* ]]
	run pg_sql -d etl -U reader -c "DELETE FROM offers_g"
	[[ "$output" == *"permission denied for table offers_g"* ]]
	assert_eq "$(pg_sql -d etl -c "SELECT string_agg(privilege_type, ',') FROM information_schema.role_table_grants WHERE table_name = 'offers_g' AND grantee = 'reader'")" SELECT
	# A role that does not exist is a configuration error, nothing loaded.
	run etl-load --db "$LOADER" --table offers_h -s "$S" --grant-read nobody "$L/offers.ndjson" 3>&-
	[ "$status" -eq 78 ]
	[[ "$output" == *'role "nobody" does not exist'* ]]
	assert_eq "$(pg_sql -d etl -c "SELECT to_regclass('offers_h') IS NULL")" t
}

@test "postgresql: --mode replace; a missing table without --schema is 78" {
	need_pg
	run etl-load --db "$LOADER" --table nowhere "$L/offers.ndjson" 3>&-
	[ "$status" -eq 78 ]
	[[ "$output" == *"no table nowhere (give --schema to create it)"* ]]
	etl-load --db "$LOADER" --table offers_r -s "$S" --key id "$L/offers.ndjson" >/dev/null 3>&- 2>&-
	run_split etl-load --db "$LOADER" --table offers_r --key id --mode replace --stats st.json "$L/changed.ndjson" 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.inserted, .updated, .unchanged, .deleted]' st.json)" "[1,2,1,7]"
	pg_rows offers_r | norm >got
	norm "$L/changed.ndjson" >want
	cmp want got
	run_split etl-load --db "$LOADER" --table offers_r --mode replace --stats st.json "$L/offers.ndjson" 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.inserted, .deleted]' st.json)" "[10,4]"
	pg_rows offers_r | norm >got
	norm "$L/offers.ndjson" >want
	cmp want got
}
