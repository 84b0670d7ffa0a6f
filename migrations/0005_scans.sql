-- target: placement
-- Scans and their findings. A scan lives in the placement of its node's shard; its findings
-- are partitioned by the day the scan was created (<table>_yyyyMMdd), so one partition holds
-- every finding of a scan, the natural-key primary key dedupes resends, and retention drops
-- whole days of scans at once.

CREATE TABLE scans (
    scan_id        text        PRIMARY KEY,
    node_id        text        NOT NULL,
    shard          integer     NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('vulnerability', 'secret', 'malware', 'compliance', 'cloud_compliance')),
    status         text        NOT NULL CHECK (status IN ('QUEUED', 'STARTING', 'IN_PROGRESS', 'CANCEL_PENDING', 'CANCELLING',
                                                          'COMPLETE', 'ERROR', 'CANCELLED')),
    message        text        NOT NULL DEFAULT '',
    -- Percent of checks done, where the sensor says (cloud compliance).
    progress       double precision,
    -- Findings stored, in total and per severity (compliance: per status).
    findings       integer     NOT NULL DEFAULT 0,
    counts         jsonb       NOT NULL DEFAULT '{}',
    -- The start command that was queued for it, if the console queued one.
    command_id     bigint,
    created_at     timestamptz NOT NULL,
    started_at     timestamptz,
    updated_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    written_epoch  bigint      NOT NULL DEFAULT 0
);
CREATE INDEX scans_by_node ON scans (node_id, kind, created_at DESC);
CREATE INDEX scans_open ON scans (shard, updated_at) WHERE finished_at IS NULL;
CREATE INDEX scans_by_created ON scans (created_at, scan_id);
CREATE INDEX scans_by_command ON scans (command_id) WHERE command_id IS NOT NULL;

CREATE TABLE vulnerability_findings (
    scan_created_at  timestamptz NOT NULL,
    scan_id          text        NOT NULL,
    node_id          text        NOT NULL,
    finding_key      text        NOT NULL,
    severity         text        NOT NULL,
    received_at      timestamptz NOT NULL,
    body             jsonb       NOT NULL,
    cve_id   text GENERATED ALWAYS AS (body->>'cve_id') STORED,
    package  text GENERATED ALWAYS AS (body->>'cve_caused_by_package') STORED,
    PRIMARY KEY (scan_created_at, scan_id, finding_key)
) PARTITION BY RANGE (scan_created_at);
CREATE INDEX vulnerability_findings_by_node ON vulnerability_findings (node_id, severity);

CREATE TABLE secret_findings (
    scan_created_at  timestamptz NOT NULL,
    scan_id          text        NOT NULL,
    node_id          text        NOT NULL,
    finding_key      text        NOT NULL,
    severity         text        NOT NULL,
    received_at      timestamptz NOT NULL,
    body             jsonb       NOT NULL,
    rule_name  text GENERATED ALWAYS AS (body->'Rule'->>'name') STORED,
    filename   text GENERATED ALWAYS AS (body->'Match'->>'full_filename') STORED,
    PRIMARY KEY (scan_created_at, scan_id, finding_key)
) PARTITION BY RANGE (scan_created_at);
CREATE INDEX secret_findings_by_node ON secret_findings (node_id, severity);

CREATE TABLE malware_findings (
    scan_created_at  timestamptz NOT NULL,
    scan_id          text        NOT NULL,
    node_id          text        NOT NULL,
    finding_key      text        NOT NULL,
    severity         text        NOT NULL,
    received_at      timestamptz NOT NULL,
    body             jsonb       NOT NULL,
    rule_name  text GENERATED ALWAYS AS (body->>'rule_name') STORED,
    filename   text GENERATED ALWAYS AS (body->>'complete_filename') STORED,
    PRIMARY KEY (scan_created_at, scan_id, finding_key)
) PARTITION BY RANGE (scan_created_at);
CREATE INDEX malware_findings_by_node ON malware_findings (node_id, severity);

CREATE TABLE compliance_findings (
    scan_created_at  timestamptz NOT NULL,
    scan_id          text        NOT NULL,
    node_id          text        NOT NULL,
    finding_key      text        NOT NULL,
    severity         text        NOT NULL,
    received_at      timestamptz NOT NULL,
    body             jsonb       NOT NULL,
    test_number  text GENERATED ALWAYS AS (body->>'test_number') STORED,
    check_type   text GENERATED ALWAYS AS (body->>'compliance_check_type') STORED,
    PRIMARY KEY (scan_created_at, scan_id, finding_key)
) PARTITION BY RANGE (scan_created_at);
CREATE INDEX compliance_findings_by_node ON compliance_findings (node_id, severity);

CREATE TABLE cloud_compliance_findings (
    scan_created_at  timestamptz NOT NULL,
    scan_id          text        NOT NULL,
    node_id          text        NOT NULL,
    finding_key      text        NOT NULL,
    severity         text        NOT NULL,
    received_at      timestamptz NOT NULL,
    body             jsonb       NOT NULL,
    control_id  text GENERATED ALWAYS AS (body->>'control_id') STORED,
    resource    text GENERATED ALWAYS AS (body->>'resource') STORED,
    PRIMARY KEY (scan_created_at, scan_id, finding_key)
) PARTITION BY RANGE (scan_created_at);
CREATE INDEX cloud_compliance_findings_by_node ON cloud_compliance_findings (node_id, severity);

-- A cloud account's inventory, as its cloud scanner last reported each resource.
CREATE TABLE cloud_resources (
    node_id       text        NOT NULL,
    resource_key  text        NOT NULL,
    body          jsonb       NOT NULL,
    first_seen    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (node_id, resource_key)
);

-- One CSV field: quoted when it holds a comma, quote or line break; a value a spreadsheet
-- would run as a formula (= + - @ tab CR first) gets a leading ' (findings carry file names
-- and strings from scanned hosts).
CREATE FUNCTION csv_field(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN value IS NULL THEN ''
        WHEN value ~ '^[=+@\t\r-]' THEN '"''' || replace(value, '"', '""') || '"'
        WHEN value ~ '[",\r\n]' THEN '"' || replace(value, '"', '""') || '"'
        ELSE value
    END
$$;
