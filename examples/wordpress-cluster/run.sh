#!/usr/bin/env bash
# The description's WordPress cluster with Docker Compose (compose.yml):
# three marmot nodes at QUORUM, one WordPress in front of each.
# run-local.sh is the same cluster without Docker.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

NODES=(1 2 3)
# As published by compose.yml.
wp_port() { echo $((9100 + $1)); }
mysql_port() { echo $((9190 + $1)); }
admin_port() { echo $((9180 + $1)); }
UP_TIMEOUT=${UP_TIMEOUT:-300}

usage() {
	cat >&2 <<EOF
usage: $(basename "$0") up|down|status|logs-m|logs-wp

  up       build the marmot image, start 3 marmot + 3 WordPress, wait for them
  down     stop and remove the containers (down -v also deletes the data)
  status   containers, cluster members as each node sees them, WordPress HTTP status
  logs-m   follow the marmot logs
  logs-wp  follow the WordPress logs

WordPress: http://127.0.0.1:9101 .. 9103   MySQL: 127.0.0.1:9191 .. 9193
EOF
	exit 2
}

die() {
	echo "run.sh: $*" >&2
	exit 1
}

compose() {
	if docker compose version >/dev/null 2>&1; then
		docker compose "$@"
	elif command -v docker-compose >/dev/null 2>&1; then
		docker-compose "$@"
	else
		die "needs Docker Compose (the docker compose plugin or docker-compose)"
	fi
}

random_hex() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

# Compose reads .env next to compose.yml; without it the cluster would run
# on the public fallback secrets written in compose.yml.
ensure_env() {
	[[ -f .env ]] && return 0
	(
		umask 077
		printf 'MARMOT_CLUSTER_SECRET=%s\nWORDPRESS_KEYS=%s\n' "$(random_hex)" "$(random_hex)" >.env
	)
	echo "wrote .env with random MARMOT_CLUSTER_SECRET and WORDPRESS_KEYS"
}

secret() {
	if [[ -n ${MARMOT_CLUSTER_SECRET:-} ]]; then
		echo "$MARMOT_CLUSTER_SECRET"
	elif [[ -f .env ]] && grep -q '^MARMOT_CLUSTER_SECRET=' .env; then
		sed -n 's/^MARMOT_CLUSTER_SECRET=//p' .env
	else
		echo change-me-marmot-cluster-secret
	fi
}

http_status() {
	curl -s -o /dev/null --max-time 10 -w '%{http_code}' "http://127.0.0.1:$1/" || true
}

do_up() {
	command -v curl >/dev/null || die "curl is required"
	ensure_env
	compose up -d --build
	local n code deadline=$((SECONDS + UP_TIMEOUT))
	for n in "${NODES[@]}"; do
		# Below 500: PHP runs and reached its marmot node (db-init has
		# created the database on every node before any WordPress starts).
		until code=$(http_status "$(wp_port "$n")") && [[ $code =~ ^[1-4][0-9][0-9]$ ]]; do
			((SECONDS < deadline)) || {
				compose ps >&2
				die "WordPress $n (port $(wp_port "$n")) not ready after ${UP_TIMEOUT}s (last HTTP $code); see ./run.sh logs-wp"
			}
			sleep 1
		done
	done
	echo "WordPress cluster up:"
	for n in "${NODES[@]}"; do
		echo "  node $n: WordPress http://127.0.0.1:$(wp_port "$n")/  MySQL 127.0.0.1:$(mysql_port "$n")  admin 127.0.0.1:$(admin_port "$n")"
	done
	echo "Install through any node: http://127.0.0.1:$(wp_port 1)/wp-admin/install.php"
}

do_status() {
	command -v curl >/dev/null || die "curl is required"
	compose ps
	local n
	for n in "${NODES[@]}"; do
		echo "== node $n"
		echo "marmot members (admin 127.0.0.1:$(admin_port "$n")):"
		curl -fsS --max-time 5 -H "X-Marmot-Secret: $(secret)" "http://127.0.0.1:$(admin_port "$n")/admin/cluster/members" ||
			echo "(no answer)"
		echo "WordPress http://127.0.0.1:$(wp_port "$n")/ -> HTTP $(http_status "$(wp_port "$n")")"
	done
}

(($# >= 1)) || usage
cmd=$1
shift
case $cmd in
up) do_up ;;
down) compose down "$@" ;;
status) do_status ;;
logs-m) compose logs -f --tail=200 marmot1 marmot2 marmot3 ;;
logs-wp) compose logs -f --tail=200 wordpress1 wordpress2 wordpress3 ;;
*) usage ;;
esac
