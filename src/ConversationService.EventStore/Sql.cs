namespace ConversationService.EventStore;

/// <summary>SQL text for one schema, built once. The schema is validated as a plain identifier before it gets here.</summary>
internal sealed class Sql
{
    public Sql(string schema)
    {
        var s = $"\"{schema}\"";

        Ddl = $"""
            CREATE SCHEMA IF NOT EXISTS {s};
            CREATE TABLE IF NOT EXISTS {s}.streams (
                tenant_id text NOT NULL,
                id text NOT NULL,
                type text NOT NULL,
                version bigint NOT NULL DEFAULT 0,
                created timestamptz NOT NULL DEFAULT now(),
                updated timestamptz NOT NULL DEFAULT now(),
                archived boolean NOT NULL DEFAULT false,
                CONSTRAINT pk_streams PRIMARY KEY (tenant_id, id));
            -- CACHE 1 (the default) keeps nextval monotonic across sessions; the daemon's gap logic relies on it.
            CREATE TABLE IF NOT EXISTS {s}.events (
                seq_id bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
                id uuid NOT NULL,
                tenant_id text NOT NULL,
                stream_id text NOT NULL,
                version bigint NOT NULL,
                type text NOT NULL,
                data jsonb NOT NULL,
                metadata jsonb,
                "timestamp" timestamptz NOT NULL,
                CONSTRAINT uq_events_stream_version UNIQUE (tenant_id, stream_id, version));
            CREATE OR REPLACE FUNCTION {s}.lock_streams_at_versions(
                p_tenants text[], p_ids text[], p_expected bigint[], p_versions bigint[], p_now timestamptz) RETURNS void
            LANGUAGE plpgsql AS $fn$
            DECLARE
                v record;
            BEGIN
                -- One primary-key update per stream, taken in (tenant, id) order so concurrent callers never deadlock.
                -- A loop rather than one set-based statement: planned generically, a join would scan the whole table.
                FOR v IN SELECT u.tenant_id, u.id, u.expected, u.version, u.n
                         FROM unnest(p_tenants, p_ids, p_expected, p_versions) WITH ORDINALITY AS u(tenant_id, id, expected, version, n)
                         ORDER BY u.tenant_id, u.id
                LOOP
                    UPDATE {s}.streams SET version = v.version, updated = p_now
                    WHERE tenant_id = v.tenant_id AND id = v.id AND version = v.expected AND NOT archived;
                    IF NOT FOUND THEN
                        RAISE EXCEPTION 'stream % is no longer at version %', v.id, v.expected
                            USING ERRCODE = '{StreamMoved}', HINT = v.n::text;
                    END IF;
                END LOOP;
            END
            $fn$;
            CREATE TABLE IF NOT EXISTS {s}.progression (
                name text PRIMARY KEY,
                last_seq_id bigint NOT NULL DEFAULT 0,
                updated timestamptz NOT NULL DEFAULT now());
            -- Events an async projection could not process and went past (see ProjectionRunner): where they are in the
            -- log and what failed, never their data. resolved_at is for the operator (README: "Parked events").
            CREATE TABLE IF NOT EXISTS {s}.dead_letters (
                projection text NOT NULL,
                seq_id bigint NOT NULL,
                event_id uuid NOT NULL,
                tenant_id text NOT NULL,
                stream_id text NOT NULL,
                version bigint NOT NULL,
                type text NOT NULL,
                error_type text NOT NULL,
                error_message text NOT NULL,
                attempts integer NOT NULL,
                parked_at timestamptz NOT NULL,
                resolved_at timestamptz,
                CONSTRAINT pk_dead_letters PRIMARY KEY (projection, seq_id));
            CREATE INDEX IF NOT EXISTS dead_letters_unresolved ON {s}.dead_letters (projection) WHERE resolved_at IS NULL;
            """;

        // The group commit's lock: one statement that locks the streams in (tenant, id) order and fails (StreamMoved,
        // with the stream's 1-based position in the arrays in HINT, which Npgsql does not redact) unless each is where
        // its writer last left it, so the events that follow in the same batch never land on a stream that moved or was
        // archived. Being a write it also assigns the xid before any seq_id is drawn, like LockStream.
        LockStreamsAtVersions = $"SELECT {s}.lock_streams_at_versions($1, $2, $3, $4, $5)";

        // The upsert takes the row lock (writers on one stream queue here) and, being a write, assigns the
        // transaction its xid before any events.seq_id value is drawn. The daemon's gap logic depends on that order.
        LockStream = $"""
            INSERT INTO {s}.streams AS st (tenant_id, id, type, version, created, updated, archived)
            VALUES ($1, $2, $3, 0, $4, $4, false)
            ON CONFLICT (tenant_id, id) DO UPDATE SET id = excluded.id
            RETURNING st.version, st.archived, (st.xmax = 0) AS is_new
            """;

        InsertEvents = $"""
            INSERT INTO {s}.events (id, tenant_id, stream_id, version, type, data, "timestamp")
            SELECT e.id, e.tenant_id, e.stream_id, e.version, e.type, e.data, $7
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::jsonb[]) WITH ORDINALITY
                AS e(id, tenant_id, stream_id, version, type, data, n)
            ORDER BY e.n -- seq_id follows the given order, so a stream's versions follow seq_id
            RETURNING seq_id, tenant_id, stream_id, version
            """;

        UpdateStream = $"UPDATE {s}.streams SET version = $3, updated = $4, archived = $5 WHERE tenant_id = $1 AND id = $2";

        ReadStreamsData = $"""
            SELECT stream_id, version, type, data FROM {s}.events
            WHERE tenant_id = $1 AND stream_id = ANY($2) ORDER BY stream_id, version
            """;

        // The new data indexed by version (a stream's versions are 1..n), NULL where an event stays as it is: one
        // statement per stream that only ever touches that stream's rows, through the (tenant, stream, version) index.
        RewriteStreamData = $"""
            UPDATE {s}.events SET data = ($3::jsonb[])[version::int]
            WHERE tenant_id = $1 AND stream_id = $2 AND version <= cardinality($3::jsonb[]) AND ($3::jsonb[])[version::int] IS NOT NULL
            """;

        ReadStream = $"""
            SELECT seq_id, id, version, type, data, "timestamp" FROM {s}.events
            WHERE tenant_id = $1 AND stream_id = $2 AND version >= $3 ORDER BY version
            """;

        StreamVersion = $"SELECT version FROM {s}.streams WHERE tenant_id = $1 AND id = $2";

        // A projection without a progression row has processed nothing (checkpoint 0).
        IndexedVersion = $"""
            SELECT st.version,
                   coalesce((SELECT e.version FROM {s}.events e
                             WHERE e.tenant_id = $1 AND e.stream_id = $2
                               AND e.seq_id <= (SELECT CASE WHEN count(*) = cardinality($3::text[]) THEN min(p.last_seq_id) ELSE 0 END
                                                FROM {s}.progression p WHERE p.name = ANY($3))
                             ORDER BY e.version DESC LIMIT 1), 0)
            FROM {s}.streams st WHERE st.tenant_id = $1 AND st.id = $2
            """;

        // The daemon reads the whole log across tenants (each StoredEvent carries its tenant); it is the one query
        // without a tenant filter. xmin comes from the snapshot the rows were read with.
        ReadLog = $"""
            SELECT (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint), -- once, not per row
                   seq_id, id, tenant_id, stream_id, version, type, data, "timestamp"
            FROM {s}.events WHERE seq_id > $1 ORDER BY seq_id LIMIT $2
            """;

        // A replica's own follower (ReplicaTail) needs every row's position for the gap logic, but the data only of
        // the types it follows ($3).
        ReadLogOfTypes = $"""
            SELECT (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint),
                   seq_id, id, tenant_id, stream_id, version, type, CASE WHEN type = ANY($3) THEN data END, "timestamp"
            FROM {s}.events WHERE seq_id > $1 ORDER BY seq_id LIMIT $2
            """;

        Head = $"SELECT coalesce(max(seq_id), 0) FROM {s}.events";

        // The record and the checkpoint past it commit together (a batch is one implicit transaction), so an event is
        // never both skipped and unrecorded. A replay of the same event keeps the first record.
        ParkEvent = $"""
            INSERT INTO {s}.dead_letters (projection, seq_id, event_id, tenant_id, stream_id, version, type, error_type,
                                          error_message, attempts, parked_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (projection, seq_id) DO NOTHING
            """;

        // Per projection: its checkpoint, the head of the log, when the oldest event it has not processed was stored,
        // and its unresolved dead letters. Primary-key and partial-index lookups only: readiness probes run it.
        DaemonHealth = $"""
            SELECT n.name, coalesce(p.last_seq_id, 0), h.head,
                   (SELECT e."timestamp" FROM {s}.events e WHERE e.seq_id > coalesce(p.last_seq_id, 0) ORDER BY e.seq_id LIMIT 1),
                   (SELECT count(*) FROM {s}.dead_letters d WHERE d.projection = n.name AND d.resolved_at IS NULL)
            FROM unnest($1::text[]) AS n(name)
            LEFT JOIN {s}.progression p ON p.name = n.name
            CROSS JOIN (SELECT coalesce(max(seq_id), 0) AS head FROM {s}.events) h
            """;

        LoadCheckpoint = $"SELECT last_seq_id FROM {s}.progression WHERE name = $1";

        SaveCheckpoint = $"""
            INSERT INTO {s}.progression AS p (name, last_seq_id, updated) VALUES ($1, $2, $3)
            ON CONFLICT (name) DO UPDATE SET last_seq_id = excluded.last_seq_id, updated = excluded.updated
            WHERE p.last_seq_id < excluded.last_seq_id
            """;
    }

    public string Ddl { get; }
    public string LockStream { get; }
    public string LockStreamsAtVersions { get; }
    public string InsertEvents { get; }
    public string UpdateStream { get; }
    public string ReadStream { get; }
    public string ReadStreamsData { get; }
    public string RewriteStreamData { get; }
    public string StreamVersion { get; }
    public string IndexedVersion { get; }
    public string ReadLog { get; }
    public string ReadLogOfTypes { get; }
    public string Head { get; }
    public string ParkEvent { get; }
    public string DaemonHealth { get; }
    public string LoadCheckpoint { get; }
    public string SaveCheckpoint { get; }

    /// <summary>SQLSTATE of lock_streams_at_versions when a stream is not at the expected version (or archived).</summary>
    public const string StreamMoved = "ES409";

    // One key for all event-store DDL in the database (advisory locks are per database): start-ups serialize.
    public const string DdlLock = "SELECT pg_advisory_xact_lock(hashtextextended('conversation_service.event_store.ddl', 0))";

    public const string TryLockProjection = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))";
    public const string UnlockProjection = "SELECT pg_advisory_unlock(hashtextextended($1, 0))";

    // Assigns this (autocommit) statement an xid: every xid handed out before it is smaller.
    public const string XidHorizon = "SELECT pg_current_xact_id()::text::bigint";
}
