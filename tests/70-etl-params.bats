#!/usr/bin/env bats
# etl-params: dates, config, formats, injection, run ids.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	CONF="$DATA/params/listings.json"
}

@test "params: the JSON object of a day" {
	run_split etl-params --date 2024-02-28 --source homegate --source homegate --use-case agg
	assert_eq "$status" 0
	assert_eq "$(jq -c 'del(.started_at)' "$stdout_file")" \
	    '{"run_id":"test-run","env":"dev","from":"2024-02-28","to":"2024-02-28","dates":["2024-02-28"],"sources":["homegate"],"use_cases":["agg"],"inputs":["lake/homegate/dt=2024-02-28/"]}'
	assert_eq "$(lines "$stdout_file")" 1
	# started_at is now, in UTC, to the second.
	s=$(jq -r .started_at "$stdout_file")
	[[ "$s" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]
	now=$(date -u +%s)
	then=$(date -u -d "$s" +%s)
	[ $((now - then)) -ge 0 ] && [ $((now - then)) -le 5 ]
	assert_contains "$stderr_file" "run test-run: dev 2024-02-28..2024-02-28"
}

@test "params: ranges across month ends, leap days and years match Python" {
	for r in "2024-02-27 2024-03-01" "2023-02-27 2023-03-01" \
	    "1900-02-27 1900-03-01" "2000-02-27 2000-03-01" \
	    "2023-12-30 2024-01-02" "2024-01-31 2024-02-01" \
	    "2024-04-29 2024-05-01" "2024-06-15 2024-06-15" \
	    "2020-01-01 2029-12-31" "0001-01-01 0001-01-03" \
	    "9999-12-29 9999-12-31"; do
		set -- $r
		got=$(etl-params -q --from "$1" --to "$2" | jq -c .dates)
		want=$("$PY" "$DATA/params/dates.py" "$1" "$2")
		assert_eq "$got" "$want"
	done
	# 2020..2029: 3653 days, 3 of them leap days.
	assert_eq "$(etl-params -q --from 2020-01-01 --to 2029-12-31 | jq '.dates|length')" 3653
}

@test "params: today, yesterday and -Nd follow TZ" {
	for tz in Pacific/Kiritimati Pacific/Pago_Pago Europe/Zurich; do
		got=$(TZ=$tz etl-params -q --date today | jq -r .from)
		assert_eq "$got" "$(TZ=$tz date +%F)"
		got=$(TZ=$tz etl-params -q --date yesterday | jq -r .from)
		assert_eq "$got" "$(TZ=$tz date -d "$(TZ=$tz date +%F) -1 day" +%F)"
		got=$(TZ=$tz etl-params -q --from -7d --to -0d | jq -c '[.from,.to,(.dates|length)]')
		assert_eq "$got" "[\"$(TZ=$tz date -d "$(TZ=$tz date +%F) -7 day" +%F)\",\"$(TZ=$tz date +%F)\",8]"
	done
	# The two ends of the date line are a day or more apart.
	a=$(TZ=Pacific/Kiritimati etl-params -q | jq -r .from)
	b=$(TZ=Pacific/Pago_Pago etl-params -q | jq -r .from)
	[ "$a" != "$b" ]
}

@test "params: impossible dates and bad ranges are 78 with a message" {
	while IFS='|' read -r args msg; do
		# shellcheck disable=SC2086
		run_split etl-params $args
		assert_eq "$status" 78
		assert_contains "$stderr_file" "$msg"
		assert_eq "$(lines "$stdout_file")" 0
	done <<'EOF'
--date 2023-02-29|--date: "2023-02-29": no such day (2023-02 has 28 days)
--date 1900-02-29|no such day (1900-02 has 28 days)
--date 2024-04-31|no such day (2024-04 has 30 days)
--date 2024-13-01|"2024-13-01": no such month
--date 2024-00-10|no such month
--date tomorrow|"tomorrow": not a date (YYYY-MM-DD, today, yesterday or -Nd)
--date 24-01-01|not a date
--date 2024-1-1|not a date
--date -7|not a date
--date -xd|not a date
--from 2024-03-02 --to 2024-03-01|--from 2024-03-02 is after --to 2024-03-01
--from 2020-01-01 --to 2030-01-08|3661 days, more than 3660
--to 2024-02-30 --from 2024-02-01|--to: "2024-02-30": no such day
EOF
	# 3660 days is the bound, inclusive.
	run_split etl-params -q --from 2020-01-01 --to 2030-01-07
	assert_eq "$status" 0
	assert_eq "$(jq '.dates|length' "$stdout_file")" 3660
}

@test "params: bad usage is 64" {
	for args in "--bogus" "--date today --from today --to today" \
	    "--from today" "--to today" "--format xml" "operand" "--date"; do
		# shellcheck disable=SC2086
		run_split etl-params $args
		assert_eq "$status" 64
		assert_contains "$stderr_file" "usage: etl-params"
	done
	run_split etl-params -h
	assert_eq "$status" 0
	assert_contains "$stdout_file" "usage: etl-params [-hq]"
}

@test "params: config defaults, templates and declared keys" {
	run_split etl-params --config "$CONF" --from 2024-02-28 --to 2024-03-01 --env prod
	assert_eq "$status" 0
	assert_eq "$(jq -c '[.env,.sources,.use_cases]' "$stdout_file")" \
	    '["prod",["pricehubble"],["price_per_m2","price_model"]]'
	assert_eq "$(jq -c .inputs "$stdout_file")" \
	    '["lake/pricehubble/dt=2024-02-28/","lake/pricehubble/dt=2024-02-29/","lake/pricehubble/dt=2024-03-01/","archive/prod/pricehubble/2024/02/28.json","archive/prod/pricehubble/2024/02/29.json","archive/prod/pricehubble/2024/03/01.json","static/pricehubble/{x}.csv"]'
	assert_eq "$(jq -c '[.store,.max_reject_ratio,.max_rejects,.strict,.notify]' "$stdout_file")" \
	    '["store",0.1,10,false,null]'
	# Sources replace the defaults; every source x day is an input.
	etl-params -q --config "$CONF" --date 2024-01-31 --source homegate --source immoscout24 \
	    --set store=/srv/s --set max_reject_ratio=0.25 --set max_rejects=3 --set strict=true --set notify=x >o.json
	assert_eq "$(jq -c '[.sources,(.inputs|length),.store,.max_reject_ratio,.max_rejects,.strict,.notify]' o.json)" \
	    '[["homegate","immoscout24"],6,"/srv/s",0.25,3,true,"x"]'
	# The reference job's config is valid.
	run_split etl-params --config "$ETL_ROOT/pipelines/config/listings.json" --date 2024-05-01
	assert_eq "$status" 0
	assert_eq "$(jq -c '[.sources,.use_cases,.inputs]' "$stdout_file")" \
	    '[["pricehubble"],["price_per_m2","price_model"],["data/pricehubble/"]]'
}

@test "params: bad config, unknown keys and names are 78 naming what and where" {
	printf '{"inputs":["a/{bad}/"]}' >c1.json
	printf '{"envz":"dev"}' >c2.json
	printf '{"inputs":["a/{source}"' >c3.json
	printf '{"params":{"env":"x"}}' >c4.json
	printf '{"inputs":"a b/{date}"}' >c5.json
	printf '{"sources":["x"],"known_sources":["y"]}' >c6.json
	printf '{"params":{"Bad":1}}' >c7.json
	printf '[1]' >c8.json
	printf '{"date":"2023-02-29"}' >c9.json
	while IFS='|' read -r args msg; do
		# shellcheck disable=SC2086
		run_split etl-params $args
		assert_eq "$status" 78
		assert_contains "$stderr_file" "$msg"
	done <<EOF
--config c1.json|c1.json: /inputs/0: "a/{bad}/": unknown placeholder at "{bad}/"
--config c2.json|c2.json: /envz: unknown key
--config c3.json|c3.json:1:
--config c4.json|c4.json: /params/env: a built-in key cannot be declared
--config c5.json|c5.json: /inputs: "a b/{date}": whitespace in a template
--config c6.json|c6.json: /sources/0: "x": unknown
--config c7.json|c7.json: /params/Bad: a key is
--config c8.json|c8.json: expected a JSON object
--config c9.json|c9.json: /date: "2023-02-29": no such day
--config $CONF --set nope=1|--set: nope: unknown key (not declared in $CONF /params)
--config $CONF --set max_rejects=ten|--set: max_rejects: "ten": expected a number
--config $CONF --set strict=yes|--set: strict: "yes": expected true or false
--set store=x|--set: store: unknown key
--config $CONF --source zillow|--source: "zillow": unknown
--config $CONF --env test|--env: "test": unknown
--source a/../b|--source: "a/../b": not a name
--use-case .hidden|--use-case: ".hidden": not a name
EOF
	run_split etl-params --config missing.json
	assert_eq "$status" 66
	assert_contains "$stderr_file" "missing.json: cannot open params config"
}

# Values that try to break out of quotes, run commands or end lines.
nasty_values() {
	printf '%s\n' \
	    "x'; touch pwned1; '" \
	    'x"; touch pwned2; "' \
	    '$(touch pwned3)' \
	    '`touch pwned4`' \
	    "'\$(touch pwned5)'" \
	    "a\\'b" \
	    '; touch pwned6 #' \
	    '${IFS}$HOME$((1+1))' \
	    '  lead and trail  ' \
	    'back\' \
	    'hash # \# \\# x' \
	    '$$ $(shell touch pwned7) $(eval X:=1)' \
	    'ünïcödé ☃'
}

# c.json declares d0.. (defaults) and s0.. (for --set) for every value of
# the array vals, and puts each value without blanks in a template.
nasty_config() {
	jq -n '$ARGS.positional | . as $v |
	    {params: (reduce range(length) as $i ({}; .["d\($i)"] = $v[$i] | .["s\($i)"] = "")),
	     inputs: [$v[] | select(test("\n")|not) | "in/{source}/" + (gsub("[ \t]";"")|gsub("{";"{{"))]}' --args "${vals[@]}" >c.json
	args=()
	for i in "${!vals[@]}"; do
		args+=(--set "s$i=${vals[$i]}")
	done
}

@test "params: --format sh is safe to eval whatever the values hold" {
	mapfile -t vals < <(nasty_values)
	vals+=($'line1\nline2\'; touch pwned8; \'')
	nasty_config
	ETL_RUN_ID="${vals[-1]}" etl-params -q --config c.json --source s "${args[@]}" --format sh >p.sh
	ETL_RUN_ID="${vals[-1]}" etl-params -q --config c.json --source s "${args[@]}" >p.json
	# The JSON holds the values as given.
	printf '%s\0' "${vals[@]}" >want.bin
	jq -j '[.d0,.d1,.d2,.d3,.d4,.d5,.d6,.d7,.d8,.d9,.d10,.d11,.d12,.d13][] + "\u0000"' p.json >got.bin
	cmp got.bin want.bin
	jq -j '[.s0,.s1,.s2,.s3,.s4,.s5,.s6,.s7,.s8,.s9,.s10,.s11,.s12,.s13][] + "\u0000"' p.json >got.bin
	cmp got.bin want.bin
	assert_eq "$(jq -r .run_id p.json)" "${vals[-1]}"
	# Every variable bash sees equals the JSON value: lists space-joined.
	jq -j 'to_entries[] | (.value | if type == "array" then join(" ")
	    elif type == "string" then . else tojson end) + "\u0000"' p.json >want.bin
	env -i PATH="$PATH" HOME=/nonexistent bash -c '. ./p.sh
	    for k in $(jq -r "keys_unsorted[]" p.json); do n=ETL_${k^^}; printf "%s\0" "${!n}"; done' >got.bin
	cmp <(tr '\0' '\n' <got.bin | grep -v '^20[0-9-]*T[0-9:]*Z$') <(tr '\0' '\n' <want.bin | grep -v '^20[0-9-]*T[0-9:]*Z$')
	# dash too, and ETL_PARAMS holds the same object.
	got=$(env -i PATH="$PATH" dash -c 'eval "$(cat p.sh)"; printf "%s" "$ETL_PARAMS"' | jq -c 'del(.started_at)')
	assert_eq "$got" "$(jq -c 'del(.started_at)' p.json)"
	assert_eq "$(ls | grep -c pwned || true)" 0
}

@test "params: names that try an injection are refused and run nothing" {
	for opt in --source --env --use-case; do
		run_split bash -c "eval \"\$(etl-params --format sh $opt \"x'; touch pwned; '\")\""
		assert_contains "$stderr_file" "not a name"
	done
	run_split etl-params --format sh --date yesterday --source "x'; touch /tmp/pwned-etl-params-$$; '"
	assert_eq "$status" 78
	[ ! -e "/tmp/pwned-etl-params-$$" ]
	assert_eq "$(ls | grep -c pwned || true)" 0
}

@test "params: --format make escapes \$, # and backslashes for GNU make" {
	mapfile -t vals < <(nasty_values)
	nasty_config
	ETL_RUN_ID="${vals[0]}" etl-params -q --config c.json "${args[@]}" --format make >params.mk
	{
		echo 'include params.mk'
		echo '$(file >run.out,$(ETL_RUN_ID))'
		echo '$(file >params.out,$(ETL_PARAMS))'
		for i in "${!vals[@]}"; do
			echo "\$(file >s$i.out,\$(ETL_S$i))"
			echo "\$(file >d$i.out,\$(ETL_D$i))"
		done
		echo 'all: ;@:'
	} >Makefile
	make -s
	for i in "${!vals[@]}"; do
		assert_eq "$(cat "s$i.out")" "${vals[$i]}"
		assert_eq "$(cat "d$i.out")" "${vals[$i]}"
	done
	assert_eq "$(cat run.out)" "${vals[0]}"
	assert_eq "$(jq -r .s11 params.out)" "${vals[11]}"
	assert_eq "$(ls | grep -c pwned || true)" 0
	# A newline cannot be written in make format.
	run_split etl-params --config c.json --set s1=$'a\nb' --format make
	assert_eq "$status" 78
	assert_contains "$stderr_file" "s1: the value has a newline"
	# Lists are space-separated.
	etl-params -q --from 2024-02-28 --to 2024-03-01 --source a --source b --format make >params.mk
	printf 'include params.mk\nall:\n\t@echo "$(words $(ETL_DATES)) $(words $(ETL_INPUTS)) $(lastword $(ETL_DATES))"\n' >Makefile
	assert_eq "$(make -s)" "3 6 2024-03-01"
}

@test "params: generated run ids are unique across concurrent runs and sort by time" {
	unset ETL_RUN_ID
	for i in $(seq 1 20); do
		etl-params -q >"id.$i" &
	done
	wait
	cat id.* | jq -r .run_id >ids
	assert_eq "$(lines ids)" 20
	assert_eq "$(sort -u ids | wc -l | tr -d ' ')" 20
	grep -Eqv '^[0-9]{8}T[0-9]{6}Z-[0-9]{6}-[0-9]+-[0-9a-f]{8}$' ids && return 1
	a=$(etl-params -q | jq -r .run_id)
	sleep 0.01
	b=$(etl-params -q | jq -r .run_id)
	assert_eq "$(printf '%s\n%s\n' "$b" "$a" | sort | head -1)" "$a"
	# The generated id is the one in the logs.
	ETL_LOG=json etl-params --date 2024-01-01 >o.json 2>log.json
	assert_eq "$(jq -r .run_id log.json)" "$(jq -r .run_id o.json)"
}

@test "params: a full stdout is 74, a closed pipe is quiet" {
	run_split etl-params --date today
	assert_eq "$status" 0
	run bash -c 'etl-params --date today >/dev/full'
	assert_eq "$status" 74
	run bash -c 'etl-params -q --from 2000-01-01 --to 2009-12-31 --source a --format sh | head -c1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_eq "$output" 0
}

@test "params: the man page EXAMPLES run" {
	cp "$CONF" listings.json
	# etl-notify may not be built yet in a partial tree; the handler is tested in 75.
	command -v etl-notify >/dev/null || etl-notify() { printf '{"message":"%s"}\n' "$*" >>alerts.ndjson; }
	while IFS= read -r line; do
		eval "$line" >>examples.out
	done < <(man_examples "$ETL_ROOT/man/etl-params.1")
	assert_contains examples.out '"store":"/srv/store"'
	assert_contains examples.out "2024-02-29"
	assert_contains examples.out "lake/homegate/dt=2024-03-01/"
	assert_contains examples.out "reads lake/homegate/dt=$(date -d yesterday +%F)/"
	assert_contains alerts.ndjson 'no such day'
	# The Makefile example.
	awk '/^\.\\" Makefile example/{m=1;next} m && /^\.Bd/{b=1;next} b && /^\.Ed/{exit} b{gsub(/\\e/,"\\"); print}' \
	    "$ETL_ROOT/man/etl-params.1" >Makefile
	grep -q '^	etl-params' Makefile
	assert_eq "$(make -s dates DATE=2024-02-29)" "2024-02-29 from lake/pricehubble/dt=2024-02-29/ archive/dev/pricehubble/2024/02/29.json static/pricehubble/{x}.csv"
	assert_contains params.mk "ETL_FROM := 2024-02-29"
	mandoc -Tlint -W warning "$ETL_ROOT/man/etl-params.1"
	assert_eq "$(mandoc -Tlint -W warning "$ETL_ROOT/man/etl-params.1")" ""
}
