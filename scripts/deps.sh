#!/usr/bin/env bash
# Installs (when absent) and starts PostgreSQL and RabbitMQ from Debian packages on loopback, installs Debian's chromium
# when absent (the dashboard's browser test drives it headless), and creates (when absent) the project's PostgreSQL
# role (scripts/lib/postgres.sh: conversation_service, LOGIN CREATEDB, password CS_PG_PASSWORD). An existing
# cluster's superuser is never changed. Idempotent: safe to run again while they are already up. Needs root (apt-get,
# service users).
set -euo pipefail

need=()
command -v pg_lsclusters >/dev/null 2>&1 || need+=(postgresql)
command -v rabbitmq-server >/dev/null 2>&1 || need+=(rabbitmq-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
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
# The project's own role, created as postgres over the local socket (peer authentication; explicit -h/-U, since
# lib/postgres.sh exports PGHOST/PGUSER for the role and su keeps the environment). An existing role keeps
# its password. pg_checkpoint (PostgreSQL 15+) lets the load benchmark run CHECKPOINT without being superuser.
source "$(dirname "$0")/lib/postgres.sh"
password_literal="'${PGPASSWORD//\'/\'\'}'"
# From / : postgres may not enter the caller's folder (a clone under a private temporary folder, say).
(cd / && su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -h /var/run/postgresql -p $pg_port -U postgres -d postgres") >/dev/null <<SQL
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$pg_role') AS missing \\gset
\\if :missing
CREATE ROLE $pg_role LOGIN CREATEDB PASSWORD $password_literal;
\\endif
SELECT current_setting('server_version_num')::int >= 150000
       AND NOT pg_has_role('$pg_role', 'pg_checkpoint', 'MEMBER') AS checkpoint \\gset
\\if :checkpoint
GRANT pg_checkpoint TO $pg_role;
\\endif
SQL
if ! psql -X -q -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
  echo "deps: cannot log in as $pg_role on localhost:$pg_port; the role exists with another password: set CS_PG_PASSWORD"
  exit 1
fi
echo "deps: PostgreSQL $pg_ver on localhost:$pg_port (role $pg_role)"

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
