#!/usr/bin/env bash
# with-redis.sh CMD [ARGS...]
#
# Runs CMD with a real redis-server and a real 3-node Redis Cluster on
# loopback, started in a temporary directory and stopped afterwards. CMD sees
#   BCLOGOUT_REDIS_URL      redis://127.0.0.1:PORT/0   (single node)
#   BCLOGOUT_REDIS_CLUSTER  127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
# A variable already set by the caller is kept and that server is not started.
# Without redis-server on PATH it runs CMD as is: the Redis tests then skip,
# except under CI=true, where they fail.
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
	echo "with-redis: redis-server not found; real-Redis tests will skip (CI fails them)" >&2
	exec "$@"
fi

dir=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

# A free loopback port below 55536: a cluster node also listens on port+10000.
free_port() {
	python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 30000))
import random, socket
while True:
    p = random.randint(20000, 50000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); s2 = socket.socket(); s2.bind(("127.0.0.1", p + 10000)); s2.close()
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
PY
}

start() { # start NAME PORT [extra redis-server args]
	local name=$1 port=$2
	shift 2
	mkdir -p "$dir/$name"
	redis-server --bind 127.0.0.1 --port "$port" --dir "$dir/$name" --save '' --appendonly no \
		--protected-mode yes --logfile "$dir/$name.log" "$@" &
	pids+=($!)
	for _ in $(seq 1 100); do
		redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "with-redis: redis-server on port $port did not start:" >&2
	cat "$dir/$name.log" >&2
	return 1
}

if [ -z "${BCLOGOUT_REDIS_URL:-}" ]; then
	p=$(free_port)
	start single "$p"
	export BCLOGOUT_REDIS_URL="redis://127.0.0.1:$p/0"
fi

if [ -z "${BCLOGOUT_REDIS_CLUSTER:-}" ]; then
	addrs=()
	for i in 1 2 3; do
		p=$(free_port)
		start "node$i" "$p" --cluster-enabled yes --cluster-config-file "$dir/node$i.conf" --cluster-node-timeout 5000
		addrs+=("127.0.0.1:$p")
	done
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$dir/cluster-create.log" 2>&1 || {
		cat "$dir/cluster-create.log" >&2
		exit 1
	}
	for _ in $(seq 1 100); do
		redis-cli -h 127.0.0.1 -p "${addrs[0]##*:}" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
		sleep 0.1
	done
	BCLOGOUT_REDIS_CLUSTER=$(IFS=,; echo "${addrs[*]}")
	export BCLOGOUT_REDIS_CLUSTER
fi

echo "with-redis: BCLOGOUT_REDIS_URL=$BCLOGOUT_REDIS_URL BCLOGOUT_REDIS_CLUSTER=$BCLOGOUT_REDIS_CLUSTER" >&2
"$@"
