#!/usr/bin/env bats
# etl-notify: file, webhook and SMTP targets, retries, dead targets.

load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}

# Waits until the server wrote its port file.
wait_port() {
	local i
	for i in $(seq 1 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	echo "server did not start: $1" >&2
	return 1
}

# start_webhook NAME FAILS [STATUS]: sets HOOK_URL; requests in NAME.log.
start_webhook() {
	"$PY" "$ETL_ROOT/tests/webhook.py" "$1.port" "$1.log" "$2" "${3:-503}" &
	PIDS+=($!)
	wait_port "$1.port"
	HOOK_URL="http://127.0.0.1:$(cat "$1.port")/hook"
}

# start_smtpd NAME [FAILS]: sets SMTP_URL; mail in NAME/.
start_smtpd() {
	"$PY" "$ETL_ROOT/tests/smtpd.py" "$1.port" "$1" "${2:-0}" &
	PIDS+=($!)
	wait_port "$1.port"
	SMTP_URL="smtp://127.0.0.1:$(cat "$1.port")"
}

# A port nothing listens on.
closed_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Prints the mail's headers and decoded text as JSON.
read_mail() {
	"$PY" -c '
import email, email.policy, json, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print(json.dumps({"subject": str(m["subject"]), "from": str(m["from"]), "to": str(m["to"]),
    "date": str(m["date"]), "message_id": str(m["message-id"]), "bcc": m["bcc"],
    "ctype": m.get_content_type(), "charset": m.get_content_charset(),
    "text": m.get_content(), "defects": len(m.defects)}))' "$1"
}

# The JSON summary at the end of a mail's text.
mail_json() {
	jq -r .text "$1" | sed -n '/^Summary (JSON):$/,$p' | tail -n +2 | jq -c .
}

@test "notify: a message to a file, enriched with run_id, host and time" {
	run_split etl-notify --file alerts.ndjson "disk" "almost full"
	assert_eq "$status" 0
	assert_eq "$(lines alerts.ndjson)" 1
	assert_eq "$(jq -c '[.message,.run_id,.host]' alerts.ndjson)" "[\"disk almost full\",\"test-run\",\"$(hostname)\"]"
	t=$(jq -r .time alerts.ndjson)
	[ $(( $(date -u +%s) - $(date -u -d "$t" +%s) )) -le 5 ]
	assert_eq "$output" '{"kind":"file","target":"alerts.ndjson","delivered":true,"attempts":1}'
	assert_eq "$(tail -n1 "$stderr_file")" "etl-notify: 1 target, 1 delivered, 0 failed"
	# A second one appends.
	etl-notify -q --file alerts.ndjson "again" >/dev/null
	assert_eq "$(jq -r .message alerts.ndjson | tail -n1)" again
}

@test "notify: a JSON summary on stdin is kept; text and broken JSON go as text" {
	printf '{"step":"fetch","status":75,"run_id":"keep-me","n":1.10}\n' | etl-notify -q --file a.ndjson >/dev/null
	assert_eq "$(jq -c '[.step,.status,.run_id,.n,has("host"),has("time")]' a.ndjson)" '["fetch",75,"keep-me",1.1,true,true]'
	printf 'line 1\nline 2 \xff\n' | etl-notify -q --file b.ndjson >/dev/null
	assert_eq "$(jq -r .message b.ndjson)" $'line 1\nline 2 \uFFFD'
	run_split bash -c 'printf "{\"step\": \"fetch\", " | etl-notify --file c.ndjson'
	assert_eq "$status" 0
	assert_contains "$stderr_file" "<stdin>:1:"
	assert_contains "$stderr_file" "not a JSON object"
	assert_eq "$(jq -r .message c.ndjson)" '{"step": "fetch",'
	# An array is no object either.
	printf '[1,2]' | etl-notify -q --file d.ndjson >/dev/null
	assert_eq "$(jq -r .message d.ndjson)" '[1,2]'
}

@test "notify: a webhook that fails twice gets the JSON on the third attempt" {
	start_webhook hook 2
	run_split etl-notify --webhook "$HOOK_URL" --file same.ndjson "fetch failed"
	assert_eq "$status" 0
	assert_eq "$(lines hook.log)" 3
	assert_eq "$(jq -r .status hook.log | tr '\n' ' ')" "503 503 200 "
	assert_eq "$(jq -r '.content_type' hook.log | sort -u)" "application/json"
	assert_eq "$(jq -r '.path' hook.log | sort -u)" "/hook"
	# The body is the enriched message, the same as the file's line.
	assert_eq "$(tail -n1 hook.log | jq -r .body)" "$(cat same.ndjson)"
	assert_eq "$(head -n1 "$stdout_file" | jq -c '[.kind,.delivered,.attempts]')" '["webhook",true,3]'
	assert_eq "$(grep -c 'attempt .* failed: HTTP 503; retrying in' "$stderr_file")" 2
}

@test "notify: a mail reaches the SMTP server with subject, text and JSON" {
	start_smtpd mail
	printf '{"step":"check","status":65,"log_tail":"gate max-rejects tripped\\nétage"}' >summary.json
	run_split etl-notify --smtp "$SMTP_URL" --from etl@example.org --to oncall@example.org --to ops@example.org <summary.json
	assert_eq "$status" 0
	assert_eq "$(jq -c . mail/1.json)" '{"mail_from":"etl@example.org","rcpt_tos":["oncall@example.org","ops@example.org"]}'
	read_mail mail/1.eml >m.json
	assert_eq "$(jq -c '[.subject,.from,.to,.bcc,.ctype,.charset,.defects]' m.json)" \
	    '["etl: check failed (status 65)","etl@example.org","oncall@example.org, ops@example.org",null,"text/plain","utf-8",0]'
	jq -r .message_id m.json | grep -Eq '^<[^<>@]+@[^<>@]+>$'
	assert_eq "$(mail_json m.json | jq -c 'del(.time,.host)')" \
	    '{"step":"check","status":65,"log_tail":"gate max-rejects tripped\nétage","run_id":"test-run"}'
	# Lines of the raw mail are CRLF and short.
	awk '{ if (length($0) > 78) exit 1 }' mail/1.eml
	assert_eq "$(grep -c $'\r$' mail/1.eml)" "$(lines mail/1.eml)"
}

@test "notify: subjects are encoded and cannot inject headers" {
	start_smtpd mail
	etl-notify -q --smtp "$SMTP_URL/" --from a@example.org --to b@example.org \
	    --subject $'Grüße aus Zürich: Preise für Wohnungen und Häuser sind gestiegen!\r\nBcc: evil@example.org' "text" >/dev/null
	read_mail mail/1.eml >m.json
	assert_eq "$(jq -r .subject m.json)" \
	    'Grüße aus Zürich: Preise für Wohnungen und Häuser sind gestiegen!  Bcc: evil@example.org'
	assert_eq "$(jq -c '[.bcc,.defects]' m.json)" '[null,0]'
	assert_eq "$(jq -c .rcpt_tos mail/1.json)" '["b@example.org"]'
	grep -q '^Subject: =?UTF-8?B?' mail/1.eml
	# The default subject is the message's first line.
	etl-notify -q --smtp "$SMTP_URL" --from a@example.org --to b@example.org $'first line\nsecond' >/dev/null
	read_mail mail/2.eml >m2.json
	assert_eq "$(jq -r .subject m2.json)" "etl: first line"
	assert_eq "$(jq -r .text m2.json | head -2)" $'first line\nsecond'
}

@test "notify: a summary reaches a flaky webhook and an SMTP server (issue 8)" {
	start_webhook hook 2
	start_smtpd mail
	printf '{"run_id":"r-42","steps":{"fetch":{"in":100,"out":92,"rejected":8}},"status":0}\n' >summary.json
	run_split etl-notify --webhook "$HOOK_URL" --smtp "$SMTP_URL" --from etl@example.org --to oncall@example.org <summary.json
	assert_eq "$status" 0
	assert_eq "$(jq -r .status hook.log | tr '\n' ' ')" "503 503 200 "
	assert_eq "$(tail -n1 hook.log | jq -r .body | jq -c '[.run_id,.steps.fetch.out]')" '["r-42",92]'
	read_mail mail/1.eml >m.json
	assert_eq "$(mail_json m.json | jq -c '[.run_id,.steps.fetch.rejected]')" '["r-42",8]'
	assert_eq "$(jq -s -c 'map(.delivered)' "$stdout_file")" '[true,true]'
	assert_eq "$(tail -n1 "$stderr_file")" "etl-notify: 2 targets, 2 delivered, 0 failed"
}

@test "notify: an SMTP 4xx is retried" {
	start_smtpd mail 2
	run_split etl-notify --backoff 0.05 --smtp "$SMTP_URL" --from a@example.org --to b@example.org "retry me"
	assert_eq "$status" 0
	assert_eq "$(jq -c '[.delivered,.attempts]' "$stdout_file")" '[true,3]'
	assert_contains "$stderr_file" "SMTP 451"
	assert_eq "$(ls mail/*.eml | wc -l | tr -d ' ')" 1
}

@test "notify: a dead target is 69 within its retry budget; the others still get it" {
	port=$(closed_port)
	start=$(date +%s%N)
	run_split etl-notify --webhook "http://127.0.0.1:$port/hook" --file alerts.ndjson "dead"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_eq "$status" 69
	# 4 attempts, delays of at most 0.5 + 1 + 2 seconds.
	[ "$ms" -lt $((4000 + $(slack 2) * 1000)) ]
	assert_eq "$(grep -c 'retrying in' "$stderr_file")" 3
	assert_contains "$stderr_file" "webhook http://127.0.0.1:$port/hook: unreachable after 4 attempts"
	assert_eq "$(tail -n1 "$stderr_file")" "etl-notify: 2 targets, 1 delivered, 1 failed"
	assert_eq "$(jq -r .message alerts.ndjson)" dead
	assert_eq "$(jq -s -c 'map([.kind,.delivered,.attempts])' "$stdout_file")" '[["webhook",false,4],["file",true,1]]'
	# SMTP too, with no retries.
	run_split etl-notify --retries 0 --smtp "smtp://127.0.0.1:$port" --from a@example.org --to b@example.org "dead"
	assert_eq "$status" 69
	assert_contains "$stderr_file" "smtp smtp://127.0.0.1:$port/: unreachable after 1 attempt:"
}

@test "notify: a server that never answers is bounded by --timeout" {
	"$PY" -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)' mute.port &
	PIDS+=($!)
	wait_port mute.port
	start=$(date +%s%N)
	run_split etl-notify --timeout 0.3 --retries 1 --backoff 0.1 --webhook "http://127.0.0.1:$(cat mute.port)/" "slow"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_eq "$status" 69
	[ "$ms" -lt $((1000 + $(slack 2) * 1000)) ]
	assert_contains "$stderr_file" "unreachable after 2 attempts"
	assert_contains "$stderr_file" "timed out"
}

@test "notify: HTTP 4xx is permanent, 429 is retried" {
	start_webhook bad 100 400
	run_split etl-notify --webhook "$HOOK_URL" "x"
	assert_eq "$status" 69
	assert_eq "$(lines bad.log)" 1
	assert_contains "$stderr_file" "not delivered: HTTP 400 (permanent, not retried)"
	start_webhook busy 1 429
	run_split etl-notify --backoff 0.05 --webhook "$HOOK_URL" "x"
	assert_eq "$status" 0
	assert_eq "$(lines busy.log)" 2
}

@test "notify: credentials never show" {
	port=$(closed_port)
	run_split etl-notify --retries 1 --backoff 0 --webhook "http://user:s3cr3t@127.0.0.1:$port/hook?token=t0k3n" "x"
	assert_eq "$status" 69
	assert_contains "$stderr_file" "http://***@127.0.0.1:$port/hook?***"
	! grep -q -e s3cr3t -e t0k3n -e user "$stderr_file" "$stdout_file"
	run_split etl-notify --smtp "smtp://me:s3cr3t@127.0.0.1:$port" --from a@example.org --to b@example.org "x"
	assert_eq "$status" 64
	assert_contains "$stderr_file" "credentials in the URL; set ETL_SMTP_USER and ETL_SMTP_PASSWORD"
	! grep -q s3cr3t "$stderr_file"
	run_split env ETL_SMTP_USER=me etl-notify --smtp "smtp://127.0.0.1:$port" --from a@example.org --to b@example.org "x"
	assert_eq "$status" 78
	assert_contains "$stderr_file" "ETL_SMTP_USER is set but ETL_SMTP_PASSWORD is not"
}

@test "notify: bad usage is 64" {
	while IFS='|' read -r args msg; do
		# shellcheck disable=SC2086
		run_split etl-notify $args </dev/null
		assert_eq "$status" 64
		assert_contains "$stderr_file" "$msg"
		assert_contains "$stderr_file" "usage: etl-notify"
	done <<'EOF'
x|no target
--bogus --file a x|unrecognized option
--smtp smtp://127.0.0.1:25 x|--smtp needs --from and --to
--file a --from a@b.c x|--from and --to are for --smtp
--webhook ftp://127.0.0.1/ x|scheme ftp not supported
--webhook nourl x|not a URL
--smtp http://127.0.0.1/ --from a@b.c --to c@d.e x|scheme http not supported
--smtp smtp://h/?tls --from a@b.c --to c@d.e x|unknown query
--smtp smtp://h --from a --to c@d.e x|--from: "a": expected an address
--smtp smtp://h --from a@b.c --to <c@d.e> x|--to: "<c@d.e>": expected an address
--file a --retries x x|--retries x: expected a number
--file a --retries 1.5 x|expected a whole number
--file a --timeout 0 x|--timeout 0: expected a number
--file a|no message
EOF
	[ ! -e a ]
	run_split etl-notify -h
	assert_eq "$status" 0
	assert_contains "$stdout_file" "usage: etl-notify [-hq]"
}

@test "notify: a file that cannot be written is 69, named" {
	run_split etl-notify --file nodir/alerts.ndjson --file ok.ndjson "x"
	assert_eq "$status" 69
	assert_contains "$stderr_file" "file nodir/alerts.ndjson: not delivered: No such file or directory"
	assert_eq "$(lines ok.ndjson)" 1
}

@test "notify: 20 concurrent writers leave 20 whole lines" {
	big=$(head -c 300000 /dev/zero | tr '\0' 'x')
	for i in $(seq 1 20); do
		printf '{"writer":%d,"pad":"%s"}' "$i" "$big" | etl-notify -q --file shared.ndjson >/dev/null &
	done
	wait
	assert_eq "$(lines shared.ndjson)" 20
	assert_eq "$(jq -r .writer shared.ndjson | sort -n | tr '\n' ' ')" "$(seq 1 20 | tr '\n' ' ')"
	assert_eq "$(jq -r '.pad|length' shared.ndjson | sort -u)" 300000
}

@test "notify: a full stdout is 74 after delivery, a closed pipe is quiet" {
	run bash -c 'etl-notify -q --file a.ndjson x >/dev/full'
	assert_eq "$status" 74
	assert_eq "$(lines a.ndjson)" 1
	run bash -c 'etl-notify -q --file b.ndjson --file b.ndjson x | head -1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_eq "$output" 0
	assert_eq "$(lines b.ndjson)" 2
	# A failure stays a failure when nobody reads the report.
	run bash -c 'etl-notify -q --file nodir/x y 2>/dev/null | head -c0; echo "${PIPESTATUS[0]}"'
	assert_eq "$output" 69
}

@test "notify: the man page EXAMPLES run" {
	start_webhook hook 0
	start_smtpd mail
	WEBHOOK_URL=$HOOK_URL
	printf '{"run_id":"r-1","status":0}' >summary.json
	printf '{"type":"object"}' >offers.schema.json
	while IFS= read -r line; do
		eval "$line" >>examples.out 2>>examples.err
	done < <(man_examples "$ETL_ROOT/man/etl-notify.1")
	assert_eq "$(jq -r .message alerts.ndjson | head -1)" "disk almost full on the lake"
	assert_eq "$(sed -n 2p alerts.ndjson | jq -r .step)" check
	[ "$(sed -n 2p alerts.ndjson | jq -r .status)" -ne 0 ]
	assert_eq "$(jq -r .body hook.log | jq -r .run_id)" r-1
	assert_eq "$(jq -c .rcpt_tos mail/1.json)" '["oncall@example.org"]'
	assert_eq "$(mandoc -Tlint -W warning "$ETL_ROOT/man/etl-notify.1")" ""
}
