#!/usr/bin/env bash
# Start the seed node of a local cluster: cluster port 8081, MySQL 3307,
# data in ./marmot-data-1. Join more nodes with examples/join-cluster.sh.
# Writes are acknowledged at QUORUM by default (see README: "A cluster").
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x bin/marmotd ]] || make build >/dev/null
export MARMOT_CLUSTER_SECRET=${MARMOT_CLUSTER_SECRET:-local-demo-secret}
exec bin/marmotd --data-dir ./marmot-data-1 --node-id 1 --grpc-port 8081 --mysql-port 3307
