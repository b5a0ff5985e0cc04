#!/usr/bin/env bats
# etl-model: fit compared with numpy's lstsq on Melbourne sales, collinear
# and tiny groups, --log-y, --ridge, partial/merge, predict and its rejects.

load helper

MELB="$DATA/model/melb.ndjson"
SPEC="-y Price -x Rooms,BuildingArea,YearBuilt,Landsize -c Type -g Regionname"

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# fit then predict on the same data, checked against numpy; $1 the data,
# the rest the fit's options.
fit_check() {
	local d=$1
	shift
	etl-model fit "$@" "$d" 3>rej.ndjson >models.ndjson 2>fit.err
	etl-model predict -m models.ndjson "$d" 3>prej.ndjson >pred.ndjson \
	    2>pred.err
	$PY "$ETL_ROOT/tests/model_ref.py" check "$@" "$d" models.ndjson \
	    pred.ndjson
}

@test "fit: one model per region, equal to numpy's lstsq" {
	# shellcheck disable=SC2086
	run fit_check "$MELB" $SPEC
	echo "$output"
	[ "$status" -eq 0 ]
	assert_eq "$output" "ok 5 models, 616 predictions"
	# Ordered by region, the key first, terms in order, baseline h.
	assert_eq "$(jq -r .Regionname models.ndjson | paste -sd,)" \
	    "Eastern Metropolitan,Northern Metropolitan,South-Eastern Metropolitan,Southern Metropolitan,Western Metropolitan"
	assert_eq "$(head -1 models.ndjson | jq -c 'keys_unsorted')" \
	    '["Regionname","y","x","c","g","log_y","n","p","r2","rmse","coef","dropped","levels"]'
	assert_eq "$(head -1 models.ndjson | jq -c '.coef | keys_unsorted')" \
	    '["(intercept)","Rooms","BuildingArea","YearBuilt","Landsize","Type=t","Type=u"]'
	# South-Eastern has no unit: no Type=u term at all.
	assert_eq "$(jq -c '[.n, .p, .levels.Type]' models.ndjson | paste -sd' ')" \
	    '[60,7,["h","t","u"]] [188,7,["h","t","u"]] [17,6,["h","t"]] [216,7,["h","t","u"]] [135,7,["h","t","u"]]'
	# n agrees with Miller's count of the rows per region.
	assert_eq "$(mlr --ijson --ojson count -g Regionname then filter '$count > 5' then sort -f Regionname "$MELB" | jq -c '.[].count' | paste -sd,)" \
	    "$(jq .n models.ndjson | paste -sd,)"
	# The tiny regions: warned, counted, no model; their sales rejected.
	assert_contains fit.err 'group ["Northern Victoria"]: 1 rows for 5 terms: no model'
	assert_contains fit.err "622 in, 5 out, 0 rejected; 622 used, 0 skipped; 5 models, 3 groups without one"
	[ ! -s rej.ndjson ]
	assert_eq "$(jq -r '.reasons[0].code' prej.ndjson | sort | uniq -c | tr -s ' ')" " 6 model"
	assert_contains pred.err "622 in, 616 out, 6 rejected (model 6)"
}

@test "fit: collinear terms are dropped, predictions still equal numpy's" {
	jq -c '. + {Rooms2: .Rooms, Area2: (2 * .BuildingArea + 1),
	    Const: 5, Type2: ("k" + .Type)}' "$MELB" >col.ndjson
	run fit_check col.ndjson -y Price \
	    -x Rooms,BuildingArea,Rooms2,Area2,Const,YearBuilt -c Type,Type2 \
	    -g Regionname
	echo "$output"
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.Regionname, .p, .dropped]' models.ndjson | head -2 | paste -sd' ')" \
	    '["Eastern Metropolitan",6,["Rooms2","Area2","Const","Type2=kt","Type2=ku"]] ["Northern Metropolitan",6,["Rooms2","Area2","Const","Type2=kt","Type2=ku"]]'
	assert_eq "$(jq -c '[.coef.Rooms2, .coef.Const, .coef["Type2=kt"]]' models.ndjson | sort -u)" \
	    "[0,0,0]"
	# The same fit as without the copies.
	etl-model fit -y Price -x Rooms,BuildingArea,YearBuilt -c Type \
	    -g Regionname col.ndjson 3>&- 2>/dev/null >plain.ndjson
	assert_eq "$(jq -c '[.r2, .rmse, .coef.Rooms, .coef["Type=u"]] | map(. * 1e6 | round)' plain.ndjson)" \
	    "$(jq -c '[.r2, .rmse, .coef.Rooms, .coef["Type=u"]] | map(. * 1e6 | round)' models.ndjson)"
}

@test "fit: a tiny group and a constant y write no NaN" {
	printf '%s\n' '{"k":"a","y":1,"x":1}' '{"k":"a","y":2,"x":2}' \
	    '{"k":"b","y":5,"x":1}' '{"k":"b","y":5,"x":2}' \
	    '{"k":"b","y":5,"x":3}' '{"k":"c","y":1,"x":1}' \
	    '{"k":"c","y":3,"x":2}' '{"k":"c","y":2,"x":3}' >t.ndjson
	run_split etl-model fit -y y -x x -g k --stats st.json t.ndjson 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$(sed -n 1p "$stdout_file")" '{"k":"b","y":"y","x":["x"],"c":[],"g":["k"],"log_y":false,"n":3,"p":2,"r2":null,"rmse":0.0,"coef":{"(intercept)":5.0,"x":0.0},"dropped":[],"levels":{}}'
	# By hand: x 1 2 3, y 1 3 2: slope 0.5, intercept 1, SSE 1.5, SST 2.
	assert_eq "$(sed -n 2p "$stdout_file" | jq -c '[.k, .n, .p] + ([.r2, .rmse * .rmse, .coef["(intercept)"], .coef.x] | map(. * 1e9 | round))')" \
	    '["c",3,2,250000000,1500000000,1000000000,500000000]'
	assert_contains "$stderr_file" 'group ["a"]: 2 rows for 2 terms: no model'
	assert_eq "$(jq -c '[.in, .out, .rejected, .used, .models, .too_few_rows]' st.json)" \
	    '[8,2,0,8,2,{"[\"a\"]":2}]'
	# z is null where rmse is 0.
	cp "$stdout_file" m.ndjson
	run_split etl-model predict -m m.ndjson t.ndjson 3>&-
	assert_eq "$(sed -n 1p "$stdout_file")" \
	    '{"k":"b","y":5,"x":1,"y_pred":5.0,"y_resid":0.0,"y_z":null}'
	assert_eq "$(sed -n 4p "$stdout_file" | jq -c '[.y_pred, .y_resid, .y_z] | map(. * 1e9 | round)')" \
	    '[1500000000,-500000000,-408248290]'
}

@test "fit: non-numeric features are skipped and counted, non-objects rejected" {
	{
		head -20 "$MELB"
		echo '{"Price":"1.2M","Rooms":2,"BuildingArea":80,"YearBuilt":1990,"Landsize":100,"Type":"h","Regionname":"x"}'
		echo '{"Price":900000,"Rooms":"two","BuildingArea":80,"YearBuilt":1990,"Landsize":100,"Type":"h","Regionname":"x"}'
		echo '{"Price":900000,"Rooms":2,"YearBuilt":1990,"Landsize":100,"Type":"h","Regionname":"x"}'
		echo '{"Price":900000,"Rooms":2,"BuildingArea":80,"YearBuilt":1990,"Landsize":100,"Type":null,"Regionname":"x"}'
		echo 'not json'
		echo '[1,2]'
	} >mixed.ndjson
	# shellcheck disable=SC2086
	run_split etl-model fit $SPEC --stats st.json mixed.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.in, .used, .skipped_records, .rejected, .skipped]' st.json)" \
	    '[26,20,4,2,{"Price":1,"Rooms":1,"BuildingArea":1,"Type":1}]'
	assert_eq "$(jq -r '.reasons[0].code' rej.ndjson | paste -sd,)" "parse,parse"
	assert_eq "$(jq -r .raw rej.ndjson | paste -sd,)" "not json,[1,2]"
	# The skipped records do not change the model.
	# shellcheck disable=SC2086
	head -20 "$MELB" | etl-model fit $SPEC 3>&- 2>/dev/null >clean.ndjson
	cmp "$stdout_file" clean.ndjson
}

@test "fit --log-y: log-price model, predictions on the price scale, equal numpy's" {
	# shellcheck disable=SC2086
	run fit_check "$MELB" $SPEC --log-y
	echo "$output"
	[ "$status" -eq 0 ]
	assert_eq "$output" "ok 5 models, 616 predictions"
	assert_eq "$(jq -c .log_y models.ndjson | sort -u)" "true"
	# A price of 0 cannot be logged: skipped and counted.
	{
		head -30 "$MELB"
		echo '{"Price":0,"Rooms":2,"BuildingArea":80,"YearBuilt":1990,"Landsize":100,"Type":"h","Regionname":"Northern Metropolitan"}'
	} >z.ndjson
	# shellcheck disable=SC2086
	etl-model fit $SPEC --log-y --stats st.json z.ndjson 3>&- 2>/dev/null >/dev/null
	assert_eq "$(jq -c '[.used, .skipped]' st.json)" '[30,{"Price":1}]'
}

@test "fit --ridge: equal numpy's closed form with an unpenalised intercept" {
	# shellcheck disable=SC2086
	run fit_check "$MELB" $SPEC --ridge 250000
	echo "$output"
	[ "$status" -eq 0 ]
	assert_eq "$output" "ok 5 models, 616 predictions"
	assert_eq "$(jq -c .ridge models.ndjson | sort -u)" "250000"
	# The penalty shrinks the coefficients against least squares.
	# shellcheck disable=SC2086
	etl-model fit $SPEC "$MELB" 3>&- 2>/dev/null >ols.ndjson
	run jq -n --slurpfile a ols.ndjson --slurpfile b models.ndjson \
	    'def ss: [.coef | to_entries[] | select(.key != "(intercept)") | .value * .value] | add;
	     [range(0; $a | length) | ($a[.] | ss) > ($b[.] | ss)] | all'
	assert_eq "$output" "true"
}

@test "fit --partial / --merge on 4 chunks equals the plain fit" {
	# shellcheck disable=SC2086
	etl-model fit $SPEC "$MELB" 3>&- 2>/dev/null >plain.ndjson
	split -n l/4 "$MELB" chunk.
	for f in chunk.a?; do
		# shellcheck disable=SC2086
		etl-model fit --partial $SPEC "$f" 3>&- 2>/dev/null
	done >states.tsv
	[ "$(lines states.tsv)" -gt 8 ]
	# KEY<TAB>STATE, KEY the group key as a compact JSON array.
	assert_eq "$(cut -f1 states.tsv | sort -u | head -1)" '["Eastern Metropolitan"]'
	sort states.tsv | etl-model fit --merge 3>&- 2>merge.err >sorted.ndjson
	etl-model fit --merge states.tsv 3>&- 2>/dev/null >unsorted.ndjson
	$PY "$ETL_ROOT/tests/model_ref.py" same plain.ndjson sorted.ndjson
	$PY "$ETL_ROOT/tests/model_ref.py" same plain.ndjson unsorted.ndjson
	assert_contains merge.err "states merged; 5 models, 3 groups without one"
	# --ridge given to the merge applies to the merged model.
	etl-model fit --merge --ridge 250000 states.tsv 3>&- 2>/dev/null >r1.ndjson
	# shellcheck disable=SC2086
	etl-model fit $SPEC --ridge 250000 "$MELB" 3>&- 2>/dev/null >r2.ndjson
	$PY "$ETL_ROOT/tests/model_ref.py" same r1.ndjson r2.ndjson
}

@test "fit: mapper, combiner and reducer take one command line" {
	# shellcheck disable=SC2086
	etl-model fit $SPEC "$MELB" 3>&- 2>/dev/null >plain.ndjson
	split -n l/4 "$MELB" chunk.
	for f in chunk.a?; do
		# shellcheck disable=SC2086
		etl-model fit --partial $SPEC "$f" 3>&- 2>/dev/null |
		    etl-model fit --merge --partial $SPEC 3>&- 2>/dev/null
	done >combined.tsv
	# The combiner wrote states, one per group and chunk at most.
	[ "$(cut -f1 combined.tsv | sort | uniq -d | wc -l)" -le 8 ]
	# shellcheck disable=SC2086
	sort combined.tsv | etl-model fit --merge $SPEC 3>&- 2>/dev/null >merged.ndjson
	$PY "$ETL_ROOT/tests/model_ref.py" same plain.ndjson merged.ndjson
	# A state of another fit than the options say is a merge reject.
	etl-model fit --partial -y Price -x Rooms -g Regionname chunk.aa 3>&- 2>/dev/null >foreign.tsv
	# shellcheck disable=SC2086
	run_split etl-model fit --merge $SPEC foreign.tsv 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(jq -r '.reasons[0].code' rej.ndjson | sort -u)" merge
	assert_contains rej.ndjson "than the options say"
	assert_eq "$(lines rej.ndjson)" "$(lines foreign.tsv)"
}

@test "fit --merge: inline rejects pass, bad and foreign states are rejected" {
	{ head -50 "$MELB"; echo 'oops'; } >c1.ndjson
	# shellcheck disable=SC2086
	etl-model fit --partial --rejects inline $SPEC c1.ndjson 2>/dev/null >s1.tsv
	etl-model fit --partial -y Price -x Rooms -g Regionname c1.ndjson \
	    3>&- 2>/dev/null | head -1 >foreign.tsv
	{ cat s1.tsv foreign.tsv; printf 'no tab here\n["a"]\t{"y":1}\n'; } >in.tsv
	run_split etl-model fit --merge --stats st.json in.tsv 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(jq -r '.reasons[0].code' rej.ndjson | paste -sd,)" "parse,merge,parse,parse"
	assert_eq "$(jq -r '.raw // empty' rej.ndjson | sed -n 1p)" 'oops'
	# The inline reject passed on is neither in nor rejected here.
	assert_eq "$(jq -c '[.in, .merged, .rejected, .passed_rejects, .models]' st.json)" \
	    "[$(($(lines in.tsv) - 1)),$(($(lines s1.tsv) - 1)),3,1,$(lines "$stdout_file")]"
}

@test "fit: usage errors exit 64" {
	run_split etl-model fit -x Rooms "$MELB"
	[ "$status" -eq 64 ]
	assert_contains "$stderr_file" "usage: etl-model fit"
	run_split etl-model fit -y Price -x Price "$MELB"
	[ "$status" -eq 64 ]
	run_split etl-model fit -y Price -x Rooms,Rooms "$MELB"
	[ "$status" -eq 64 ]
	run_split etl-model fit -y Price -x Rooms -g coef "$MELB"
	[ "$status" -eq 64 ]
	run_split etl-model fit -y Price -x Rooms --ridge -1 "$MELB"
	[ "$status" -eq 64 ]
	run_split etl-model fit --merge -y Price
	[ "$status" -eq 64 ]
	run_split etl-model fit -y Price -x Rooms --bogus
	[ "$status" -eq 64 ]
	run_split etl-model predict "$MELB"
	[ "$status" -eq 64 ]
	run_split etl-model frobnicate
	[ "$status" -eq 64 ]
	run_split etl-model -h
	[ "$status" -eq 0 ]
	assert_contains "$stdout_file" "etl-model predict [-hq] -m MODELS"
}

@test "predict: rejects missing features, bad types, unknown groups and levels" {
	# shellcheck disable=SC2086
	etl-model fit $SPEC "$MELB" 3>&- 2>/dev/null >models.ndjson
	cat >p.ndjson <<-'EOF'
	{"id":1,"Rooms":3,"BuildingArea":120,"YearBuilt":1970,"Landsize":400,"Type":"h","Regionname":"Southern Metropolitan"}
	{"id":2,"Rooms":3,"YearBuilt":1970,"Landsize":400,"Type":"h","Regionname":"Southern Metropolitan"}
	{"id":3,"Rooms":"three","BuildingArea":120,"YearBuilt":1970,"Landsize":null,"Type":"h","Regionname":"Southern Metropolitan"}
	{"id":4,"Rooms":3,"BuildingArea":120,"YearBuilt":1970,"Landsize":400,"Type":"h","Regionname":"Atlantis"}
	{"id":5,"Rooms":3,"BuildingArea":120,"YearBuilt":1970,"Landsize":400,"Type":"villa","Regionname":"Southern Metropolitan"}
	{"id":6,"Price":1e6,"Rooms":3,"BuildingArea":120,"YearBuilt":1970,"Landsize":400,"Type":"u","Regionname":"Southern Metropolitan"}
	[6]
	EOF
	run_split etl-model predict -m models.ndjson p.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	assert_eq "$(jq -c '[.id, (.Price_pred | type), (.Price_resid | type), (.Price_z | type)]' "$stdout_file" | paste -sd' ')" \
	    '[1,"number","null","null"] [6,"number","number","number"]'
	assert_eq "$(jq -c '[.record.id // .raw, [.reasons[] | .code + " " + .path]]' rej.ndjson | paste -sd' ')" \
	    '[2,["required /BuildingArea"]] [3,["type /Rooms","required /Landsize"]] [4,["model /Regionname"]] [5,["enum /Type"]] ["[6]",["parse "]]'
	assert_contains "$stderr_file" "7 in, 2 out, 5 rejected"
	# The prediction by hand from the model's coefficients.
	assert_eq "$(jq 'select(.Regionname == "Southern Metropolitan") | .coef | .["(intercept)"] + 3 * .Rooms + 120 * .BuildingArea + 1970 * .YearBuilt + 400 * .Landsize + .["Type=u"] | . * 1e3 | round' models.ndjson)" \
	    "$(sed -n 2p "$stdout_file" | jq '.Price_pred * 1e3 | round')"
	assert_eq "$(sed -n 2p "$stdout_file" | jq '(1e6 - .Price_pred - .Price_resid) | fabs < 1e-6')" true
	# The z-score is the residual over the group's rmse.
	assert_eq "$(sed -n 2p "$stdout_file" | jq '(.Price_resid / .Price_z) * 1e3 | round')" \
	    "$(jq 'select(.Regionname == "Southern Metropolitan") | .rmse * 1e3 | round' models.ndjson)"
}

@test "predict: records pass byte for byte with the fields appended" {
	# shellcheck disable=SC2086
	etl-model fit $SPEC "$MELB" 3>&- 2>/dev/null >models.ndjson
	grep -v Victoria "$MELB" | head -50 | sed 's/"Rooms":/ "Rooms" :  /' >in.ndjson
	etl-model predict -m models.ndjson in.ndjson 3>&- 2>/dev/null >out.ndjson
	assert_eq "$(lines out.ndjson)" 50
	sed 's/,"Price_pred":[^}]*}$//' out.ndjson >stripped
	sed 's/}$//' in.ndjson | cmp - stripped
	# A record that already has the fields gets them replaced.
	head -1 out.ndjson | etl-model predict -m models.ndjson 3>&- 2>/dev/null >again.ndjson
	assert_eq "$(jq -c 'keys_unsorted | length' again.ndjson)" 13
	assert_eq "$(jq .Price_pred again.ndjson)" "$(head -1 out.ndjson | jq .Price_pred)"
}

@test "predict: a models file missing is 66, a bad one 78" {
	run_split etl-model predict -m nonexistent.ndjson "$MELB"
	[ "$status" -eq 66 ]
	run_split etl-model predict -m "$MELB" "$MELB"
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "melb.ndjson:1: not a model"
	# shellcheck disable=SC2086
	etl-model fit $SPEC "$MELB" 3>&- 2>/dev/null >m.ndjson
	etl-model fit -y Price -x Rooms "$MELB" 3>&- 2>/dev/null >>m.ndjson
	run_split etl-model predict -m m.ndjson "$MELB"
	[ "$status" -eq 78 ]
	assert_contains "$stderr_file" "m.ndjson:6: model of another fit"
}

@test "missing input 66, /dev/full 74, | head -1 quiet 0, empty input 0" {
	# shellcheck disable=SC2086
	run_split etl-model fit $SPEC nonexistent.ndjson 3>&-
	[ "$status" -eq 66 ]
	# shellcheck disable=SC2086
	etl-model fit $SPEC "$MELB" 3>&- 2>/dev/null >models.ndjson
	run_split etl-model predict -m models.ndjson nonexistent.ndjson 3>&-
	[ "$status" -eq 66 ]
	run bash -c "etl-model fit $SPEC '$MELB' 3>&- 2>/dev/null >/dev/full"
	[ "$status" -eq 74 ]
	run bash -c "etl-model predict -m models.ndjson '$MELB' 3>&- 2>/dev/null >/dev/full"
	[ "$status" -eq 74 ]
	run bash -c "etl-model predict -m models.ndjson '$MELB' '$MELB' '$MELB' 3>&- 2>err | head -1 >/dev/null; echo \${PIPESTATUS[0]}"
	assert_eq "$output" 0
	run grep -c error err
	assert_eq "$output" 0
	run bash -c "etl-model fit --partial $SPEC '$MELB' 3>&- 2>/dev/null | head -1 | wc -l; echo \${PIPESTATUS[0]}"
	assert_eq "$output" "1
0"
	# shellcheck disable=SC2086
	run_split etl-model fit $SPEC </dev/null 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$output" ""
	run_split etl-model fit --merge </dev/null 3>&-
	[ "$status" -eq 0 ]
	assert_eq "$output" ""
}

@test "man page: lint clean, SYNOPSIS is usage, EXAMPLES run" {
	run mandoc -Tlint -W warning "$ETL_ROOT/man/etl-model.1"
	assert_eq "$output" ""
	run_split etl-model -h
	syn="$(MANWIDTH=200 mandoc -Tutf8 "$ETL_ROOT/man/etl-model.1" | col -b |
	    awk '/^SYNOPSIS/{s=1;next} /^[A-Z]/{s=0} s' | tr -s ' \n\t' ' ')"
	use="$(sed 's/^usage://' "$stdout_file" | sed '/^  -/,$d' | tr -s ' \n\t' ' ')"
	assert_eq "$syn" "$use"
	cp "$DATA/model/offers.ndjson" "$MELB" .
	mlr --ijson --ocsv unsparsify "$MELB" >melb.csv
	man_examples "$ETL_ROOT/man/etl-model.1" >examples.sh
	assert_eq "$(lines examples.sh)" 8
	run bash -e examples.sh
	echo "$output"
	[ "$status" -eq 0 ]
	assert_eq "$(lines models.ndjson)" 1
	assert_eq "$(lines melb-models.ndjson)" 5
	$PY "$ETL_ROOT/tests/model_ref.py" same melb-models.ndjson merged.ndjson
	# From CSV, every value a string: the same five models.
	$PY "$ETL_ROOT/tests/model_ref.py" same melb-models.ndjson csv-models.ndjson
	# The first example lists the offers with |z| > 2, 02ef3c24 the worst.
	echo "$output" >examples.out
	assert_contains examples.out '{"id":"02ef3c24","price":2740000,"price_pred":1370844.797158'
	[ ! -s rejects.ndjson ]
}

@test "predict with an empty model file rejects every record with code model" {
	: >empty.models
	printf '%s\n' '{"price":1,"living_area":50}' '{"price":2}' >in.ndjson
	run_split etl-model predict -m empty.models in.ndjson 3>rej.ndjson
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	assert_eq "$(jq -r '.reasons[0].code' rej.ndjson | sort | uniq -c | tr -s ' ')" " 2 model"
	assert_contains "$stderr_file" "no model in the file"
}
