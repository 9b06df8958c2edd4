#!/usr/bin/env bash
# The published cluster benchmark: three marmotd on loopback (MySQL 3307-3309,
# HTTP/peer 8081-8083, data in a temp dir) replicating to each other, driven
# by `marmotctl bench` over all three (load 200,000 rows, 60 s mixed
# workload, verify that the nodes converge). Nodes are stopped on exit.
#
#   bench/cluster.sh                           # or: make bench-cluster
#   CONSISTENCY=ONE bench/cluster.sh           # write consistency (default QUORUM)
#   bench/cluster.sh --duration 10s --json     # arguments go to marmotctl bench
#   KEEP=1 bench/cluster.sh                    # keep data dirs and logs
#
# Needs curl and a built bin/marmotd and bin/marmotctl (make build).
set -euo pipefail
cd "$(dirname "$0")/.."

CONSISTENCY=${CONSISTENCY:-QUORUM}
NODES=3
MYSQL_PORTS=(3307 3308 3309)
HTTP_PORTS=(8081 8082 8083)
READY_TIMEOUT=${READY_TIMEOUT:-60}

command -v curl >/dev/null || { echo "missing curl" >&2; exit 1; }
[[ -x bin/marmotd && -x bin/marmotctl ]] || make build >/dev/null

# A port someone else already serves would make the readiness check pass
# against the wrong server.
for port in "${MYSQL_PORTS[@]}" "${HTTP_PORTS[@]}"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "port $port is already in use; stop what listens there first" >&2
		exit 1
	fi
done

work=$(mktemp -d -t marmot-bench.XXXXXX)
pids=()
failed=1
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		# Poll for a graceful exit, then give up on it.
		for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if ((failed)); then
		for i in $(seq 1 $NODES); do
			[[ -f "$work/n$i.log" ]] && { echo "--- node $i log (last 20 lines)" >&2; tail -n 20 "$work/n$i.log" >&2; }
		done
	fi
	if [[ -n "${KEEP:-}" ]]; then echo "data and logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

secret=$(head -c 32 /dev/urandom | base64)
for ((i = 0; i < NODES; i++)); do
	seeds=()
	for ((j = 0; j < NODES; j++)); do
		((j == i)) || seeds+=("127.0.0.1:${HTTP_PORTS[j]}")
	done
	seedlist=$(IFS=, && echo "${seeds[*]}")
	MARMOT_MYSQL_BIND_ADDRESS=127.0.0.1 MARMOT_CLUSTER_GRPC_BIND_ADDRESS=127.0.0.1 MARMOT_CLUSTER_SEED_NODES="$seedlist" \
		MARMOT_CLUSTER_SECRET="$secret" MARMOT_REPLICATION_DEFAULT_WRITE_CONSISTENCY="$CONSISTENCY" \
		bin/marmotd --data-dir "$work/n$((i + 1))" --node-id $((i + 1)) \
		--mysql-port "${MYSQL_PORTS[i]}" --grpc-port "${HTTP_PORTS[i]}" >"$work/n$((i + 1)).log" 2>&1 &
	pids+=($!)
done

# /healthz answers once marmotd has opened everything (its HTTP listener
# starts last, after MySQL and replication), so polling it is the
# readiness check.
for ((i = 0; i < NODES; i++)); do
	deadline=$((SECONDS + READY_TIMEOUT))
	until curl -fsS -o /dev/null "http://127.0.0.1:${HTTP_PORTS[i]}/healthz" 2>/dev/null; do
		if ! kill -0 "${pids[i]}" 2>/dev/null; then
			echo "node $((i + 1)) exited during start-up" >&2
			exit 1
		fi
		if ((SECONDS > deadline)); then
			echo "node $((i + 1)) not ready after ${READY_TIMEOUT}s" >&2
			exit 1
		fi
		sleep 0.05 # polling interval
	done
done

# QUORUM counts members: wait until every node sees all of them alive.
for ((i = 0; i < NODES; i++)); do
	deadline=$((SECONDS + READY_TIMEOUT))
	until [[ $(curl -fsS -H "X-Marmot-Secret: $secret" "http://127.0.0.1:${HTTP_PORTS[i]}/admin/cluster/members" 2>/dev/null | grep -o '"state":"alive"' | wc -l) -eq $NODES ]]; do
		if ((SECONDS > deadline)); then
			echo "node $((i + 1)) does not see $NODES members after ${READY_TIMEOUT}s" >&2
			exit 1
		fi
		sleep 0.05 # polling interval
	done
done

hosts=$(printf '127.0.0.1:%s,' "${MYSQL_PORTS[@]}")
rev=unknown
if r=$(git rev-parse --short HEAD 2>/dev/null); then
	rev=$r
	git diff --quiet HEAD || rev+="+dirty"
fi
echo "$NODES nodes at $CONSISTENCY, $(nproc) cores, commit $rev" >&2

# CPU the three nodes use (user + system, in clock ticks): on a small
# machine it is what bounds the cluster, and it is steadier from run to run
# than throughput.
node_ticks() {
	local total=0 p st
	for p in "${pids[@]}"; do
		read -r -a st <"/proc/$p/stat" || continue
		total=$((total + st[13] + st[14]))
	done
	echo "$total"
}
ticks0=$(node_ticks)
bin/marmotctl bench --hosts "${hosts%,}" "$@"
ticks=$(($(node_ticks) - ticks0))
hz=$(getconf CLK_TCK)
echo "nodes' CPU during the benchmark: $((ticks / hz)).$(printf '%02d' $((ticks % hz * 100 / hz))) s (user + system, all phases)" >&2
failed=0
