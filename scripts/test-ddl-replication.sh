#!/usr/bin/env bash
# Two-node DDL and DML replication check, as the product description
# promises: create a table on node 1 and see it on node 2; insert on node 1,
# update on node 2, delete on node 1, each checked on the other node by
# polling with a deadline. Uses free loopback ports and temp data dirs.
set -euo pipefail
cd "$(dirname "$0")/.."
MARMOTD=${MARMOTD:-bin/marmotd}
[[ -x "$MARMOTD" ]] || make build >/dev/null

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
m1=$(free_port); m2=$(free_port); g1=$(free_port); g2=$(free_port); p1=$(free_port); p2=$(free_port)
# The default write consistency (QUORUM: with two nodes, both).
export MARMOT_CLUSTER_SECRET=ddl-test-secret
export MARMOT_MYSQL_BIND_ADDRESS=127.0.0.1 MARMOT_CLUSTER_GRPC_BIND_ADDRESS=127.0.0.1
MARMOT_CLUSTER_GOSSIP_PORT=$p1 "$MARMOTD" --data-dir "$work/n1" --node-id 1 --mysql-port "$m1" --grpc-port "$g1" >"$work/n1.log" 2>&1 &
pids+=($!)
MARMOT_CLUSTER_GOSSIP_PORT=$p2 MARMOT_CLUSTER_SEED_NODES=127.0.0.1:$g1 "$MARMOTD" --data-dir "$work/n2" --node-id 2 --mysql-port "$m2" --grpc-port "$g2" >"$work/n2.log" 2>&1 &
pids+=($!)

q() { mysql --protocol=TCP -h 127.0.0.1 -P "$1" -u root --skip-ssl -N -B -e "$2" 2>/dev/null; }
# until PORT SQL WANT: poll until the query's output equals WANT (10 s).
until_eq() {
	local got=""
	for _ in $(seq 1 200); do
		got=$(q "$1" "$2" || true)
		[[ "$got" == "$3" ]] && return 0
		sleep 0.05
	done
	echo "FAIL: on port $1, '$2' gave '$got', want '$3'" >&2
	exit 1
}
# alive PORT: how many members the node on cluster port PORT sees alive.
alive() {
	python3 - "$1" <<'PY' 2>/dev/null || echo 0
import json, os, sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/admin/cluster/members", headers={"X-Marmot-Secret": os.environ["MARMOT_CLUSTER_SECRET"]})
print(sum(m["state"] == "alive" for m in json.load(urllib.request.urlopen(req, timeout=2))["members"]))
PY
}
until_members() {
	for _ in $(seq 1 400); do
		[[ "$(alive "$1")" == 2 ]] && return 0
		sleep 0.05
	done
	echo "FAIL: node on cluster port $1 does not see 2 members" >&2
	cat "$work"/n*.log >&2
	exit 1
}
until_eq "$m1" "SELECT 1" 1
until_eq "$m2" "SELECT 1" 1
until_members "$g1"
until_members "$g2"

echo "1. create a table on node 1"
q "$m1" "CREATE TABLE marmot.users (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50))"
until_eq "$m2" "SELECT COUNT(*) FROM marmot.users" 0
echo "2. insert on node 1"
q "$m1" "INSERT INTO marmot.users (name) VALUES ('alice')"
until_eq "$m2" "SELECT name FROM marmot.users" alice
echo "3. update on node 2"
q "$m2" "UPDATE marmot.users SET name = 'alice2' WHERE name = 'alice'"
until_eq "$m1" "SELECT name FROM marmot.users" alice2
echo "4. delete on node 1"
q "$m1" "DELETE FROM marmot.users WHERE name = 'alice2'"
until_eq "$m2" "SELECT COUNT(*) FROM marmot.users" 0
echo "OK: DDL and DML replicate both ways"
