#!/bin/bash
# HEALTHCHECK of the marmot image: GET /healthz on the cluster port, which
# marmotd serves once its MySQL listener is up. Bash's /dev/tcp instead of
# curl keeps the runtime image at debian-slim plus ca-certificates.
set -euo pipefail
port=${MARMOT_CLUSTER_GRPC_PORT:-8080}
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
# The body is "ok" on its own line after the headers.
timeout 3 grep -q '^ok' <&3
