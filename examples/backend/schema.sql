-- The backend schema of the specification (agent-spec.md, "Time-Series Database Schema"): its tables, column names
-- and types unchanged. Every statement is idempotent, so it runs before each use; tables made by hand beforehand,
-- even with extra columns, are kept.
--
-- The unique indexes make writes idempotent: a row is identified by the agent and the collection it came from
-- (`timestamp` is the collection time the agent reports, not the time of the poll or push), so a retried or
-- repeated write of the same collection is skipped with ON CONFLICT DO NOTHING instead of stored twice.
-- They also serve the backend's usual query, "this agent (or all agents) over a time range".

CREATE TABLE IF NOT EXISTS agent_metrics (
    id SERIAL PRIMARY KEY,
    agent_id VARCHAR(50),
    timestamp TIMESTAMP,
    cpu_usage DECIMAL(5,2),
    memory_usage DECIMAL(5,2),
    load_average_1m DECIMAL(5,2),
    load_average_5m DECIMAL(5,2),
    load_average_15m DECIMAL(5,2),
    uptime_seconds BIGINT
);

CREATE TABLE IF NOT EXISTS service_status (
    id SERIAL PRIMARY KEY,
    agent_id VARCHAR(50),
    timestamp TIMESTAMP,
    service_name VARCHAR(100),
    status VARCHAR(20),
    pid INTEGER
);

CREATE TABLE IF NOT EXISTS container_sessions (
    id SERIAL PRIMARY KEY,
    agent_id VARCHAR(50),
    container_id VARCHAR(100),
    username VARCHAR(100),
    session_id VARCHAR(100),
    port INTEGER,
    status VARCHAR(20),
    created_at TIMESTAMP,
    stopped_at TIMESTAMP
);

CREATE UNIQUE INDEX IF NOT EXISTS agent_metrics_agent_id_timestamp_key ON agent_metrics (agent_id, timestamp);
CREATE UNIQUE INDEX IF NOT EXISTS service_status_agent_id_timestamp_service_name_key ON service_status (agent_id, timestamp, service_name);
CREATE UNIQUE INDEX IF NOT EXISTS container_sessions_agent_id_session_id_key ON container_sessions (agent_id, session_id);
