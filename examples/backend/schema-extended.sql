-- Extra tables for what the specification's schema has no column for, written by `[outputs.postgresql] extended = true`
-- beside the tables of schema.sql. Same rules: every statement is idempotent, tables made by hand are kept, and the
-- unique keys make a repeated write of the same collection a no-op (ON CONFLICT DO NOTHING).

-- One row per mounted filesystem and collection of the disk collector (`system_info.disks`; stale mounts are left out).
CREATE TABLE IF NOT EXISTS agent_filesystems (
    id BIGSERIAL PRIMARY KEY,
    agent_id VARCHAR(50) NOT NULL,
    timestamp TIMESTAMP NOT NULL,
    mount_point VARCHAR(255) NOT NULL,
    fs_type VARCHAR(50),
    total_bytes BIGINT,
    used_bytes BIGINT,
    available_bytes BIGINT,
    usage_percent DECIMAL(5,2)
);

-- One row per collection of the network collector: the totals over non-loopback interfaces (`system_info.network`).
CREATE TABLE IF NOT EXISTS agent_network (
    id BIGSERIAL PRIMARY KEY,
    agent_id VARCHAR(50) NOT NULL,
    timestamp TIMESTAMP NOT NULL,
    bytes_sent BIGINT,
    bytes_received BIGINT
);

CREATE UNIQUE INDEX IF NOT EXISTS agent_filesystems_agent_id_timestamp_mount_point_key ON agent_filesystems (agent_id, timestamp, mount_point);
CREATE UNIQUE INDEX IF NOT EXISTS agent_network_agent_id_timestamp_key ON agent_network (agent_id, timestamp);
