#!/usr/bin/env bash
# What the cluster benchmark's workload costs without replication, on this
# machine: `marmotctl bench` (the workload of bench/cluster.sh) against one
# MariaDB (InnoDB, default durability) and against one marmotd, each
# started alone with its data in a temp dir on 127.0.0.1. It prints each
# report and the server's and the client's CPU per operation: the
# yardstick for the three replicating nodes of bench/cluster.sh, which
# share the same cores.
#
#   bench/reference.sh                         # or: make bench-reference
#   bench/reference.sh --records 40000 --duration 20s
#   ONLY=mariadb bench/reference.sh            # or ONLY=marmot
#
# Arguments go to marmotctl bench (default: the published size, load and
# mixed phases; verify needs more than one host to mean anything).
# Needs: mariadb-server (mariadbd, mariadb-install-db), mariadb-client,
# a built bin/marmotd and bin/marmotctl (make build).
set -euo pipefail
cd "$(dirname "$0")/.."

MARIADB_PORT=${MARIADB_PORT:-23317}
MARMOT_PORT=${MARMOT_PORT:-23318}
ONLY=${ONLY:-}
args=("$@")
((${#args[@]})) || args=(--records 200000 --duration 60s)
args+=(--phases "load,mixed")

needed=(mysql)
[[ "$ONLY" == marmot ]] || needed+=(mariadbd mariadb-install-db)
for bin in "${needed[@]}"; do
	command -v "$bin" >/dev/null || { echo "missing $bin (apt-get install mariadb-server mariadb-client)" >&2; exit 1; }
done
[[ -x bin/marmotd && -x bin/marmotctl ]] || make build >/dev/null

work=$(mktemp -d)
pid=
cleanup() {
	if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=bench/lib.sh
source bench/lib.sh

# cpu_ticks PID: user + system clock ticks the process has used.
cpu_ticks() {
	local st
	read -r -a st <"/proc/$1/stat"
	echo $((st[13] + st[14]))
}

# run NAME PORT: the benchmark against the server $pid listens on PORT,
# then the server's CPU per operation.
run() {
	local name=$1 port=$2 t0 t1 out ops hz
	t0=$(cpu_ticks "$pid")
	# The subshell's `times` reports its child's CPU: the client's.
	out=$(
		bin/marmotctl bench --hosts "127.0.0.1:$port" "${args[@]}"
		times >"$work/times"
	)
	t1=$(cpu_ticks "$pid")
	echo "$out"
	ops=$(awk '$1 == "load" || $1 == "mixed" { if ($3 ~ /^[0-9]+$/) n += $3 } END { print n + 0 }' <<<"$out")
	hz=$(getconf CLK_TCK)
	awk -v t=$((t1 - t0)) -v hz="$hz" -v ops="$ops" -v name="$name" \
		'BEGIN { printf "%s CPU during the benchmark: %.2f s, %.3f ms per operation\n", name, t / hz, ops ? t / hz * 1000 / ops : 0 }'
	# times: the shell's own user and system time, then its children's
	# ("0m1.234s 0m0.567s").
	awk -v ops="$ops" 'NR == 2 {
		for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] }
		printf "client (marmotctl bench) CPU: %.2f s, %.3f ms per operation\n\n", s, ops ? s * 1000 / ops : 0
	}' "$work/times"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
}

echo "$(nproc) cores; the same workload against one server, no replication" >&2

if [[ "$ONLY" != marmot ]]; then
	mariadb-install-db --no-defaults --datadir="$work/mariadb" --user=root --auth-root-authentication-method=normal >/dev/null 2>&1
	mariadbd --no-defaults --datadir="$work/mariadb" --user=root --bind-address=127.0.0.1 --port="$MARIADB_PORT" \
		--socket="$work/mariadb.sock" --skip-grant-tables --innodb-buffer-pool-size=1G >"$work/mariadb.log" 2>&1 &
	pid=$!
	wait_port "$MARIADB_PORT" "$pid"
	echo "== MariaDB $(mariadbd --version | awk '{print $3}')"
	run mariadbd "$MARIADB_PORT"
fi

if [[ "$ONLY" != mariadb ]]; then
	MARMOT_MYSQL_BIND_ADDRESS=127.0.0.1 MARMOT_CLUSTER_GRPC_BIND_ADDRESS=127.0.0.1 \
		bin/marmotd --data-dir "$work/marmot" --mysql-port "$MARMOT_PORT" --grpc-port $((MARMOT_PORT + 1000)) >"$work/marmot.log" 2>&1 &
	pid=$!
	wait_port "$MARMOT_PORT" "$pid"
	echo "== one marmotd"
	run marmotd "$MARMOT_PORT"
fi
