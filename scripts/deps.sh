#!/usr/bin/env bash
# Installs (when absent) and starts PostgreSQL and RabbitMQ from Debian packages on loopback.
# Idempotent: safe to run again while they are already up. Needs root (apt-get, service users).
set -euo pipefail

PG_PASSWORD="${PG_PASSWORD:-postgres}"

need=()
command -v pg_lsclusters >/dev/null 2>&1 || need+=(postgresql)
command -v rabbitmq-server >/dev/null 2>&1 || need+=(rabbitmq-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# PostgreSQL: the Debian cluster created by the package (any version), started with pg_ctlcluster.
read -r pg_ver pg_cluster pg_port pg_status _ < <(pg_lsclusters --no-header | head -n 1) || true
if [ -z "${pg_ver:-}" ]; then
  pg_ver=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
  pg_createcluster "$pg_ver" main >/dev/null
  read -r pg_ver pg_cluster pg_port pg_status _ < <(pg_lsclusters --no-header | head -n 1)
fi
if [ "$pg_status" != "online" ]; then
  # Room for the load tests' 32 writers plus the test suite's pools.
  conf="/etc/postgresql/$pg_ver/$pg_cluster/conf.d/conversation-service.conf"
  [ -f "$conf" ] || printf "max_connections = 300\n" > "$conf"
  pg_ctlcluster "$pg_ver" "$pg_cluster" start
fi
for _ in $(seq 1 30); do
  pg_isready -q -h localhost -p "$pg_port" && break
  sleep 1
done
su postgres -c "psql -q -p $pg_port -c \"ALTER USER postgres PASSWORD '$PG_PASSWORD'\"" >/dev/null
echo "deps: PostgreSQL $pg_ver on localhost:$pg_port (user postgres)"

# RabbitMQ: started detached unless it already answers.
if ! rabbitmqctl -q status >/dev/null 2>&1; then
  rabbitmq-server -detached >/dev/null 2>&1 || true
  for _ in $(seq 1 90); do
    rabbitmqctl -q status >/dev/null 2>&1 && break
    sleep 1
  done
  rabbitmqctl -q await_startup --timeout 120 >/dev/null
fi
echo "deps: RabbitMQ on localhost:5672 (user guest)"
