--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)


--
-- Name: conversations; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA conversations;


--
-- Name: add_turn_counters(text[], text[], integer[], bigint[], bigint[], timestamp with time zone[]); Type: FUNCTION; Schema: conversations; Owner: -
--

CREATE FUNCTION conversations.add_turn_counters(p_tenants text[], p_ids text[], p_turns integer[], p_tokens bigint[], p_versions bigint[], p_updated timestamp with time zone[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    c record;
BEGIN
    -- One primary-key update per conversation, in (tenant, id) order like lock_streams_at_versions: a single
    -- call instead of a statement each, and no set-based join (planned generically, it would scan the table).
    FOR c IN SELECT u.tenant_id, u.id, u.turns, u.tokens, u.version, u.updated_at
             FROM unnest(p_tenants, p_ids, p_turns, p_tokens, p_versions, p_updated)
                 AS u(tenant_id, id, turns, tokens, version, updated_at)
             ORDER BY u.tenant_id, u.id
    LOOP
        UPDATE conversations.conversations
        SET turn_count = turn_count + c.turns, total_tokens = total_tokens + c.tokens,
            version = c.version, updated_at = c.updated_at
        WHERE tenant_id = c.tenant_id AND id = c.id;
    END LOOP;
END
$$;


--
-- Name: lock_streams_at_versions(text[], text[], bigint[], bigint[], timestamp with time zone); Type: FUNCTION; Schema: conversations; Owner: -
--

CREATE FUNCTION conversations.lock_streams_at_versions(p_tenants text[], p_ids text[], p_expected bigint[], p_versions bigint[], p_now timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    v record;
BEGIN
    -- One primary-key update per stream, taken in (tenant, id) order so concurrent callers never deadlock.
    -- A loop rather than one set-based statement: planned generically, a join would scan the whole table.
    FOR v IN SELECT u.tenant_id, u.id, u.expected, u.version, u.n
             FROM unnest(p_tenants, p_ids, p_expected, p_versions) WITH ORDINALITY AS u(tenant_id, id, expected, version, n)
             ORDER BY u.tenant_id, u.id
    LOOP
        UPDATE "conversations".streams SET version = v.version, updated = p_now
        WHERE tenant_id = v.tenant_id AND id = v.id AND version = v.expected AND NOT archived;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'stream % is no longer at version %', v.id, v.expected
                USING ERRCODE = 'ES409', HINT = v.n::text;
        END IF;
    END LOOP;
END
$$;




--
-- Name: context_usage; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.context_usage (
    tenant_id text NOT NULL,
    conversation_id text NOT NULL,
    model text NOT NULL,
    tokens_served bigint NOT NULL,
    full_history_tokens bigint NOT NULL,
    at timestamp with time zone NOT NULL,
    requests integer DEFAULT 1 NOT NULL
);


--
-- Name: conversation_summaries; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.conversation_summaries (
    tenant_id text NOT NULL,
    conversation_id text NOT NULL,
    through_index integer NOT NULL,
    summary text NOT NULL,
    summary_tokens integer NOT NULL,
    encoding text NOT NULL,
    model text NOT NULL,
    version bigint NOT NULL
);


--
-- Name: conversations; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.conversations (
    tenant_id text NOT NULL,
    id text NOT NULL,
    version bigint NOT NULL,
    model text NOT NULL,
    system_prompt text,
    metadata jsonb,
    turn_count integer DEFAULT 0 NOT NULL,
    total_tokens bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: dead_letters; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.dead_letters (
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
    parked_at timestamp with time zone NOT NULL,
    resolved_at timestamp with time zone
);


--
-- Name: events; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.events (
    seq_id bigint NOT NULL,
    id uuid NOT NULL,
    tenant_id text NOT NULL,
    stream_id text NOT NULL,
    version bigint NOT NULL,
    type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb,
    "timestamp" timestamp with time zone NOT NULL
);


--
-- Name: events_seq_id_seq; Type: SEQUENCE; Schema: conversations; Owner: -
--

ALTER TABLE conversations.events ALTER COLUMN seq_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME conversations.events_seq_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: example_libraries; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.example_libraries (
    tenant_id text NOT NULL,
    version bigint NOT NULL
);


--
-- Name: examples; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.examples (
    tenant_id text NOT NULL,
    id text NOT NULL,
    input text NOT NULL,
    output text NOT NULL,
    task text,
    version bigint NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: knowledge_chunks; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.knowledge_chunks (
    tenant_id text NOT NULL,
    collection text NOT NULL,
    document_id text NOT NULL,
    n integer NOT NULL,
    text text NOT NULL,
    tokens integer NOT NULL
);


--
-- Name: knowledge_collections; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.knowledge_collections (
    tenant_id text NOT NULL,
    collection text NOT NULL,
    version bigint NOT NULL
);


--
-- Name: knowledge_documents; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.knowledge_documents (
    tenant_id text NOT NULL,
    collection text NOT NULL,
    document_id text NOT NULL,
    text text NOT NULL,
    metadata jsonb,
    tokens integer NOT NULL,
    chunk_count integer NOT NULL,
    version bigint NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: llm_calls; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.llm_calls (
    id bigint NOT NULL,
    tenant_id text NOT NULL,
    conversation_id text,
    call_type text NOT NULL,
    model text NOT NULL,
    input_tokens integer NOT NULL,
    cached_tokens integer NOT NULL,
    output_tokens integer NOT NULL,
    latency_ms integer NOT NULL,
    cost_usd numeric(18,9) NOT NULL,
    at timestamp with time zone NOT NULL
);


--
-- Name: llm_calls_id_seq; Type: SEQUENCE; Schema: conversations; Owner: -
--

ALTER TABLE conversations.llm_calls ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME conversations.llm_calls_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: progression; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.progression (
    name text NOT NULL,
    last_seq_id bigint DEFAULT 0 NOT NULL,
    updated timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: streams; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.streams (
    tenant_id text NOT NULL,
    id text NOT NULL,
    type text NOT NULL,
    version bigint DEFAULT 0 NOT NULL,
    created timestamp with time zone DEFAULT now() NOT NULL,
    updated timestamp with time zone DEFAULT now() NOT NULL,
    archived boolean DEFAULT false NOT NULL
);


--
-- Name: summary_requests; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.summary_requests (
    tenant_id text NOT NULL,
    conversation_id text NOT NULL,
    through_index integer NOT NULL
);


--
-- Name: turns; Type: TABLE; Schema: conversations; Owner: -
--

CREATE TABLE conversations.turns (
    tenant_id text NOT NULL,
    conversation_id text NOT NULL,
    idx integer NOT NULL,
    turn_id text NOT NULL,
    role text NOT NULL,
    content text NOT NULL,
    name text,
    occurred_at timestamp with time zone NOT NULL,
    tokens integer NOT NULL,
    encoding text NOT NULL,
    version bigint NOT NULL,
    metadata jsonb
);


--
-- Data for Name: context_usage; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.context_usage VALUES
	('tenant-a', 'support-1', 'gpt-4o', 150, 150, '2026-12-05 12:37:27.735332+00', 1),
	('tenant-a', 'support-2', 'gpt-4o', 38, 38, '2026-12-05 12:37:27.824002+00', 1);


--
-- Data for Name: conversation_summaries; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.conversation_summaries VALUES
	('tenant-a', 'support-1', 5, 'user: My router drops the connection every evening around eight.
assistant: Which model is it, and is the firmware up to date?
user: It is an RX-200, firmware 3.1 from last spring.
lookup_device: {"model":"RX-200","latestFirmware":"3.4","knownIssues":["evening drop"]}
assistant: Firmware 3.4 fixes the evening drop.
assistant: Please update through the admin page and restart.', 92, 'o200k_base', 'extractive', 1);


--
-- Data for Name: conversations; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.conversations VALUES
	('tenant-a', 'support-1', 9, 'gpt-4o', 'You are the support desk of Example Ltd.', '{"channel": "web", "priority": 1}', 7, 134, '2026-12-05 12:37:23.709649+00', '2026-12-05 12:37:25.527128+00'),
	('tenant-a', 'support-2', 4, 'gpt-4o', NULL, NULL, 3, 35, '2026-12-05 12:37:25.723608+00', '2026-12-05 12:37:25.723719+00'),
	('tenant-b', 'support-1', 3, 'gpt-4o', NULL, NULL, 2, 21, '2026-12-05 12:37:27.442553+00', '2026-12-05 12:37:27.442648+00');


--
-- Data for Name: dead_letters; Type: TABLE DATA; Schema: conversations; Owner: -
--



--
-- Data for Name: events; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.events OVERRIDING SYSTEM VALUE VALUES
	(1, '01a24635-8aa4-7d94-8019-0d0c3ce1ace7', 'tenant-a', 'support-1', 1, 'conversation_started', '{"id": "support-1", "model": "gpt-4o-mini", "tenant": "tenant-a", "metadata": {"channel": "web", "priority": 2}, "startedAt": "2026-12-05T12:37:23.7096498+00:00", "systemPrompt": "You are the support desk of Example Ltd."}', NULL, '2026-12-05 12:37:23.748833+00'),
	(2, '01a24635-8c82-7e8b-917f-5c687578b296', 'tenant-a', 'support-1', 2, 'turn_appended', '{"name": null, "role": "user", "index": 1, "tokens": 14, "turnId": "t-1", "content": "My router drops the connection every evening around eight.", "encoding": "o200k_base", "metadata": {"ip": "10.0.0.7"}, "occurredAt": "2026-11-02T19:58:12.345678+01:00"}', NULL, '2026-12-05 12:37:24.226343+00'),
	(3, '01a24635-8c82-769f-b1c1-cd4e8abc0005', 'tenant-a', 'support-1', 3, 'turn_appended', '{"name": null, "role": "assistant", "index": 2, "tokens": 17, "turnId": "t-2", "content": "Which model is it, and is the firmware up to date?", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:24.2138631+00:00"}', NULL, '2026-12-05 12:37:24.226343+00'),
	(4, '01a24635-8d46-7a16-b7ba-ebe6270e3c48', 'tenant-a', 'support-1', 4, 'turn_appended', '{"name": null, "role": "user", "index": 3, "tokens": 20, "turnId": "01a246358d2c7641881f257d572668f9", "content": "It is an RX-200, firmware 3.1 from last spring.", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-11-02T20:01:00+00:00"}', NULL, '2026-12-05 12:37:24.422119+00'),
	(5, '01a24635-8dcb-7c97-a715-a3ddd0a6f376', 'tenant-a', 'support-1', 5, 'turn_appended', '{"name": "lookup_device", "role": "tool", "index": 4, "tokens": 29, "turnId": "01a246358dc479159ea24272a34c1fff", "content": "{\"model\":\"RX-200\",\"latestFirmware\":\"3.4\",\"knownIssues\":[\"evening drop\"]}", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:24.5552155+00:00"}', NULL, '2026-12-05 12:37:24.555725+00'),
	(6, '01a24635-8e12-7b90-9da3-ce63cfa0da05', 'tenant-a', 'support-1', 6, 'turn_appended', '{"name": null, "role": "assistant", "index": 5, "tokens": 23, "turnId": "01a246358e127ae984b4e6bd5b031adc", "content": "Firmware 3.4 fixes the evening drop. Please update through the admin page and restart.", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:24.6262389+00:00"}', NULL, '2026-12-05 12:37:24.62641+00'),
	(7, '01a24635-8e58-75ed-9876-eabd302ddbb3', 'tenant-a', 'support-1', 7, 'turn_appended', '{"name": null, "role": "user", "index": 6, "tokens": 18, "turnId": "01a246358e587ebc88df8cdcf40a2829", "content": "Done, I updated it and restarted. I will watch it tonight.", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:24.6966995+00:00"}', NULL, '2026-12-05 12:37:24.696816+00'),
	(8, '01a24635-8fa3-7e40-b846-f7d49045e42c', 'tenant-a', 'support-1/summary', 1, 'conversation_summarized', '{"model": "extractive", "usage": {"inputTokens": 0, "outputTokens": 0, "cachedInputTokens": 0}, "costUsd": 0, "summary": "user: My router drops the connection every evening around eight.\nassistant: Which model is it, and is the firmware up to date?\nuser: It is an RX-200, firmware 3.1 from last spring.\nlookup_device: {\"model\":\"RX-200\",\"latestFirmware\":\"3.4\",\"knownIssues\":[\"evening drop\"]}\nassistant: Firmware 3.4 fixes the evening drop.\nassistant: Please update through the admin page and restart.", "encoding": "o200k_base", "fromIndex": 1, "summarizedAt": "2026-12-05T12:37:24.9881932+00:00", "throughIndex": 5, "summaryTokens": 92}', NULL, '2026-12-05 12:37:25.027216+00'),
	(9, '01a24635-912a-7aa9-950a-eccad0604e16', 'tenant-a', 'support-1', 8, 'conversation_settings_changed', '{"model": "gpt-4o", "metadata": {"channel": "web", "priority": 1}, "changedAt": "2026-12-05T12:37:25.4134425+00:00", "systemPrompt": null}', NULL, '2026-12-05 12:37:25.41807+00'),
	(10, '01a24635-9197-785d-9316-f07925fd31fe', 'tenant-a', 'support-1', 9, 'turn_appended', '{"name": null, "role": "user", "index": 7, "tokens": 13, "turnId": "t-7", "content": "Update: it held all evening, thanks!", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:25.5270867+00:00"}', NULL, '2026-12-05 12:37:25.527128+00'),
	(11, '01a24635-925b-7ca9-89b3-e59f3746d5a4', 'tenant-a', 'support-2', 1, 'conversation_started', '{"id": "support-2", "model": "gpt-4o", "tenant": "tenant-a", "metadata": null, "startedAt": "2026-12-05T12:37:25.7236086+00:00", "systemPrompt": null}', NULL, '2026-12-05 12:37:25.723719+00'),
	(12, '01a24635-925b-73d8-b3e3-e1b032d22e07', 'tenant-a', 'support-2', 2, 'turn_appended', '{"name": null, "role": "system", "index": 1, "tokens": 7, "turnId": "01a24635925a731db01a96962fc81a43", "content": "Answer briefly.", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:25.7236086+00:00"}', NULL, '2026-12-05 12:37:25.723719+00'),
	(13, '01a24635-925b-71bb-9478-bb3a0a1ed60a', 'tenant-a', 'support-2', 3, 'turn_appended', '{"name": null, "role": "user", "index": 2, "tokens": 10, "turnId": "01a24635925a729785860233bb677d02", "content": "What are your opening hours?", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:25.7236086+00:00"}', NULL, '2026-12-05 12:37:25.723719+00'),
	(14, '01a24635-925b-763a-92e6-013ad43d575d', 'tenant-a', 'support-2', 4, 'turn_appended', '{"name": null, "role": "assistant", "index": 3, "tokens": 18, "turnId": "01a24635925a7229ad2d9a6cb9209fe6", "content": "Monday to Friday, 8:00 to 18:00.", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:25.7236086+00:00"}', NULL, '2026-12-05 12:37:25.723719+00'),
	(26, '01a24635-97da-75bc-8183-5166f46a65fc', 'tenant-a', 'example/greet', 1, 'example_saved', '{"task": null, "input": "hi", "output": "Hello! How can I help you today?", "savedAt": "2026-12-05T12:37:27.129015+00:00", "exampleId": "greet"}', NULL, '2026-12-05 12:37:27.130801+00'),
	(27, '01a24635-980a-7b08-bdfc-276f1d11b781', 'tenant-a', 'example/refund', 1, 'example_saved', '{"task": "support", "input": "I want my money back", "output": "I am sorry to hear that. Could you give me your order number?", "savedAt": "2026-12-05T12:37:27.1783637+00:00", "exampleId": "refund"}', NULL, '2026-12-05 12:37:27.178406+00'),
	(29, '01a24635-9848-7495-93e6-0c43aeb2d378', 'tenant-a', 'example/greet', 2, 'example_saved', '{"task": null, "input": "hi there", "output": "Hello! What can I do for you?", "savedAt": "2026-12-05T12:37:27.240866+00:00", "exampleId": "greet"}', NULL, '2026-12-05 12:37:27.240912+00'),
	(28, '01a24635-9829-7cf9-a33c-cd9f56d93d7c', 'tenant-a', 'example/bye', 1, 'example_saved', '{"task": null, "input": "", "output": "", "savedAt": "2026-12-05T12:37:27.2091964+00:00", "exampleId": "bye"}', NULL, '2026-12-05 12:37:27.209251+00'),
	(30, '01a24635-987d-7e5c-a16f-a4f22a42ab60', 'tenant-a', 'example/bye', 2, 'example_deleted', '{"deletedAt": "2026-12-05T12:37:27.2913462+00:00", "exampleId": "bye"}', NULL, '2026-12-05 12:37:27.293791+00'),
	(31, '01a24635-9912-74fe-a499-3e09e7b00307', 'tenant-b', 'support-1', 1, 'conversation_started', '{"id": "support-1", "model": "gpt-4o", "tenant": "tenant-b", "metadata": null, "startedAt": "2026-12-05T12:37:27.4425537+00:00", "systemPrompt": null}', NULL, '2026-12-05 12:37:27.442648+00'),
	(32, '01a24635-9912-7bea-8828-9b41ad44d1e7', 'tenant-b', 'support-1', 2, 'turn_appended', '{"name": null, "role": "user", "index": 1, "tokens": 10, "turnId": "t-1", "content": "Do you ship to Norway?", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:27.4425537+00:00"}', NULL, '2026-12-05 12:37:27.442648+00'),
	(33, '01a24635-9912-74a5-a306-28098691aec2', 'tenant-b', 'support-1', 3, 'turn_appended', '{"name": null, "role": "assistant", "index": 2, "tokens": 11, "turnId": "t-2", "content": "Yes, within five working days.", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:27.4425537+00:00"}', NULL, '2026-12-05 12:37:27.442648+00'),
	(15, '01a24635-9289-7efb-b5e0-63dabd5817af', 'tenant-a', 'secret-1', 1, 'conversation_started', '{"id": "secret-1", "model": "gpt-4o", "tenant": "tenant-a", "metadata": null, "startedAt": "2026-12-05T12:37:25.7690198+00:00", "systemPrompt": null}', NULL, '2026-12-05 12:37:25.769128+00'),
	(16, '01a24635-92eb-769b-8938-5a2b8d5e0230', 'tenant-a', 'secret-1', 2, 'turn_appended', '{"name": null, "role": "user", "index": 1, "tokens": 25, "turnId": "01a2463592ea7e0190c92d4ae93a2208", "content": "", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:25.8679049+00:00"}', NULL, '2026-12-05 12:37:25.86799+00'),
	(17, '01a24635-932e-7b71-b802-0df76f6d945d', 'tenant-a', 'secret-1', 3, 'turn_appended', '{"name": null, "role": "assistant", "index": 2, "tokens": 18, "turnId": "01a24635932e70c3b9d545a9ca26f811", "content": "", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:25.9343572+00:00"}', NULL, '2026-12-05 12:37:25.934512+00'),
	(18, '01a24635-937f-7e03-8929-c0aff36f36b2', 'tenant-a', 'secret-1', 4, 'turn_appended', '{"name": null, "role": "user", "index": 3, "tokens": 23, "turnId": "01a24635937e7b93b27cbb1ebd9986d8", "content": "", "encoding": "o200k_base", "metadata": null, "occurredAt": "2026-12-05T12:37:26.0148538+00:00"}', NULL, '2026-12-05 12:37:26.015027+00'),
	(19, '01a24635-9462-7bf3-81ca-cecb2954551a', 'tenant-a', 'secret-1/summary', 1, 'conversation_summarized', '{"model": "extractive", "usage": {"inputTokens": 0, "outputTokens": 0, "cachedInputTokens": 0}, "costUsd": 0, "summary": "", "encoding": "o200k_base", "fromIndex": 1, "summarizedAt": "2026-12-05T12:37:26.2405932+00:00", "throughIndex": 2, "summaryTokens": 39}', NULL, '2026-12-05 12:37:26.242566+00'),
	(20, '01a24635-967d-702b-9846-a6b03c9c1555', 'tenant-a', 'secret-1', 5, 'conversation_deleted', '{"deletedAt": "2026-12-05T12:37:26.7780585+00:00"}', NULL, '2026-12-05 12:37:26.781046+00'),
	(21, '01a24635-96d5-76cf-8209-b13dd0389129', 'tenant-a', 'knowledge/manuals/setup', 1, 'document_indexed', '{"text": "To set up the RX-200, connect the WAN port to your modem and open 192.168.1.1.", "chunks": [{"start": 0, "length": 78, "tokens": 26}], "tokens": 26, "metadata": {"lang": "en"}, "indexedAt": "2026-12-05T12:37:26.8547591+00:00", "collection": "manuals", "documentId": "setup"}', NULL, '2026-12-05 12:37:26.869779+00'),
	(22, '01a24635-9725-76eb-a87c-3908cb944cda', 'tenant-a', 'knowledge/manuals/faq', 1, 'document_indexed', '{"text": "Q: Why does my router drop the connection in the evening? A: Update to firmware 3.4 or later. Q: How do I reset it? A: Hold the reset button for ten seconds.", "chunks": [{"start": 0, "length": 157, "tokens": 43}], "tokens": 43, "metadata": null, "indexedAt": "2026-12-05T12:37:26.9481817+00:00", "collection": "manuals", "documentId": "faq"}', NULL, '2026-12-05 12:37:26.949521+00'),
	(24, '01a24635-9779-7491-b9fb-678c2471a394', 'tenant-a', 'knowledge/manuals/setup', 2, 'document_indexed', '{"text": "To set up the RX-200, connect the WAN port to your modem, open 192.168.1.1 and follow the wizard.", "chunks": [{"start": 0, "length": 97, "tokens": 30}], "tokens": 30, "metadata": {"rev": 2, "lang": "en"}, "indexedAt": "2026-12-05T12:37:27.0287247+00:00", "collection": "manuals", "documentId": "setup"}', NULL, '2026-12-05 12:37:27.033525+00'),
	(23, '01a24635-9747-7ff8-b83f-6c8ea5d1d281', 'tenant-a', 'knowledge/manuals/old', 1, 'document_indexed', '{"text": "", "chunks": [], "tokens": 9, "metadata": null, "indexedAt": "2026-12-05T12:37:26.9817348+00:00", "collection": "manuals", "documentId": "old"}', NULL, '2026-12-05 12:37:26.983172+00'),
	(25, '01a24635-97a4-7130-a8b8-aa60cab7e2af', 'tenant-a', 'knowledge/manuals/old', 2, 'document_deleted', '{"deletedAt": "2026-12-05T12:37:27.074182+00:00", "collection": "manuals", "documentId": "old"}', NULL, '2026-12-05 12:37:27.076626+00'),
	(34, '01a24635-994e-7024-86a3-aeb908f9df7c', 'tenant-b', 'knowledge/manuals/setup', 1, 'document_indexed', '{"text": "Tenant B keeps its own setup notes.", "chunks": [{"start": 0, "length": 35, "tokens": 8}], "tokens": 8, "metadata": null, "indexedAt": "2026-12-05T12:37:27.5010694+00:00", "collection": "manuals", "documentId": "setup"}', NULL, '2026-12-05 12:37:27.502115+00'),
	(35, '01a24635-9977-7021-8e86-51c02473e1c2', 'tenant-b', 'example/greet', 1, 'example_saved', '{"task": null, "input": "hello", "output": "Hi from tenant B.", "savedAt": "2026-12-05T12:37:27.5437196+00:00", "exampleId": "greet"}', NULL, '2026-12-05 12:37:27.543878+00');


--
-- Data for Name: example_libraries; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.example_libraries VALUES
	('tenant-a', 5),
	('tenant-b', 1);


--
-- Data for Name: examples; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.examples VALUES
	('tenant-a', 'refund', 'I want my money back', 'I am sorry to hear that. Could you give me your order number?', 'support', 1, '2026-12-05 12:37:27.178363+00', '2026-12-05 12:37:27.178363+00'),
	('tenant-a', 'greet', 'hi there', 'Hello! What can I do for you?', NULL, 2, '2026-12-05 12:37:27.129015+00', '2026-12-05 12:37:27.240866+00'),
	('tenant-b', 'greet', 'hello', 'Hi from tenant B.', NULL, 1, '2026-12-05 12:37:27.543719+00', '2026-12-05 12:37:27.543719+00');


--
-- Data for Name: knowledge_chunks; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.knowledge_chunks VALUES
	('tenant-a', 'manuals', 'faq', 1, 'Q: Why does my router drop the connection in the evening? A: Update to firmware 3.4 or later. Q: How do I reset it? A: Hold the reset button for ten seconds.', 43),
	('tenant-a', 'manuals', 'setup', 1, 'To set up the RX-200, connect the WAN port to your modem, open 192.168.1.1 and follow the wizard.', 30),
	('tenant-b', 'manuals', 'setup', 1, 'Tenant B keeps its own setup notes.', 8);


--
-- Data for Name: knowledge_collections; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.knowledge_collections VALUES
	('tenant-a', 'manuals', 5),
	('tenant-b', 'manuals', 1);


--
-- Data for Name: knowledge_documents; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.knowledge_documents VALUES
	('tenant-a', 'manuals', 'faq', 'Q: Why does my router drop the connection in the evening? A: Update to firmware 3.4 or later. Q: How do I reset it? A: Hold the reset button for ten seconds.', NULL, 43, 1, 1, '2026-12-05 12:37:26.948181+00', '2026-12-05 12:37:26.948181+00'),
	('tenant-a', 'manuals', 'setup', 'To set up the RX-200, connect the WAN port to your modem, open 192.168.1.1 and follow the wizard.', '{"rev": 2, "lang": "en"}', 30, 1, 2, '2026-12-05 12:37:26.854759+00', '2026-12-05 12:37:27.028724+00'),
	('tenant-b', 'manuals', 'setup', 'Tenant B keeps its own setup notes.', NULL, 8, 1, 1, '2026-12-05 12:37:27.501069+00', '2026-12-05 12:37:27.501069+00');


--
-- Data for Name: llm_calls; Type: TABLE DATA; Schema: conversations; Owner: -
--



--
-- Data for Name: progression; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.progression VALUES
	('integration_events', 35, '2026-12-05 12:37:27.688254+00'),
	('summary_trigger', 35, '2026-12-05 12:37:27.798788+00');


--
-- Data for Name: streams; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.streams VALUES
	('tenant-a', 'support-1/summary', 'conversation-summary', 1, '2026-12-05 12:37:25.00058+00', '2026-12-05 12:37:25.027216+00', false),
	('tenant-a', 'support-1', 'conversation', 9, '2026-12-05 12:37:23.68242+00', '2026-12-05 12:37:25.527128+00', false),
	('tenant-a', 'support-2', 'conversation', 4, '2026-12-05 12:37:25.722326+00', '2026-12-05 12:37:25.723719+00', false),
	('tenant-a', 'secret-1/summary', 'conversation-summary', 1, '2026-12-05 12:37:26.240619+00', '2026-12-05 12:37:26.242566+00', false),
	('tenant-a', 'secret-1', 'conversation', 5, '2026-12-05 12:37:25.767096+00', '2026-12-05 12:37:26.781046+00', true),
	('tenant-a', 'knowledge/manuals/faq', 'knowledge-document', 1, '2026-12-05 12:37:26.948226+00', '2026-12-05 12:37:26.949521+00', false),
	('tenant-a', 'knowledge/manuals/setup', 'knowledge-document', 2, '2026-12-05 12:37:26.854872+00', '2026-12-05 12:37:27.033525+00', false),
	('tenant-a', 'knowledge/manuals/old', 'knowledge-document', 2, '2026-12-05 12:37:26.981786+00', '2026-12-05 12:37:27.076626+00', false),
	('tenant-a', 'example/refund', 'few-shot-example', 1, '2026-12-05 12:37:27.17534+00', '2026-12-05 12:37:27.178406+00', false),
	('tenant-a', 'example/greet', 'few-shot-example', 2, '2026-12-05 12:37:27.114264+00', '2026-12-05 12:37:27.240912+00', false),
	('tenant-a', 'example/bye', 'few-shot-example', 2, '2026-12-05 12:37:27.207962+00', '2026-12-05 12:37:27.293791+00', false),
	('tenant-b', 'support-1', 'conversation', 3, '2026-12-05 12:37:27.441177+00', '2026-12-05 12:37:27.442648+00', false),
	('tenant-b', 'knowledge/manuals/setup', 'knowledge-document', 1, '2026-12-05 12:37:27.501113+00', '2026-12-05 12:37:27.502115+00', false),
	('tenant-b', 'example/greet', 'few-shot-example', 1, '2026-12-05 12:37:27.540114+00', '2026-12-05 12:37:27.543878+00', false);


--
-- Data for Name: summary_requests; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.summary_requests VALUES
	('tenant-a', 'support-1', 5),
	('tenant-a', 'secret-1', 2);


--
-- Data for Name: turns; Type: TABLE DATA; Schema: conversations; Owner: -
--

INSERT INTO conversations.turns VALUES
	('tenant-a', 'support-1', 1, 't-1', 'user', 'My router drops the connection every evening around eight.', NULL, '2026-11-02 18:58:12.345678+00', 14, 'o200k_base', 2, '{"ip": "10.0.0.7"}'),
	('tenant-a', 'support-1', 2, 't-2', 'assistant', 'Which model is it, and is the firmware up to date?', NULL, '2026-12-05 12:37:24.213863+00', 17, 'o200k_base', 3, NULL),
	('tenant-a', 'support-1', 3, '01a246358d2c7641881f257d572668f9', 'user', 'It is an RX-200, firmware 3.1 from last spring.', NULL, '2026-11-02 20:01:00+00', 20, 'o200k_base', 4, NULL),
	('tenant-a', 'support-1', 4, '01a246358dc479159ea24272a34c1fff', 'tool', '{"model":"RX-200","latestFirmware":"3.4","knownIssues":["evening drop"]}', 'lookup_device', '2026-12-05 12:37:24.555215+00', 29, 'o200k_base', 5, NULL),
	('tenant-a', 'support-1', 5, '01a246358e127ae984b4e6bd5b031adc', 'assistant', 'Firmware 3.4 fixes the evening drop. Please update through the admin page and restart.', NULL, '2026-12-05 12:37:24.626238+00', 23, 'o200k_base', 6, NULL),
	('tenant-a', 'support-1', 6, '01a246358e587ebc88df8cdcf40a2829', 'user', 'Done, I updated it and restarted. I will watch it tonight.', NULL, '2026-12-05 12:37:24.696699+00', 18, 'o200k_base', 7, NULL),
	('tenant-a', 'support-1', 7, 't-7', 'user', 'Update: it held all evening, thanks!', NULL, '2026-12-05 12:37:25.527086+00', 13, 'o200k_base', 9, NULL),
	('tenant-a', 'support-2', 1, '01a24635925a731db01a96962fc81a43', 'system', 'Answer briefly.', NULL, '2026-12-05 12:37:25.723608+00', 7, 'o200k_base', 2, NULL),
	('tenant-a', 'support-2', 2, '01a24635925a729785860233bb677d02', 'user', 'What are your opening hours?', NULL, '2026-12-05 12:37:25.723608+00', 10, 'o200k_base', 3, NULL),
	('tenant-a', 'support-2', 3, '01a24635925a7229ad2d9a6cb9209fe6', 'assistant', 'Monday to Friday, 8:00 to 18:00.', NULL, '2026-12-05 12:37:25.723608+00', 18, 'o200k_base', 4, NULL),
	('tenant-b', 'support-1', 1, 't-1', 'user', 'Do you ship to Norway?', NULL, '2026-12-05 12:37:27.442553+00', 10, 'o200k_base', 2, NULL),
	('tenant-b', 'support-1', 2, 't-2', 'assistant', 'Yes, within five working days.', NULL, '2026-12-05 12:37:27.442553+00', 11, 'o200k_base', 3, NULL);


--
-- Name: events_seq_id_seq; Type: SEQUENCE SET; Schema: conversations; Owner: -
--

SELECT pg_catalog.setval('conversations.events_seq_id_seq', 35, true);


--
-- Name: llm_calls_id_seq; Type: SEQUENCE SET; Schema: conversations; Owner: -
--

SELECT pg_catalog.setval('conversations.llm_calls_id_seq', 1, false);


--
-- Name: conversation_summaries conversation_summaries_pkey; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.conversation_summaries
    ADD CONSTRAINT conversation_summaries_pkey PRIMARY KEY (tenant_id, conversation_id);


--
-- Name: conversations conversations_pkey; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.conversations
    ADD CONSTRAINT conversations_pkey PRIMARY KEY (tenant_id, id);


--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (seq_id);


--
-- Name: example_libraries example_libraries_pkey; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.example_libraries
    ADD CONSTRAINT example_libraries_pkey PRIMARY KEY (tenant_id);


--
-- Name: examples examples_pkey; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.examples
    ADD CONSTRAINT examples_pkey PRIMARY KEY (tenant_id, id);


--
-- Name: knowledge_chunks knowledge_chunks_pkey; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.knowledge_chunks
    ADD CONSTRAINT knowledge_chunks_pkey PRIMARY KEY (tenant_id, collection, document_id, n);


--
-- Name: knowledge_collections knowledge_collections_pkey; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.knowledge_collections
    ADD CONSTRAINT knowledge_collections_pkey PRIMARY KEY (tenant_id, collection);


--
-- Name: knowledge_documents knowledge_documents_pkey; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.knowledge_documents
    ADD CONSTRAINT knowledge_documents_pkey PRIMARY KEY (tenant_id, collection, document_id);


--
-- Name: llm_calls llm_calls_pkey; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.llm_calls
    ADD CONSTRAINT llm_calls_pkey PRIMARY KEY (id);


--
-- Name: dead_letters pk_dead_letters; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.dead_letters
    ADD CONSTRAINT pk_dead_letters PRIMARY KEY (projection, seq_id);


--
-- Name: streams pk_streams; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.streams
    ADD CONSTRAINT pk_streams PRIMARY KEY (tenant_id, id);


--
-- Name: progression progression_pkey; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.progression
    ADD CONSTRAINT progression_pkey PRIMARY KEY (name);


--
-- Name: summary_requests summary_requests_pkey; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.summary_requests
    ADD CONSTRAINT summary_requests_pkey PRIMARY KEY (tenant_id, conversation_id);


--
-- Name: turns turns_pkey; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.turns
    ADD CONSTRAINT turns_pkey PRIMARY KEY (tenant_id, conversation_id, idx);


--
-- Name: turns turns_turn_id_unique; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.turns
    ADD CONSTRAINT turns_turn_id_unique UNIQUE (tenant_id, conversation_id, turn_id);


--
-- Name: events uq_events_stream_version; Type: CONSTRAINT; Schema: conversations; Owner: -
--

ALTER TABLE ONLY conversations.events
    ADD CONSTRAINT uq_events_stream_version UNIQUE (tenant_id, stream_id, version);


--
-- Name: context_usage_tenant_at; Type: INDEX; Schema: conversations; Owner: -
--

CREATE INDEX context_usage_tenant_at ON conversations.context_usage USING btree (tenant_id, at);


--
-- Name: dead_letters_unresolved; Type: INDEX; Schema: conversations; Owner: -
--

CREATE INDEX dead_letters_unresolved ON conversations.dead_letters USING btree (projection) WHERE (resolved_at IS NULL);


--
-- Name: examples_task; Type: INDEX; Schema: conversations; Owner: -
--

CREATE INDEX examples_task ON conversations.examples USING btree (tenant_id, task);


--
-- Name: llm_calls_tenant_at; Type: INDEX; Schema: conversations; Owner: -
--

CREATE INDEX llm_calls_tenant_at ON conversations.llm_calls USING btree (tenant_id, at);


--
-- PostgreSQL database dump complete
--


