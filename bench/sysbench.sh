#!/usr/bin/env bash
# Compare marmot with MariaDB under sysbench on this machine: both servers
# started the same way (data in a temp dir, 127.0.0.1 only), 16 threads,
# 4 tables x 10,000 rows. Prints a markdown table of tps, qps and p95 latency
# and the marmot/MariaDB ratios.
#
#   bench/sysbench.sh            # or: make bench-sysbench
#   THREADS=8 TIME=30 bench/sysbench.sh
#   ROUNDS=4 TIME=15 bench/sysbench.sh   # means over alternating rounds
#   # A/B two builds of marmotd without MariaDB (also prints marmotd's CPU
#   # per transaction, steadier than tps on a shared machine):
#   ONLY=marmot MARMOTD=/tmp/a/marmotd WORKLOADS=oltp_insert bench/sysbench.sh
#
# Needs: sysbench, mariadb-server (mariadbd, mariadb-install-db), a built
# bin/marmotd (make build).
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-16}
TIME=${TIME:-20}
TABLES=${TABLES:-4}
SIZE=${SIZE:-10000}
WORKLOADS=${WORKLOADS:-"oltp_point_select oltp_insert oltp_read_write"}
MARMOT_PORT=${MARMOT_PORT:-23306}
MARIADB_PORT=${MARIADB_PORT:-23307}
MARMOTD=${MARMOTD:-bin/marmotd}
ONLY=${ONLY:-}
ROUNDS=${ROUNDS:-1}

needed=(sysbench mysql)
[[ "$ONLY" == marmot ]] || needed+=(mariadbd mariadb-install-db)
for bin in "${needed[@]}"; do
	command -v "$bin" >/dev/null || { echo "missing $bin (apt-get install sysbench mariadb-server mariadb-client)" >&2; exit 1; }
done
[[ -x "$MARMOTD" ]] || make build >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source bench/lib.sh

# marmot
MARMOT_MYSQL_BIND_ADDRESS=127.0.0.1 MARMOT_CLUSTER_GRPC_BIND_ADDRESS=127.0.0.1 \
	"$MARMOTD" --data-dir "$work/marmot" --mysql-port "$MARMOT_PORT" --grpc-port $((MARMOT_PORT + 1000)) >"$work/marmot.log" 2>&1 &
marmot_pid=$!
pids+=("$marmot_pid")
if [[ "$ONLY" != marmot ]]; then
	mariadb-install-db --no-defaults --datadir="$work/mariadb" --user=root --auth-root-authentication-method=normal >"$work/mariadb-install.log" 2>&1
	mariadbd --no-defaults --datadir="$work/mariadb" --user=root --bind-address=127.0.0.1 --port="$MARIADB_PORT" \
		--socket="$work/mariadb.sock" --skip-grant-tables --innodb-buffer-pool-size=256M >"$work/mariadb.log" 2>&1 &
	mariadb_pid=$!
	pids+=("$mariadb_pid")
	wait_port "$MARIADB_PORT" "$mariadb_pid"
fi
wait_port "$MARMOT_PORT" "$marmot_pid"

ticks() { # pid -> user+system clock ticks so far
	local st
	read -r -a st <"/proc/$1/stat"
	echo $((st[13] + st[14]))
}

run() { # server port workload -> "tps qps p95 cpu" (cpu: the server's µs per transaction)
	local port=$2 w=$3
	local sb=(sysbench "$w" --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" --mysql-user=root
		--mysql-db=sbtest --tables="$TABLES" --table-size="$SIZE" --auto-inc=off)
	mysql --protocol=TCP -h 127.0.0.1 -P "$port" -u root --skip-ssl -e 'DROP DATABASE IF EXISTS sbtest; CREATE DATABASE sbtest'
	"${sb[@]}" prepare >/dev/null
	local out t0 t1 pid=$marmot_pid
	[[ "$1" == marmot ]] || pid=$mariadb_pid
	t0=$(ticks "$pid")
	out=$("${sb[@]}" --threads="$THREADS" --time="$TIME" run)
	t1=$(ticks "$pid")
	"${sb[@]}" cleanup >/dev/null
	local n tps qps p95 cpu=-
	n=$(sed -n 's/.*transactions: *\([0-9]*\) *(.*/\1/p' <<<"$out")
	tps=$(sed -n 's/.*transactions: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' <<<"$out")
	qps=$(sed -n 's/.*queries: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' <<<"$out")
	p95=$(sed -n 's/.*95th percentile: *\([0-9.]*\).*/\1/p' <<<"$out")
	if [[ "${n:-0}" -gt 0 ]]; then
		cpu=$(((t1 - t0) * 1000000 / $(getconf CLK_TCK) / n))
	fi
	echo "$tps $qps $p95 $cpu"
}

echo "sysbench $(sysbench --version | awk '{print $2}'), $THREADS threads, $TABLES tables x $SIZE rows, ${TIME}s per run, $(nproc) cores"
echo
if [[ "$ONLY" == marmot ]]; then
	echo "| workload | marmot tps | marmot qps | marmot p95 ms | marmotd CPU µs/txn |"
	echo "|---|---|---|---|---|"
	for w in $WORKLOADS; do
		read -r mt mq mp mc <<<"$(run marmot "$MARMOT_PORT" "$w")"
		echo "| $w | $mt | $mq | $mp | $mc |"
	done
	exit 0
fi
mean() { awk '{ s = 0; n = 0; for (i = 1; i <= NF; i++) if ($i != "-") { s += $i; n++ } if (n) printf "%.2f", s / n; else print "-" }' <<<"$*"; }
echo "| workload | marmot tps | marmot qps | marmot p95 ms | marmotd CPU µs/txn | MariaDB tps | MariaDB qps | MariaDB p95 ms | mariadbd CPU µs/txn | tps ratio | ratio per round |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for w in $WORKLOADS; do
	# ROUNDS > 1 alternates the order (marmot first, then MariaDB first, ...)
	# so the machine's drift in speed does not favour either server; the
	# table gives the means and each round's ratio.
	MT=() MQ=() MP=() MC=() DT=() DQ=() DP=() DC=() R=()
	for ((r = 1; r <= ROUNDS; r++)); do
		if ((r % 2)); then
			read -r mt mq mp mc <<<"$(run marmot "$MARMOT_PORT" "$w")"
			read -r dt dq dp dc <<<"$(run mariadb "$MARIADB_PORT" "$w")"
		else
			read -r dt dq dp dc <<<"$(run mariadb "$MARIADB_PORT" "$w")"
			read -r mt mq mp mc <<<"$(run marmot "$MARMOT_PORT" "$w")"
		fi
		MT+=("$mt") MQ+=("$mq") MP+=("$mp") MC+=("$mc") DT+=("$dt") DQ+=("$dq") DP+=("$dp") DC+=("$dc")
		R+=("$(awk -v a="$mt" -v b="$dt" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')")
	done
	mt=$(mean "${MT[@]}") dt=$(mean "${DT[@]}")
	ratio=$(awk -v a="$mt" -v b="$dt" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
	echo "| $w | $mt | $(mean "${MQ[@]}") | $(mean "${MP[@]}") | $(mean "${MC[@]}") | $dt | $(mean "${DQ[@]}") | $(mean "${DP[@]}") | $(mean "${DC[@]}") | $ratio | ${R[*]} |"
done
