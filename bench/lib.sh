# shellcheck shell=bash
# Helpers the bench scripts share; sourced, not run.

# wait_port PORT [PID]: poll until a MySQL server answers on 127.0.0.1:PORT
# (up to 30 s); fail early if PID, the server, has exited.
wait_port() {
	for _ in $(seq 1 300); do
		mysql --protocol=TCP -h 127.0.0.1 -P "$1" -u root --skip-ssl -e 'SELECT 1' >/dev/null 2>&1 && return 0
		if [[ -n "${2:-}" ]] && ! kill -0 "$2" 2>/dev/null; then
			echo "server on port $1 exited during start-up" >&2
			return 1
		fi
		sleep 0.1 # polling interval
	done
	echo "server on port $1 did not start" >&2
	return 1
}
