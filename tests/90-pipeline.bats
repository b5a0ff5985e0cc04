#!/usr/bin/env bats
# The reference pipeline, end to end: pipelines/listings.mk.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	unset ETL_RUN_ID
}

# Runs the pipeline into this test's directory; extra make arguments follow.
pipeline() {
	make -s -f "$ETL_ROOT/pipelines/listings.mk" STORE="$PWD/store" RUNS="$PWD/runs" \
	    NOTIFY="--file $PWD/alerts.ndjson" RETRY_DELAY=0 DATE=2026-11-24 "$@"
}

summary() {
	ls runs/2026-11-24/*/summary.json | tail -1
}

@test "the sample: 92 of 100 offers kept, every record accounted for" {
	run pipeline
	[ "$status" -eq 0 ]
	[[ "$output" == *"92 of 100 offers kept, in = out + rejected: true"* ]]
	s=$(summary)
	jq -e '.status == "ok" and .conserved and .offers.in == 100 and .offers.kept == 92 and .offers.rejected == 8' "$s"
	jq -e '[.steps[] | select(.conserved == false)] | length == 0' "$s"
	jq -e '([.links[] | select(.ok | not)] | length) == 0 and (.links | length) == 3' "$s"
	jq -e '.reasons.range == 8' "$s"
	etl-fetch -q store/offers 3>/dev/null >offers.ndjson
	assert_eq "$(lines offers.ndjson)" 92
	# Exactly the table's columns, with the values the spec implies.
	jq -e -s 'map(select(.id == "0000a4fb"))[0] |
	    .price == 530000 and .living_area == 84 and .property_type == "apartment"
	    and .scraping_date == "2021-02-17" and .price_per_m2 == 6309.52' offers.ndjson
	assert_eq "$(jq -c 'keys' offers.ndjson | sort -u)" \
	    '["currency","id","living_area","municipality","price","price_per_m2","property_type","scraping_date"]'
	assert_eq "$(jq -r .id offers.ndjson | sort | uniq -d | wc -l)" 0
	# Every offer kept is valid: the range and types hold.
	jq -e -s 'all(.[]; .living_area >= 10 and .living_area <= 500 and .price_per_m2 >= 500
	    and .price_per_m2 <= 15000 and (.property_type == "apartment" or .property_type == "house"))' offers.ndjson
	# The run records.
	d=$(dirname "$s")
	for f in params.json fetch.log clean.rejects.ndjson check.stats.json store.stats.json; do
		[ -e "$d/$f" ]
	done
	assert_eq "$(cat "$d/clean.rejects.ndjson" "$d/check.rejects.ndjson" | wc -l)" 8
	head -1 "$d/check.log" | jq -e '.run_id and .level'
}

@test "the use-case tables: price per m² by municipality and month, the model" {
	pipeline >/dev/null
	etl-fetch -q store/usecases/price_per_m2 3>/dev/null >ppm.ndjson
	etl-fetch -q store/offers 3>/dev/null >offers.ndjson
	# The same numbers from the offers themselves (numpy's percentiles).
	$PY - offers.ndjson ppm.ndjson <<'PY'
import json, sys, collections
import numpy as np
offers = [json.loads(l) for l in open(sys.argv[1])]
got = {(r["municipality"], r["scraping_date"]): r for r in map(json.loads, open(sys.argv[2]))}
groups = collections.defaultdict(list)
for o in offers:
    groups[(o["municipality"], o["scraping_date"][:7])].append(o["price_per_m2"])
assert set(groups) == set(got), (set(groups) ^ set(got))
for k, v in groups.items():
    g = got[k]
    assert g["count"] == len(v), k
    for name, q in (("median", 50), ("p10", 10), ("p90", 90)):
        assert abs(g["price_per_m2_" + name] - np.percentile(v, q)) < 1e-9, (k, name)
PY
	etl-fetch -q store/usecases/price_model/models 3>/dev/null >models.ndjson
	jq -e '.n == 92 and .r2 > 0 and .r2 < 1 and (.coef | has("living_area"))' models.ndjson
	assert_eq "$(etl-fetch -q store/usecases/price_model/predictions 3>/dev/null | jq -s 'map(select(.price_pred > 0)) | length')" 92
}

@test "another input of the same source, with other price formats" {
	run pipeline INPUT="$DATA/pipeline/other-offers.jsonl" MAX_REJECT_RATIO=0.7 MIN_KEPT_RATIO=0.4
	[ "$status" -eq 0 ]
	etl-fetch -q store/offers 3>/dev/null | jq -r '"\(.id) \(.price) \(.price_per_m2)"' | sort >got
	printf '%s\n' 's1 530000 6235.29' 's3 1250000 6944.44' 's7 390000 12380.95' >want
	cmp want got
	s=$(summary)
	jq -e '.offers.in == 7 and .offers.kept == 3 and .offers.rejected == 4 and .reasons.coerce == 1 and .reasons.enum == 1' "$s"
}

@test "a rerun of the same day does not duplicate" {
	pipeline >/dev/null
	pipeline >/dev/null
	assert_eq "$(ls runs/2026-11-24 | wc -l)" 2
	assert_eq "$(etl-fetch -q store/offers 3>/dev/null | wc -l)" 92
	assert_eq "$(etl-fetch -q store/offers 3>/dev/null | jq -r .id | sort -u | wc -l)" 92
	assert_eq "$(etl-fetch -q store/usecases/price_per_m2 3>/dev/null | wc -l)" 91
}

@test "a missing input fails the run and leaves an alert" {
	run pipeline INPUT="$PWD/nonexistent.json"
	[ "$status" -ne 0 ]
	[ -s alerts.ndjson ]
	jq -e '.step == "fetch" and .status == 66 and (.log_tail | contains("nonexistent.json"))
	    and .summary.status == "failed" and .run_id' alerts.ndjson
	[ ! -d store/offers ] || [ -z "$(find store/offers -name '*.zst')" ]
}

@test "a failing step is reported with its status and log, and stops the run" {
	echo '{"fields":{"price":{"type":"money"}}}' >bad.rules.json
	run pipeline RULES="$PWD/bad.rules.json"
	[ "$status" -ne 0 ]
	jq -e '.step == "clean" and .status == 78' alerts.ndjson
	[ ! -e store/offers ]
	s=$(summary)
	jq -e '.status == "failed" and ([.steps[].step] | index("check") == null)' "$s"
}

@test "the quality gate fails the run with 65 before anything is stored" {
	run pipeline MAX_REJECT_RATIO=0.05
	[ "$status" -ne 0 ]
	jq -e '.step == "check" and .status == 65' alerts.ndjson
	[ ! -e store/offers ]
}

@test "a step that exits 75 is retried, then succeeds" {
	mkdir run
	cat >flaky <<'SH'
#!/bin/sh
n=$(cat count 2>/dev/null || echo 0)
echo $((n + 1)) >count
[ "$n" -ge 2 ] || exit 75
echo '{"ok":true}'
SH
	chmod +x flaky
	RUN="$PWD/run" RETRIES=3 RETRY_DELAY=0 run "$ETL_ROOT/pipelines/step.sh" flaky -o out.ndjson -- ./flaky
	[ "$status" -eq 0 ]
	assert_eq "$(cat count)" 3
	assert_eq "$(cat out.ndjson)" '{"ok":true}'
	jq -e '.attempts == 3 and .status == 0' run/flaky.status.json
	echo 0 >count
	RUN="$PWD/run" RETRIES=1 RETRY_DELAY=0 NOTIFY="--file $PWD/alerts.ndjson" \
	    run "$ETL_ROOT/pipelines/step.sh" flaky -o out2.ndjson -- ./flaky
	[ "$status" -eq 75 ]
	[ ! -e out2.ndjson ]
	jq -e '.step == "flaky" and .status == 75' alerts.ndjson
}

@test "a bad DATE or ENV is refused before anything runs" {
	run pipeline DATE=2021-02-30
	[ "$status" -ne 0 ]
	[[ "$output" == *"not a date"* ]]
	run pipeline ENV=nowhere
	[ "$status" -ne 0 ]
	[ ! -e runs ]
}

@test "the scheduling files are valid" {
	if command -v systemd-analyze >/dev/null 2>&1 && systemd-analyze --version >/dev/null 2>&1; then
		cp "$ETL_ROOT"/pipelines/systemd/* .
		run systemd-analyze verify etl-listings.timer
		[[ "$output" != *"Unknown"* ]]
	fi
	grep -q '^OnCalendar=' "$ETL_ROOT/pipelines/systemd/etl-listings.timer"
	grep -q '^ExecStart=/usr/bin/make .*pipelines/listings.mk' "$ETL_ROOT/pipelines/systemd/etl-listings.service"
	# The crontab line: five time fields and a command that names the pipeline.
	grep -v -e '^#' -e '^[A-Z]*=' -e '^$' "$ETL_ROOT/pipelines/cron/listings.cron" >lines
	assert_eq "$(lines lines)" 1
	awk '{ for (i = 1; i <= 5; i++) if ($i !~ /^[0-9*\/,-]+$/) exit 1 }' lines
	grep -q 'pipelines/listings.mk' lines
	sh -n "$ETL_ROOT/pipelines/step.sh"
	sh -n "$ETL_ROOT/pipelines/summary.sh"
}
