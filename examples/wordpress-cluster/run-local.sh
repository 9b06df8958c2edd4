#!/usr/bin/env bash
# The cluster of ./run.sh (three WordPress, each on its own marmot node, at
# QUORUM) for a machine without Docker: three local marmotd processes and
# Debian's wordpress package served by `php -S`, everything on 127.0.0.1.
#
#   run-local.sh up | down | status
#
# Environment (the defaults are the ports run.sh publishes):
#   STATE_DIR      data, logs, pids, generated config (./.local-cluster here)
#   MARMOTD        marmotd binary (bin/marmotd of this repository; `make build`)
#   PHP            php CLI with mysqli (php)
#   WP_DIST        WordPress installation to serve (/usr/share/wordpress)
#   MYSQL_PORTS    "9191 9192 9193"  marmot MySQL ports, one per node
#   WP_PORTS       "9101 9102 9103"  WordPress HTTP ports
#   CLUSTER_PORTS  "9181 9182 9183"  marmot cluster ports (peer RPC, admin)
#   GOSSIP_PORTS   "9281 9282 9283"  marmot gossip ports (TCP and UDP)
#   MARMOT_CLUSTER_SECRET  fixed cluster secret (else a random one, kept in
#                  STATE_DIR/secret so later runs and `status` reuse it)
#   WP_MU_PLUGINS  directory of must-use plugins linked into every node; each
#                  node's php gets WP_QUERY_LOG=<node dir>/queries.jsonl and
#                  SAVEQUERIES, for plugins that record queries (the e2e test)
#   UP_TIMEOUT     seconds `up` waits for each stage (120)
#
# `up` remembers the ports in STATE_DIR/cluster.env; `down` stops the
# processes and keeps the data, so the next `up` resumes the same cluster.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

STATE_DIR=${STATE_DIR:-$here/.local-cluster}
MARMOTD=${MARMOTD:-$repo/bin/marmotd}
PHP=${PHP:-php}
WP_DIST=${WP_DIST:-/usr/share/wordpress}
UP_TIMEOUT=${UP_TIMEOUT:-120}
DB_NAME=wordpress
NODES=(1 2 3)

usage() {
	cat >&2 <<EOF
usage: $(basename "$0") up|down|status

  up      start 3 marmotd nodes (QUORUM) and 3 WordPress (php -S) on 127.0.0.1
  down    stop them (data stays in the state dir)
  status  cluster members as each node sees them, WordPress HTTP status

State dir: $STATE_DIR (STATE_DIR=...). Ports and other settings: see the
comment at the top of this script.
EOF
	exit 2
}

die() {
	echo "run-local.sh: $*" >&2
	exit 1
}

load_ports() {
	# A running cluster keeps the ports it was started with, whatever the
	# environment of a later `status` or `down` says.
	if [[ -f $STATE_DIR/cluster.env ]]; then
		# shellcheck source=/dev/null
		source "$STATE_DIR/cluster.env"
	fi
	read -r -a mysql_ports <<<"${MYSQL_PORTS:-9191 9192 9193}"
	read -r -a wp_ports <<<"${WP_PORTS:-9101 9102 9103}"
	read -r -a cluster_ports <<<"${CLUSTER_PORTS:-9181 9182 9183}"
	read -r -a gossip_ports <<<"${GOSSIP_PORTS:-9281 9282 9283}"
	local list
	for list in mysql_ports wp_ports cluster_ports gossip_ports; do
		local -n ports=$list
		((${#ports[@]} == ${#NODES[@]})) || die "$list: want ${#NODES[@]} ports, got '${ports[*]}'"
	done
}

node_dir() { echo "$STATE_DIR/node$1"; }

# running PIDFILE prints the pid if that process is still ours: its command
# line names the state dir, so a recycled pid is never signalled.
running() {
	local pid
	[[ -f $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$STATE_DIR" || return 1
	echo "$pid"
}

# alive PID|-PGID: a zombie does not count (it is gone, only not yet reaped).
alive() {
	local p=${1#-}
	if [[ $1 == -* ]]; then
		ps -e -o pgid=,stat= | awk -v g="$p" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
	else
		[[ -n $(tr -d '\0' 2>/dev/null <"/proc/$p/cmdline") ]]
	fi
}

# stop single|group PIDFILE...: TERM to all at once (each node takes a few
# seconds to shut down), KILL what is left after 20s. php -S forks workers
# (PHP_CLI_SERVER_WORKERS), so php is signalled as a process group.
stop() {
	local mode=$1 f pid t i left targets=()
	shift
	for f; do
		if pid=$(running "$f"); then
			[[ $mode == group ]] && pid=-$pid
			targets+=("$pid")
			kill -TERM -- "$pid" 2>/dev/null || true
		fi
		rm -f "$f"
	done
	for ((i = 0; i < 200; i++)); do
		left=0
		for t in "${targets[@]}"; do
			alive "$t" && left=1
		done
		((left)) || return 0
		sleep 0.1
	done
	for t in "${targets[@]}"; do
		kill -KILL -- "$t" 2>/dev/null || true
	done
}

do_down() {
	local n php=() marmotd=()
	for n in "${NODES[@]}"; do
		php+=("$(node_dir "$n")/php.pid")
		marmotd+=("$(node_dir "$n")/marmotd.pid")
	done
	# WordPress first, so no request sees its database disappear.
	stop group "${php[@]}"
	stop single "${marmotd[@]}"
}

secret() {
	if [[ -n ${MARMOT_CLUSTER_SECRET:-} ]]; then
		echo "$MARMOT_CLUSTER_SECRET"
	elif [[ -f $STATE_DIR/secret ]]; then
		cat "$STATE_DIR/secret"
	fi
}

members() {
	curl -fsS --max-time 5 -H "X-Marmot-Secret: $(secret)" "http://127.0.0.1:$1/admin/cluster/members"
}

http_status() {
	curl -s -o /dev/null --max-time 10 -w '%{http_code}' "http://127.0.0.1:$1/" || true
}

# wait_for WHAT PIDFILE LOG CMD...: polls CMD until it succeeds, failing
# early with the log's tail when the process behind PIDFILE has exited.
wait_for() {
	local what=$1 pidfile=$2 log=$3 deadline=$((SECONDS + UP_TIMEOUT))
	shift 3
	while true; do
		# Checked first: whatever answers must be the process we started.
		if ! running "$pidfile" >/dev/null; then
			tail -n 30 "$log" >&2 || true
			die "$what: process exited (log: $log)"
		fi
		"$@" >/dev/null 2>&1 && return 0
		((SECONDS < deadline)) || {
			tail -n 30 "$log" >&2 || true
			die "$what: not ready after ${UP_TIMEOUT}s (log: $log)"
		}
		sleep 0.2
	done
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

all_alive() {
	local alive
	alive=$(members "$1" | grep -o '"state":"alive"' | wc -l) || return 1
	((alive == ${#NODES[@]}))
}

wordpress_answers() {
	local code
	code=$(http_status "$1")
	[[ $code =~ ^[1-4][0-9][0-9]$ ]]
}

start_marmotd() {
	local n=$1 i=$(($1 - 1)) d seeds=() j
	d=$(node_dir "$n")
	for j in "${!NODES[@]}"; do
		((j == i)) || seeds+=("127.0.0.1:${cluster_ports[j]}")
	done
	mkdir -p "$d/data"
	# setsid: the node outlives this script and the terminal's Ctrl-C.
	MARMOT_CLUSTER_SECRET=$(secret) \
		MARMOT_CLUSTER_SEED_NODES=$(
			IFS=,
			echo "${seeds[*]}"
		) \
		MARMOT_CLUSTER_GRPC_BIND_ADDRESS=127.0.0.1 \
		MARMOT_CLUSTER_GOSSIP_PORT=${gossip_ports[i]} \
		MARMOT_MYSQL_BIND_ADDRESS=127.0.0.1 \
		MARMOT_REPLICATION_DEFAULT_WRITE_CONSISTENCY=QUORUM \
		setsid "$MARMOTD" --data-dir "$d/data" --node-id "$n" \
		--mysql-port "${mysql_ports[i]}" --grpc-port "${cluster_ports[i]}" \
		</dev/null >>"$d/marmotd.log" 2>&1 &
	echo $! >"$d/marmotd.pid"
}

# write_docroot N: a symlink farm over WP_DIST with this node's own
# wp-config.php and a writable wp-content. Serving WP_DIST itself would
# read Debian's /etc/wordpress configuration instead.
write_docroot() {
	local n=$1 i=$(($1 - 1)) d wp e name url
	d=$(node_dir "$n")
	wp=$d/wp
	url=http://127.0.0.1:${wp_ports[i]}
	mkdir -p "$wp/wp-content/uploads"
	for e in "$WP_DIST"/* "$WP_DIST"/.[!.]*; do
		[[ -e $e ]] || continue
		name=$(basename "$e")
		case $name in wp-config.php | wp-content | .htaccess) continue ;; esac
		ln -sfn "$e" "$wp/$name"
	done
	for name in themes plugins languages; do
		[[ -e $WP_DIST/wp-content/$name ]] && ln -sfn "$WP_DIST/wp-content/$name" "$wp/wp-content/$name"
	done
	if [[ -n ${WP_MU_PLUGINS:-} ]]; then
		ln -sfn "$WP_MU_PLUGINS" "$wp/wp-content/mu-plugins"
	else
		rm -f "$wp/wp-content/mu-plugins"
	fi
	# PHP resolves symlinks in __DIR__, so wp-load.php would look for
	# wp-config.php next to the real files; fixing ABSPATH first keeps
	# WordPress inside the farm.
	cat >"$d/prepend.php" <<EOF
<?php
define('ABSPATH', '$wp/');
EOF
	cat >"$wp/wp-config.php" <<EOF
<?php
// Generated by run-local.sh for node $n: this WordPress talks only to
// marmot node $n; marmot replicates to the others.
define('DB_NAME', '$DB_NAME');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', '127.0.0.1:${mysql_ports[i]}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
\$table_prefix = 'wp_';

// The database holds one site URL for all nodes; each node serves its own.
define('WP_HOME', '$url');
define('WP_SITEURL', '$url');
define('WP_CONTENT_DIR', ABSPATH . 'wp-content');
define('WP_CONTENT_URL', '$url/wp-content');

// The same keys on every node, as on the nodes of any load-balanced site.
require '$STATE_DIR/wp-salts.php';

define('WP_DEBUG', true);
define('WP_DEBUG_LOG', '$d/debug.log');
define('WP_DEBUG_DISPLAY', false);
define('SAVEQUERIES', $([[ -n ${WP_MU_PLUGINS:-} ]] && echo true || echo false));

// WP-Cron would have every node rewrite the same 'cron' option on page
// views; a cluster runs cron from one place (or not at all, here).
define('DISABLE_WP_CRON', true);
// Updates come from apt; no calls out to wordpress.org.
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('FS_METHOD', 'direct');

require_once ABSPATH . 'wp-settings.php';
EOF
}

write_salts() {
	local f=$STATE_DIR/wp-salts.php k
	[[ -f $f ]] && return 0
	{
		echo '<?php'
		for k in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
			echo "define('$k', '$(head -c 48 /dev/urandom | base64 -w0)');"
		done
	} >"$f.tmp"
	mv "$f.tmp" "$f"
}

start_php() {
	local n=$1 i=$(($1 - 1)) d
	d=$(node_dir "$n")
	# Workers: WordPress requests its own URLs (the installer probes pretty
	# permalinks), which a single-process server would wait on forever.
	PHP_CLI_SERVER_WORKERS=4 WP_QUERY_LOG=$d/queries.jsonl \
		setsid "$PHP" -d "auto_prepend_file=$d/prepend.php" -d display_errors=stderr \
		-d memory_limit=512M -d sendmail_path=/bin/true \
		-S "127.0.0.1:${wp_ports[i]}" -t "$d/wp" \
		</dev/null >>"$d/php.log" 2>&1 &
	echo $! >"$d/php.pid"
}

do_up() {
	command -v curl >/dev/null || die "curl is required"
	command -v setsid >/dev/null || die "setsid (util-linux) is required"
	[[ -x $MARMOTD ]] || die "no marmotd at $MARMOTD (make build, or set MARMOTD)"
	command -v "$PHP" >/dev/null || die "no php (apt-get install php-cli php-mysql, or set PHP)"
	"$PHP" -r 'exit(function_exists("mysqli_connect") ? 0 : 1);' || die "php lacks mysqli (apt-get install php-mysql)"
	[[ -f $WP_DIST/wp-settings.php ]] || die "no WordPress at $WP_DIST (apt-get install wordpress, or set WP_DIST)"

	mkdir -p "$STATE_DIR"
	STATE_DIR=$(cd "$STATE_DIR" && pwd)
	local n d
	for n in "${NODES[@]}"; do
		d=$(node_dir "$n")
		if running "$d/marmotd.pid" >/dev/null || running "$d/php.pid" >/dev/null; then
			die "already running in $STATE_DIR (run-local.sh down first)"
		fi
	done
	# Ports come from the environment on `up` only.
	rm -f "$STATE_DIR/cluster.env"
	load_ports
	printf 'MYSQL_PORTS=%q\nWP_PORTS=%q\nCLUSTER_PORTS=%q\nGOSSIP_PORTS=%q\n' \
		"${mysql_ports[*]}" "${wp_ports[*]}" "${cluster_ports[*]}" "${gossip_ports[*]}" >"$STATE_DIR/cluster.env"
	if [[ -n ${MARMOT_CLUSTER_SECRET:-} ]]; then
		(umask 077 && echo "$MARMOT_CLUSTER_SECRET" >"$STATE_DIR/secret")
	elif [[ ! -s $STATE_DIR/secret ]]; then
		(umask 077 && head -c 32 /dev/urandom | base64 -w0 >"$STATE_DIR/secret")
	fi

	local p
	for p in "${mysql_ports[@]}" "${wp_ports[@]}" "${cluster_ports[@]}" "${gossip_ports[@]}"; do
		! answers "$p" || die "port $p is in use (set MYSQL_PORTS, WP_PORTS, CLUSTER_PORTS, GOSSIP_PORTS)"
	done

	# A failed `up` leaves nothing running; the logs stay for reading.
	trap 'do_down' EXIT

	for n in "${NODES[@]}"; do
		start_marmotd "$n"
	done
	for n in "${NODES[@]}"; do
		d=$(node_dir "$n")
		wait_for "marmotd $n MySQL port ${mysql_ports[n - 1]}" "$d/marmotd.pid" "$d/marmotd.log" answers "${mysql_ports[n - 1]}"
	done
	# QUORUM counts the members a node knows: until all three have joined,
	# a lone node would count itself a majority.
	for n in "${NODES[@]}"; do
		d=$(node_dir "$n")
		wait_for "marmotd $n sees ${#NODES[@]} alive members" "$d/marmotd.pid" "$d/marmotd.log" all_alive "${cluster_ports[n - 1]}"
	done
	local hosts=()
	for n in "${NODES[@]}"; do
		hosts+=("127.0.0.1:${mysql_ports[n - 1]}")
	done
	DB_INIT_TIMEOUT=$UP_TIMEOUT "$PHP" "$here/db-init.php" "$DB_NAME" "${hosts[@]}"

	write_salts
	for n in "${NODES[@]}"; do
		write_docroot "$n"
		start_php "$n"
	done
	for n in "${NODES[@]}"; do
		d=$(node_dir "$n")
		wait_for "WordPress $n on port ${wp_ports[n - 1]}" "$d/php.pid" "$d/php.log" wordpress_answers "${wp_ports[n - 1]}"
	done
	trap - EXIT

	echo "WordPress cluster up (state: $STATE_DIR)"
	for n in "${NODES[@]}"; do
		echo "  node $n: WordPress http://127.0.0.1:${wp_ports[n - 1]}/  MySQL 127.0.0.1:${mysql_ports[n - 1]}  cluster 127.0.0.1:${cluster_ports[n - 1]}"
	done
	echo "Install through any node: http://127.0.0.1:${wp_ports[0]}/wp-admin/install.php"
}

do_status() {
	local n d pid
	for n in "${NODES[@]}"; do
		d=$(node_dir "$n")
		echo "== node $n"
		if pid=$(running "$d/marmotd.pid"); then
			echo "marmotd pid $pid, MySQL 127.0.0.1:${mysql_ports[n - 1]}, members:"
			members "${cluster_ports[n - 1]}" || echo "(admin API on port ${cluster_ports[n - 1]} does not answer)"
		else
			echo "marmotd not running"
		fi
		if pid=$(running "$d/php.pid"); then
			echo "WordPress pid $pid, http://127.0.0.1:${wp_ports[n - 1]}/ -> HTTP $(http_status "${wp_ports[n - 1]}")"
		else
			echo "WordPress not running"
		fi
	done
}

(($# == 1)) || usage
case $1 in
up) do_up ;;
down)
	[[ -d $STATE_DIR ]] || exit 0
	STATE_DIR=$(cd "$STATE_DIR" && pwd)
	do_down
	;;
status)
	[[ -d $STATE_DIR ]] || die "nothing in $STATE_DIR (run-local.sh up)"
	STATE_DIR=$(cd "$STATE_DIR" && pwd)
	load_ports
	do_status
	;;
*) usage ;;
esac
