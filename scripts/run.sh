#!/usr/bin/env bash
# The README's run command: starts PostgreSQL and RabbitMQ (installing them when absent), creates the
# local database and runs the service on http://localhost:5080 in Development with offline defaults
# (no LLM key needed). Prints a development API key, generated here unless AUTH_KEY is set.
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

bash scripts/deps.sh

db="${CS_DATABASE:-conversation_service}"
source scripts/lib/postgres.sh
owner=$(psql -X -tAq -d postgres -v db="$db" <<< "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'db'")
if [ -z "$owner" ]; then
  createdb "$db"
  echo "run: created database $db (owner $pg_role)"
elif [ "$owner" != "$pg_role" ]; then
  # Earlier versions of this script made it as postgres; the service now runs as the project's role.
  echo "run: database $db belongs to $owner, not $pg_role: set CS_DATABASE to another name, or drop it"
  exit 1
fi

# The service never invents keys; this development key lives only in this process's environment.
key="${AUTH_KEY:-dev-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
url="${ASPNETCORE_URLS:-http://localhost:5080}"
base="${url%%;*}"

export ASPNETCORE_ENVIRONMENT="${ASPNETCORE_ENVIRONMENT:-Development}"
export ASPNETCORE_URLS="$url"
export ConnectionStrings__Postgres="${ConnectionStrings__Postgres:-$(postgres_connection "$db")}"
export ConnectionStrings__RabbitMq="${ConnectionStrings__RabbitMq:-amqp://guest:guest@localhost:5672/}"
export Auth__ApiKeys__0__Key="$key"
export Auth__ApiKeys__0__Tenant="${AUTH_TENANT:-dev}"

cat <<BANNER

==========================================================================
  ConversationService  ->  $base   (tenant: $Auth__ApiKeys__0__Tenant)
  Development API key:     $key

  Try it (after "Now listening on" appears):
    export CS_KEY=$key
    curl -s -X POST $base/conversations/demo-1/turns \\
      -H "Authorization: Bearer \$CS_KEY" -H 'Content-Type: application/json' \\
      -d '{"role":"user","content":"Hello! What can you remember?"}'
    curl -s "$base/conversations/demo-1/context?budget=8000" -H "Authorization: Bearer \$CS_KEY"

  Swagger UI: $base/swagger   OpenAPI: $base/openapi/v1.json
  Dashboard:  $base/dashboard (enter the key in the page)
==========================================================================

BANNER

exec dotnet run --project src/ConversationService -c Release --no-launch-profile
