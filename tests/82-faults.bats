#!/usr/bin/env bats
# Fault injection: writes that fail (/dev/full, and tests/bin/faultinject.so
# failing the Nth write, fsync or rename), etl-store killed at random points
# of its run, and network tools against a server that hangs, resets or
# sends a truncated body.  Every failure must end with a clear message and
# its status, lose no committed data and leave the store readable.

load helper

SHIM="$ETL_ROOT/tests/bin/faultinject.so"

setup_file() {
	export F="$BATS_FILE_TMPDIR"
	[ -f "$SHIM" ] || make -C "$ETL_ROOT" -s tests/bin/faultinject.so
	# 15000 good records and 3000 bad lines: two stdout writes (1 MiB
	# each) and several reject writes (64 KiB each).
	"$PY" -c '
for i in range(15000):
    print("{\"id\":\"r%d\",\"price\":%d,\"area\":%d,\"city\":\"c%d\",\"date\":\"2021-02-%02d\"}"
          % (i, i * 10 + 1, i % 97 + 3, i % 7, i % 28 + 1))
for i in range(3000):
    print("not json %d" % i)' >"$F/many.ndjson"
	printf '%s\n' '{"fields": {"price": {"type": "number"}}}' >"$F/rules.json"
	printf '%s\n' '{"type": "object", "required": ["id"]}' >"$F/schema.json"
	etl-model fit -y price -x area "$F/many.ndjson" 2>/dev/null 3>&- \
	    >"$F/model.ndjson"
	cat >"$F/badhttp.py" <<'EOF'
"""A bad HTTP server: badhttp.py PORTFILE.  By the request's path:
/hang* reads the request and never answers, /reset* sends the headers
and part of the body then resets the connection, /short* sends less body
than its Content-Length and closes."""
import socket, socketserver, struct, sys, time

BODY = b'{"id":"a"}\n{"id":"b"}\n'
HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
        b"Content-Length: 100000\r\n\r\n")


class Bad(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ", 2)[1]
        if path.startswith(b"/hang"):
            time.sleep(3600)
        elif path.startswith(b"/reset"):
            s.sendall(HEAD + BODY)
            time.sleep(0.05)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.close()
        else:
            s.sendall(HEAD + BODY)
            s.shutdown(socket.SHUT_WR)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Bad)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
EOF
}

# The tools as run on $F/many.ndjson, one a line.
tools_on_many() {
	cat <<EOF
etl-fetch $F/many.ndjson
etl-clean -r $F/rules.json $F/many.ndjson
etl-check -s $F/schema.json $F/many.ndjson
etl-agg -g city -a count,mean:price $F/many.ndjson
etl-model fit -y price -x area $F/many.ndjson
etl-model predict -m $F/model.ndjson $F/many.ndjson
etl-store --root $BATS_TEST_TMPDIR/store --by city $F/many.ndjson
EOF
}

# Preloads the shim; ASan wants to be first otherwise.
shim() {
	env LD_PRELOAD="$SHIM" \
	    ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" "$@"
}

@test "every tool: a full disk on stdout (/dev/full) is status 74 with a message" {
	local fails='' cmd st
	while read -r cmd; do
		rm -rf "$BATS_TEST_TMPDIR/store"
		st=0
		# shellcheck disable=SC2086
		$cmd 3>/dev/null >/dev/full 2>"$BATS_TEST_TMPDIR/err" || st=$?
		if [ "$st" != 74 ] || ! grep -q "stdout: No space left on device" \
		    "$BATS_TEST_TMPDIR/err"; then
			fails="$fails$cmd: $st $(head -c 200 "$BATS_TEST_TMPDIR/err")"$'\n'
		fi
	done < <(tools_on_many
		echo "etl-params --date 2021-02-17"
		echo "etl-notify --file $BATS_TEST_TMPDIR/alerts.ndjson hello")
	[ -z "$fails" ] || { printf '%s' "$fails" >&2; return 1; }
}

@test "every filter: the Nth write on stdout or fd 3 failing (ENOSPC, EIO) is 74" {
	local fails='' cmd n e fd msg where fault
	while read -r cmd; do
		for fault in 1:1:ENOSPC 1:2:EIO 3:1:EIO 3:3:ENOSPC; do
			IFS=: read -r fd n e <<<"$fault"
			# etl-store's stdout is the list of files once committed
			# (the /dev/full test); etl-agg's and fit's is one write.
			[ "${cmd%% *}" = etl-store ] && [ "$fd" = 1 ] && continue
			case $cmd in
			etl-agg*|*fit*) [ "$fd" = 1 ] && [ "$n" != 1 ] && continue ;;
			esac
			rm -rf "$BATS_TEST_TMPDIR/store" "$BATS_TEST_TMPDIR/log"
			# shellcheck disable=SC2086
			run_split shim FAULT_WRITE="$n" FAULT_WRITE_FD="$fd" \
			    FAULT_ERRNO="$e" FAULT_LOG="$BATS_TEST_TMPDIR/log" \
			    $cmd 3>"$BATS_TEST_TMPDIR/rej"
			msg="No space left on device"
			[ "$e" = EIO ] && msg="Input/output error"
			where=stdout
			[ "$fd" = 3 ] && where=rejects
			if [ "$status" != 74 ] ||
			    ! grep -q "^write $n $e" "$BATS_TEST_TMPDIR/log" ||
			    ! grep -q "$where: $msg" "$stderr_file"; then
				fails="$fails$cmd (write $n on fd $fd, $e): $status $(head -c 200 "$stderr_file")"$'\n'
			fi
		done
	done < <(tools_on_many)
	[ -z "$fails" ] || { printf '%s' "$fails" >&2; return 1; }
	# etl-store stores nothing when its rejects cannot be written.
	run_split shim FAULT_WRITE=1 FAULT_WRITE_FD=3 etl-store \
	    --root "$BATS_TEST_TMPDIR/s2" --by city "$F/many.ndjson" \
	    3>"$BATS_TEST_TMPDIR/rej"
	assert_eq "$status" 74
	assert_eq "$(find "$BATS_TEST_TMPDIR/s2" -name '*.zst' | wc -l)" 0
}

# A work directory for the store loops: on tmpfs when there is one, so
# that a hundred commits do not wait on a real disk's fsyncs (the shim's
# FAULT_SLOW_US makes the disk as slow as the test wants).
store_workdir() {
	if [ -d /dev/shm ] && [ -w /dev/shm ]; then
		W=$(mktemp -d /dev/shm/etl-faults.XXXXXX)
	else
		W="$BATS_TEST_TMPDIR/w"
		mkdir -p "$W"
	fi
	cd "$W" || return 1
}

teardown() {
	if [ -n "${server_pid:-}" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	case ${W:-} in /dev/shm/etl-faults.*) rm -rf "$W" ;; esac
}

# Two versions of a table of small partitions: new replaces two of old's
# four partitions, leaves two alone and adds two; the old one is stored
# in pristine.  Each kind of partition is there, and every step of a
# commit repeats for each: more would add failure points, not kinds.
make_old_new() {
	"$PY" -c '
import json
for tag, parts in (("old", range(4)), ("new", range(2, 6))):
    with open(tag + ".ndjson", "w") as f:
        for p in parts:
            for r in range(3):
                f.write(json.dumps({"id": "%s-%d-%d" % (tag, p, r),
                                    "k": "p%02d" % p, "v": r}) + "\n")'
	ETL_RUN_ID=old etl-store --root pristine --by k old.ndjson \
	    >/dev/null 2>&1 3>&-
}

# Copies (with -m: moves) the store st to snap/$1 and notes in checks.txt
# what it must read back as: old, new, or either (each partition old or
# new, none partial or missing).  The loops below start few processes
# per step: under the sanitizers each costs a tenth of a second.
note_store() {
	if [ "$1" = -m ]; then
		shift
		mv st "snap/$1"
	else
		cp -a st "snap/$1"
	fi
	echo "$2 $1 $3" >>checks.txt
}

# Reads every copy back with one etl-fetch (one for each copy only when
# that fails, to name the ones that do not read back) and checks every
# line of checks.txt at once.
check_stores() {
	local name
	if ! etl-fetch --provenance snap/* >snap.ndjson 2>snap.err 3>&-; then
		: >snap.ndjson
		for name in snap/*; do
			etl-fetch --provenance "$name" >>snap.ndjson \
			    2>"$name.err" 3>&- || echo "etl-fetch failed" >>"$name.err"
		done
	fi
	run "$PY" - old.ndjson new.ndjson checks.txt snap.ndjson <<'EOF'
import collections, json, os, sys

old_f, new_f, checks, snaps = sys.argv[1:]


def parts(records):
    p = collections.defaultdict(list)
    for r in records:
        r.pop("_src", None)
        p[r["k"]].append(json.dumps(r, sort_keys=True))
    return {k: sorted(v) for k, v in p.items()}


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


# The records of each copy, by the copy's name in their _src.
copies = collections.defaultdict(list)
for r in read(snaps):
    copies[r["_src"]["file"].split("/")[1]].append(r)
old, new = parts(read(old_f)), parts(read(new_f))
after = dict(old)
after.update(new)
bad = []
for line in open(checks):
    state, name, label = line.rstrip("\n").split(" ", 2)
    err = "snap/%s.err" % name
    if os.path.exists(err) and "etl-fetch failed" in open(err).read():
        bad.append("%s: the store does not read back: %s" %
                   (label, open(err).read()))
        continue
    got = parts(copies[name])
    if state == "old" and got != old:
        bad.append("%s: not the old data: %s" % (label, sorted(got)))
    elif state == "new" and got != after:
        bad.append("%s: not the new data: %s" % (label, sorted(got)))
    for k in sorted(set(old) | set(after) | set(got)):
        if got.get(k) not in (old.get(k), after.get(k)):
            bad.append("%s: partition %s neither old nor new: %s" %
                       (label, k, got.get(k)))
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
	if [ "$status" != 0 ]; then
		printf '%s\n' "$output" >&2
		return 1
	fi
}

# The state the commit "new" left, in $hit: new once its manifest is
# written and its journal gone, either while the journal is there, else
# old.
commit_state() {
	if [ -e st/_commits/.new.pending ]; then
		hit=either
	elif [ -e st/_commits/new.json ]; then
		hit=new
	else
		hit=old
	fi
}

@test "etl-store: fsync, rename and part writes failing at every point keep the store whole" {
	store_workdir
	make_old_new
	local kind n hit i=0 st err
	mkdir snap
	for kind in FSYNC RENAME WRITE; do
		for ((n = 1; n <= 80; n++)); do
			rm -rf log st
			cp -a pristine st
			st=0
			shim "FAULT_$kind=$n" FAULT_WRITE_FD=file FAULT_ERRNO=EIO \
			    FAULT_LOG=log ETL_RUN_ID=new etl-store --root st --by k \
			    new.ndjson >/dev/null 2>err 3>&- || st=$?
			if [ ! -s log ]; then
				# Past the last call: the run must have succeeded.
				assert_eq "$kind $n $st" "$kind $n 0"
				break
			fi
			read -r -d '' err <err || true
			if [ "$st" != 74 ] || [[ $err != *"Input/output error"* ]]; then
				echo "$kind $n: status $st: $err" >&2
				return 1
			fi
			i=$((i + 1))
			commit_state
			# Before the journal, nothing of the run is visible.
			note_store "r$i.a" "$hit" "$kind $n, right after the failure"
			# The next run finishes a decided commit or drops the rest.
			ETL_RUN_ID=next etl-store --root st --by k </dev/null \
			    >/dev/null 2>&1 3>&-
			[ "$hit" = old ] || hit=new
			note_store -m "r$i.b" "$hit" "$kind $n, after the next run"
		done
		[ "$n" -lt 80 ] || { echo "$kind: over 80 calls" >&2; return 1; }
	done
	# Enough points were hit to cover the commit, not only the staging.
	echo "# $i failure points" >&3
	[ "$i" -ge 30 ]
	check_stores
}

@test "etl-store: 60 SIGKILLs and SIGTERMs at random points never leave a partial store" {
	store_workdir
	make_old_new
	# How long one run takes on a slow disk (1 ms per fsync and rename;
	# 30 ms under valgrind, whose start and leak check would otherwise
	# leave the commit too small a part of the run to be hit).
	local t0 t1 span us delay i sig pid st hit slow=1000
	[ "${VALGRIND:-}" = 1 ] && slow=30000
	mkdir snap
	cp -a pristine st
	t0=$(date +%s%N)
	shim FAULT_SLOW_US=$slow ETL_RUN_ID=new etl-store --root st --by k \
	    new.ndjson >/dev/null 2>&1 3>&-
	t1=$(date +%s%N)
	span=$(((t1 - t0) / 1000))
	note_store -m r0 new "an uninterrupted run"
	RANDOM=42
	declare -A seen=()
	for ((i = 1; i <= 60; i++)); do
		cp -a pristine st
		sig=KILL
		[ $((i % 3)) = 0 ] && sig=TERM
		# env execs the tool (and a valgrind wrapper execs valgrind):
		# $! is the store's own pid.
		env LD_PRELOAD="$SHIM" FAULT_SLOW_US=$slow ETL_RUN_ID=new \
		    ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
		    etl-store --root st --by k new.ndjson >/dev/null 2>err 3>&- &
		pid=$!
		us=$(( (RANDOM * 32768 + RANDOM) % (span + span / 5 + 1) ))
		printf -v delay '%d.%06d' $((us / 1000000)) $((us % 1000000))
		sleep "$delay"
		kill -s "$sig" "$pid" 2>/dev/null || true
		st=0
		wait "$pid" || st=$?
		commit_state
		seen[$sig-$hit-$st]=1
		# SIGTERM is held once the journal is written: never half a commit.
		if [ "$sig" = TERM ] && [ "$hit" = either ]; then
			echo "kill $i: SIGTERM left a journal" >&2
			return 1
		fi
		note_store "r$i.a" "$hit" "kill $i ($sig, status $st)"
		ETL_RUN_ID=next etl-store --root st --by k </dev/null \
		    >/dev/null 2>&1 3>&-
		[ "$hit" = old ] || hit=new
		note_store -m "r$i.b" "$hit" \
		    "kill $i ($sig, status $st), after the next run"
	done
	echo "# outcomes (signal-state-status): ${!seen[*]}" >&3
	check_stores
	# The kills landed both before and after the commit was decided.
	case " ${!seen[*]} " in *KILL-old-137*) ;; *) return 1 ;; esac
	case " ${!seen[*]} " in *KILL-either-137*|*KILL-new-137*) ;; *) return 1 ;; esac
}

# Starts badhttp.py; sets $port.
bad_server() {
	"$PY" "$F/badhttp.py" "$BATS_TEST_TMPDIR/port" 2>/dev/null &
	server_pid=$!
	for _ in $(seq 100); do
		[ -s "$BATS_TEST_TMPDIR/port" ] && break
		sleep 0.05
	done
	port=$(cat "$BATS_TEST_TMPDIR/port")
}


@test "etl-fetch URL: a server that hangs, resets or cuts the body is 75, nothing emitted" {
	bad_server
	local m t0 t1
	for m in hang reset short; do
		t0=$(date +%s)
		run_split etl-fetch --retries 1 --timeout 2 \
		    "http://127.0.0.1:$port/$m.ndjson" 3>"$BATS_TEST_TMPDIR/rej"
		t1=$(date +%s)
		assert_eq "$m $status" "$m 75"
		# The body had two whole records: none may leave.
		assert_eq "$m $(wc -c <"$stdout_file")" "$m 0"
		assert_contains "$stderr_file" "127.0.0.1:$port/$m.ndjson"
		assert_contains "$stderr_file" "0 in, 0 out, 0 rejected"
		[ $((t1 - t0)) -le $((2 + $(slack 4))) ] ||
		    { echo "$m took $((t1 - t0)) s" >&2; return 1; }
	done
}

@test "etl-notify webhook: a server that hangs, resets or cuts the reply is 69" {
	bad_server
	local m t0 t1
	for m in hang reset short; do
		t0=$(date +%s)
		run_split etl-notify --webhook "http://127.0.0.1:$port/$m" \
		    --retries 1 --timeout 1 --backoff 0.1 "disk full"
		t1=$(date +%s)
		assert_eq "$m $status" "$m 69"
		assert_contains "$stderr_file" "unreachable after 2 attempts"
		assert_contains "$stderr_file" "0 delivered, 1 failed"
		[ $((t1 - t0)) -le $((2 + $(slack 4))) ] ||
		    { echo "$m took $((t1 - t0)) s" >&2; return 1; }
	done
}
