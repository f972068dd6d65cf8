# Sourced by the scripts, after scripts/deps.sh has started PostgreSQL: the project's own role and where the cluster
# listens. The scripts, the service they start and the tests connect as this role (LOGIN CREATEDB, no superuser);
# deps.sh creates it with CS_PG_PASSWORD (default: conversation_service, for loopback development only).
pg_role=conversation_service
pg_port=$(pg_lsclusters --no-header 2>/dev/null | awk 'NR==1 {print $3}')
pg_port=${pg_port:-5432}
export PGHOST=localhost PGPORT="$pg_port" PGUSER="$pg_role" PGPASSWORD="${CS_PG_PASSWORD:-conversation_service}"

# postgres_connection DATABASE: the Npgsql connection string of the role for DATABASE.
postgres_connection() {
  echo "Host=localhost;Port=$PGPORT;Username=$PGUSER;Password=$PGPASSWORD;Database=$1"
}
