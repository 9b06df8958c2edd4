#!/usr/bin/env bash
# Join node N to the cluster through SEED (host:port of a cluster port):
# cluster port 808N, MySQL 330(6+N), data in ./marmot-data-N.
#   examples/join-cluster.sh 2 localhost:8081
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?usage: join-cluster.sh N SEED_HOST:PORT}
seed=${2:?usage: join-cluster.sh N SEED_HOST:PORT}
[[ -x bin/marmotd ]] || make build >/dev/null
export MARMOT_CLUSTER_SECRET=${MARMOT_CLUSTER_SECRET:-local-demo-secret}
export MARMOT_CLUSTER_SEED_NODES=$seed
exec bin/marmotd --data-dir "./marmot-data-$n" --node-id "$n" --grpc-port $((8080 + n)) --mysql-port $((3306 + n))
