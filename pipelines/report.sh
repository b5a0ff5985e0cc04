#!/bin/sh
# report.sh RUN STORE [DB] - what a run did, for a person: offers kept
# and rejected with reasons, where the tables are, the top of the use
# cases, and how to query them (the database the run loaded, DuckDB when
# it is installed).
set -eu
run=$1
store=$2
db=${3:-}
s="$run/summary.json"

jq -r '"Run \(.run_id) (\(.env), \(.dates | join(", "))): \(.status)",
    "  \(.offers.kept) of \(.offers.in) offers kept, \(.offers.rejected) rejected; in = out + rejected: \(.conserved)"' "$s"
echo
echo "Why offers were rejected:"
cat "$run/clean.rejects.ndjson" "$run/check.rejects.ndjson" |
    jq -r '[.reasons[] | "\(.code) \(.path)"] | unique | join(" + ")' |
    sort | uniq -c | sort -rn | sed 's/^/  /'
cat "$run/clean.rejects.ndjson" "$run/check.rejects.ndjson" |
    jq -r '"    \(.record.id // .raw): " + ([.reasons[].message] | join("; "))' | head -10
echo
echo "Tables:"
for t in offers history/offers usecases/price_per_m2 usecases/price_model/predictions usecases/price_model/models; do
	[ -d "$store/$t" ] || continue
	printf '  %-40s %6s records in %s files\n' "$store/$t" \
	    "$(etl-fetch -q "$store/$t" 3>/dev/null | wc -l | tr -d ' ')" \
	    "$(find "$store/$t" -name '*.ndjson.zst' | wc -l | tr -d ' ')"
done
echo
echo "Price per m² by municipality and month (most offers first):"
etl-fetch -q "$store/usecases/price_per_m2" 3>/dev/null |
    jq -s -r 'sort_by(-.count, .municipality) | .[:8][] |
        "  \(.municipality)  \(.scraping_date)  n=\(.count)  median=\(.price_per_m2_median)  p10=\(.price_per_m2_p10)  p90=\(.price_per_m2_p90)"'
echo
echo "Price model:"
etl-fetch -q "$store/usecases/price_model/models" 3>/dev/null |
    jq -r '"  n=\(.n) r2=\(.r2) rmse=\(.rmse) coef=\(.coef | tojson)"'
echo
echo "Run records: $run/  (summary.json, STEP.log, STEP.rejects.ndjson, STEP.stats.json)"
case $db in
sqlite:*)
	echo "Query the database:  sqlite3 ${db#sqlite:} 'SELECT municipality, count(*), round(avg(price_per_m2)) FROM offers GROUP BY 1 ORDER BY 2 DESC LIMIT 5'" ;;
?*)
	echo "Query the database:  psql '$db' -c 'SELECT municipality, count(*), round(avg(price_per_m2)) FROM offers GROUP BY 1 ORDER BY 2 DESC LIMIT 5'" ;;
esac
if command -v duckdb >/dev/null; then
	echo "Query the store:  duckdb -c \"SELECT * FROM read_json('$store/offers/**/*.ndjson.zst', hive_partitioning=true) LIMIT 5\""
fi
