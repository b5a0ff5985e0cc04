#!/usr/bin/env bats
# Hadoop Streaming's contract, without Hadoop: mappers that see only stdin
# and stdout (the mapreduce_* variables set, fd 3 closed, rejects inline),
# a combiner on each map's sorted output, a shuffle that partitions by key
# hash and sorts each partition by key, and reducers that read one
# partition each; the result against one machine.

load helper

RULES="$ETL_ROOT/pipelines/rules/offers.rules.json"
SCHEMA="$ETL_ROOT/pipelines/schemas/offers.schema.json"
GROUP="-g municipality,scraping_date:month -a count,median:price_per_m2,p10:price_per_m2,p90:price_per_m2"
FIT="-y price -x living_area -c property_type --log-y"

setup() {
	cd "$BATS_TEST_TMPDIR"
	etl-fetch -q "$ETL_ROOT/data/sample.json" 3>&- >offers.ndjson 2>/dev/null
	# Some lines no tool can read, so rejects travel through the job too.
	{ head -40 offers.ndjson; echo '{"id":"broken"'; sed -n '41,$p' offers.ndjson; } >input.ndjson
	split -n l/3 -d input.ndjson split.
}

# stream MAPPER COMBINER REDUCER NREDUCE: runs the job as Hadoop would,
# each command under sh -c with stdin and stdout only; out.NN per reducer.
stream() {
	map=$1 combine=$2 reduce=$3 nreduce=$4
	i=0
	for s in split.*; do
		mapreduce_task_id=attempt_m_$i mapreduce_map_input_file=$s \
		    mapreduce_job_id=job_1 sh -c "$map" <"$s" 3>&- 2>>map.log >map.$i.raw
		# Each map's output, sorted by key, through the combiner.
		LC_ALL=C sort -t "$(printf '\t')" -k1,1 -s map.$i.raw |
		    mapreduce_task_id=attempt_c_$i sh -c "$combine" 3>&- 2>>combine.log >map.$i.out
		i=$((i + 1))
	done
	# The shuffle: a reducer by the key's hash, each partition sorted by key.
	cat map.*.out | /usr/bin/python3 -c '
import sys, zlib
n = int(sys.argv[1])
outs = [open("part.%02d" % i, "w") for i in range(n)]
for line in sys.stdin:
    key = line.split("\t", 1)[0]
    outs[zlib.crc32(key.encode()) % n].write(line)
' "$nreduce"
	for p in part.*; do
		LC_ALL=C sort -t "$(printf '\t')" -k1,1 -s "$p" |
		    mapreduce_task_id=attempt_r_${p#part.} sh -c "$reduce" 3>&- 2>>reduce.log >"out.${p#part.}"
	done
}

# The rejects of a stdout-only job: their tool and reason codes, sorted.
reject_kinds() {
	grep -h "^__reject" "$@" | cut -f2- | jq -r '"\(.tool) \(.record.id // .raw) \([.reasons[].code] | join(","))"' | sort
}

@test "etl-agg as mapper, combiner and reducer equals one machine, rejects included" {
	stream "etl-clean --rules $RULES --rejects inline | etl-check -s $SCHEMA --rejects inline | etl-agg --partial $GROUP --rejects inline" \
	    "etl-agg --merge --partial $GROUP --rejects inline" \
	    "etl-agg --merge $GROUP --rejects inline" 2
	# shellcheck disable=SC2086
	etl-clean --rules "$RULES" input.ndjson 3>rej.clean 2>/dev/null |
	    etl-check -s "$SCHEMA" 3>rej.check 2>/dev/null |
	    etl-agg $GROUP 3>&- 2>/dev/null >want
	cat out.* | grep -v "^__reject" | jq -cS . | sort >got
	jq -cS . want | sort >want.sorted
	cmp want.sorted got
	[ "$(lines got)" -gt 40 ]
	# Every reject of one machine reached the reducers' output, with its reasons.
	reject_kinds out.* >got.rejects
	sed 's/^/__reject\t/' rej.clean rej.check | reject_kinds /dev/stdin >want.rejects
	cmp want.rejects got.rejects
	assert_eq "$(lines got.rejects)" 9
	grep -qF 'etl-clean {"id":"broken" parse' got.rejects
}

@test "etl-model fit as mapper, combiner and reducer equals one machine, one command line" {
	stream "etl-clean --rules $RULES --rejects inline | etl-check -s $SCHEMA --rejects inline | etl-model fit --partial $FIT --rejects inline" \
	    "etl-model fit --merge --partial $FIT --rejects inline" \
	    "etl-model fit --merge $FIT --rejects inline" 2
	# shellcheck disable=SC2086
	etl-clean --rules "$RULES" input.ndjson 3>&- 2>/dev/null |
	    etl-check -s "$SCHEMA" 3>&- 2>/dev/null | etl-model fit $FIT 3>&- 2>/dev/null >want
	cat out.* | grep -v "^__reject" >got
	assert_eq "$(lines got)" 1
	$PY "$ETL_ROOT/tests/model_ref.py" same want got
	assert_eq "$(reject_kinds out.* | wc -l)" 9
}

@test "a reducer holds one key at a time: sorted input, output in key order" {
	stream "etl-clean --rules $RULES --rejects inline | etl-check -s $SCHEMA --rejects inline | etl-agg --partial -g property_type -a count --rejects inline" \
	    "cat" "etl-agg --merge -g property_type -a count --rejects inline --stats st.\$mapreduce_task_id.json" 1
	etl-clean --rules "$RULES" input.ndjson 3>&- 2>/dev/null |
	    etl-check -s "$SCHEMA" 3>&- 2>/dev/null | jq -r .property_type | sort | uniq -c |
	    awk '{printf "%s %s ", $2, $1}' >want
	assert_eq "$(grep -v '^__reject' out.00 | jq -r '"\(.property_type) \(.count)"' | tr '\n' ' ')" "$(cat want)"
	assert_eq "$(grep -vc '^__reject' out.00)" 2
	# The reducer counted the passed rejects apart: in = aggregated + rejected.
	jq -e '.in == .aggregated + .rejected and .in == 6 and .passed_rejects == 9' st.attempt_r_00.json
}

@test "a map task run twice (a speculative attempt) changes nothing" {
	stream "etl-clean --rules $RULES --rejects inline | etl-check -s $SCHEMA --rejects inline | etl-agg --partial $GROUP --rejects inline" \
	    "cat" "etl-agg --merge $GROUP --rejects inline" 1
	cp out.00 first
	rm -f map.* part.* out.*
	stream "etl-clean --rules $RULES --rejects inline | etl-check -s $SCHEMA --rejects inline | etl-agg --partial $GROUP --rejects inline" \
	    "cat" "etl-agg --merge $GROUP --rejects inline" 1
	cmp first out.00
}
