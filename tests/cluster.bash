# cluster.bash - real engines for tests/96-cluster.bats: a Slurm cluster
# of two nodes (munged, slurmctld, slurmd node1 and node2) and two ssh
# workers (sshd on 127.0.0.2 and 127.0.0.3), all on this machine, under
# one temporary directory, each daemon started here and stopped by its
# PID.  Follows /work/shared/cluster/NOTES.md.
# shellcheck shell=bash
# The variables set here are read by the .bats file that loads it.
# shellcheck disable=SC2034

# free_port VAR: sets VAR to a TCP port nobody listens on, from a range
# the kernel does not hand out as an ephemeral port, and not one given
# before.
CLUSTER_PORTS=
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + RANDOM % 12000))
		case " $CLUSTER_PORTS " in *" $p "*) continue ;; esac
		if ! ss -Htln "( sport = :$p )" 2>/dev/null | grep -q .; then
			CLUSTER_PORTS="$CLUSTER_PORTS $p"
			printf -v "$1" %s "$p"
			return 0
		fi
	done
	return 1
}

# Starts a daemon in the background, detached from bats' descriptors
# (bats waits for fd 3 to close), and notes its PID in $CL/pids.
# daemon NAME COMMAND [ARG ...]
daemon() {
	local name=$1
	shift
	"$@" </dev/null >>"$CL/$name.out" 2>&1 3>&- &
	echo "$! $name" >>"$CL/pids"
	# Stopped by its PID here, not as a job of this shell (no "Killed" line).
	disown "$!" 2>/dev/null || :
}

# Waits up to $1 tenths of a second for the command that follows.
wait_for() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# cluster_dir: the temporary directory every daemon lives under, short
# enough for unix socket paths.  Sets CL.
cluster_dir() {
	CL=$(mktemp -d /tmp/etl-cluster.XXXXXX)
	: >"$CL/pids"
	export CL
}

# slurm_start: munged, slurmctld and two slurmd; both nodes idle.  On
# failure returns 1 with the reason in $CL/slurm.why.
slurm_start() {
	local ctl p1 p2 bin
	for bin in munged slurmctld slurmd sbatch scontrol sinfo squeue; do
		command -v "$bin" >/dev/null || [ -x "/usr/sbin/$bin" ] || {
			echo "$bin is not installed (apt-get install slurmctld slurmd slurm-client munge)" >"$CL/slurm.why"
			return 1
		}
	done
	mkdir -p "$CL/munge" "$CL/slurm/state" "$CL/slurm/spool"
	# munge: a random key, mode 400; its socket under $CL.
	head -c 1024 /dev/urandom >"$CL/munge/key"
	chmod 400 "$CL/munge/key"
	chmod 700 "$CL/munge"
	daemon munged /usr/sbin/munged -F --force --key-file="$CL/munge/key" \
	    --socket="$CL/munge/sock" --pid-file="$CL/munge/pid" \
	    --log-file="$CL/munge/log" --seed-file="$CL/munge/seed"
	if ! wait_for 50 test -S "$CL/munge/sock"; then
		echo "munged does not start: $(tail -1 "$CL/munge.out" "$CL/munge/log" 2>/dev/null | tr '\n' ' ')" >"$CL/slurm.why"
		return 1
	fi
	if ! free_port ctl || ! free_port p1 || ! free_port p2; then
		echo "no free port for slurmctld and slurmd" >"$CL/slurm.why"
		return 1
	fi
	SLURM_CONF="$CL/slurm/slurm.conf"
	export SLURM_CONF
	cat >"$SLURM_CONF" <<EOF
ClusterName=etltest
SlurmctldHost=localhost
SlurmctldPort=$ctl
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$CL/munge/sock,cred_expire=${CRED_EXPIRE:-5}
CredType=cred/munge
StateSaveLocation=$CL/slurm/state
SlurmdSpoolDir=$CL/slurm/spool/%n
SlurmctldPidFile=$CL/slurm/slurmctld.pid
SlurmdPidFile=$CL/slurm/slurmd-%n.pid
SlurmctldLogFile=$CL/slurm/slurmctld.log
SlurmdLogFile=$CL/slurm/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=sched_interval=${SCHED_INTERVAL:-1},bf_interval=${SCHED_INTERVAL:-1}
MailProg=/bin/true
ReturnToService=2
RequeueExit=75
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=600
NodeName=node1 NodeHostname=localhost Port=$p1 CPUs=2 State=UNKNOWN
NodeName=node2 NodeHostname=localhost Port=$p2 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
	daemon slurmctld /usr/sbin/slurmctld -D -i -f "$SLURM_CONF"
	daemon slurmd-node1 /usr/sbin/slurmd -D -f "$SLURM_CONF" -N node1
	daemon slurmd-node2 /usr/sbin/slurmd -D -f "$SLURM_CONF" -N node2
	# Both nodes idle.
	if ! wait_for 200 slurm_nodes_idle; then
		echo "slurmctld or slurmd do not start: $(sinfo -h -o '%N %T' 2>&1 | tr '\n' ' ')$(tail -2 "$CL/slurm/slurmctld.log" "$CL/slurmctld.out" 2>/dev/null | tr '\n' ' ')" >"$CL/slurm.why"
		return 1
	fi
}

slurm_nodes_idle() {
	[ "$(sinfo -h -N -o '%N %T' 2>/dev/null | grep -c ' idle$')" -eq 2 ]
}

# sshd_start: two workers, w1 on 127.0.0.2 and w2 on 127.0.0.3, a client
# key and an ssh_config naming them; PARALLEL_SSH set to use it.  On
# failure returns 1 with the reason in $CL/ssh.why.
sshd_start() {
	local i addr port bin
	for bin in /usr/sbin/sshd ssh ssh-keygen rsync parallel; do
		command -v "$bin" >/dev/null || {
			echo "${bin##*/} is not installed (apt-get install openssh-server openssh-client rsync parallel)" >"$CL/ssh.why"
			return 1
		}
	done
	mkdir -p "$CL/ssh" /run/sshd
	chmod 700 "$CL/ssh"
	ssh-keygen -q -t ed25519 -N '' -f "$CL/ssh/client" || return 1
	cp "$CL/ssh/client.pub" "$CL/ssh/authorized_keys"
	: >"$CL/ssh/config"
	: >"$CL/ssh/empty"
	# This machine's ~/.bashrc (pyenv init) costs a second per ssh
	# session; the workers run in a mount namespace where it is empty.
	if [ -s "$HOME/.bashrc" ] && unshare --mount --propagation private \
	    mount --bind "$CL/ssh/empty" "$HOME/.bashrc" 2>/dev/null; then
		touch "$CL/ssh/hide-rc"
	fi
	for i in 1 2; do
		addr=127.0.0.$((i + 1))
		free_port port || { echo "no free port for sshd" >"$CL/ssh.why"; return 1; }
		ssh-keygen -q -t ed25519 -N '' -f "$CL/ssh/host$i" || return 1
		cat >"$CL/ssh/sshd$i.conf" <<EOF
Port $port
HostKey $CL/ssh/host$i
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AuthorizedKeysFile $CL/ssh/authorized_keys
PidFile $CL/ssh/sshd$i.pid
Subsystem sftp internal-sftp
MaxStartups 100
MaxSessions 100
EOF
		echo "$addr" >"$CL/ssh/addr$i"
		sshd_worker "$i"
		cat >>"$CL/ssh/config" <<EOF
Host w$i
	HostName $addr
	Port $port
	User root
	IdentityFile $CL/ssh/client
	IdentitiesOnly yes
	StrictHostKeyChecking no
	UserKnownHostsFile /dev/null
	BatchMode yes
	LogLevel ERROR
	ConnectTimeout 5
	ServerAliveInterval 2
	ServerAliveCountMax 2
EOF
	done
	PARALLEL_SSH="ssh -F $CL/ssh/config"
	export PARALLEL_SSH
	for i in 1 2; do
		if ! wait_for 100 ssh -F "$CL/ssh/config" "w$i" true; then
			echo "sshd w$i does not accept logins: $(tail -2 "$CL/sshd-w$i.out" 2>/dev/null | tr '\n' ' ')" >"$CL/ssh.why"
			return 1
		fi
	done
}

# sshd_worker I: starts the sshd of worker wI from its configuration.
sshd_worker() {
	local i=$1 addr
	addr=$(cat "$CL/ssh/addr$i")
	if [ -e "$CL/ssh/hide-rc" ]; then
		# shellcheck disable=SC2016
		daemon "sshd-w$i" unshare --mount --propagation private sh -c \
		    'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$CL/ssh/empty" "$HOME/.bashrc" \
		    /usr/sbin/sshd -D -e -f "$CL/ssh/sshd$i.conf" -o "ListenAddress=$addr"
	else
		daemon "sshd-w$i" /usr/sbin/sshd -D -e -f "$CL/ssh/sshd$i.conf" -o "ListenAddress=$addr"
	fi
}

# sshd_restart I: worker wI back after a test killed it.
sshd_restart() {
	sshd_worker "$1"
	wait_for 100 ssh -F "$CL/ssh/config" "w$1" true
}

# The PIDs of a process and all its descendants, the process first.
proc_tree() {
	local c
	echo "$1"
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		proc_tree "$c"
	done
}

# The PID of a daemon by its name in $CL/pids.
daemon_pid() {
	awk -v n="$1" '$2 == n { p = $1 } END { print p }' "$CL/pids"
}

# Stops one daemon by its PID: TERM, then KILL after 5 s.
daemon_stop() {
	local pid
	pid=$(daemon_pid "$1")
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	wait_for 50 sh -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || :
}

# cluster_stop: cancels every job, then stops every daemon by its PID,
# newest first, and removes $CL.
cluster_stop() {
	local pid name
	[ -n "${CL:-}" ] && [ -d "$CL" ] || return 0
	if [ -n "${SLURM_CONF:-}" ] && [ -n "$(daemon_pid slurmctld)" ]; then
		scancel --full --quiet --user=root 2>/dev/null || :
		# shellcheck disable=SC2016
		wait_for 100 sh -c '[ -z "$(squeue -h 2>/dev/null)" ]' || :
	fi
	tac "$CL/pids" | while read -r pid name; do
		daemon_stop "$name"
	done
	rm -rf "$CL"
}

# fault DIR TOOL TASK MODE: DIR/TOOL, put before bin/ on PATH, runs the
# real tool except the first time task TASK calls it, when it exits 75
# (MODE exit75) or notes its PID in DIR/TOOL.pid and sleeps, to be killed
# (MODE hang).  Tasks know their number from ETL_TASK (map.sh).
fault() {
	local dir=$1 tool=$2 task=$3 mode=$4
	mkdir -p "$dir"
	cat >"$dir/$tool" <<SH
#!/bin/sh
if [ "\${ETL_TASK:-}" = "$task" ] && mkdir "$dir/$tool.fired" 2>/dev/null; then
	case $mode in
	exit75) echo "fault: $tool exits 75 once" >&2; exit 75 ;;
	hang) echo \$\$ >"$dir/$tool.pid.tmp"; mv "$dir/$tool.pid.tmp" "$dir/$tool.pid"; exec sleep 120 ;;
	esac
fi
exec "$ETL_ROOT/bin/$tool" "\$@"
SH
	chmod +x "$dir/$tool"
}
