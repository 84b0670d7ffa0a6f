-- target: placement
-- SBOM uploads: the gzipped SBOM as the sensor sent it (base64-decoded), in parts of up to
-- 1 MiB, and one row per scan pointing at them. The parts are written first (by the gateway
-- that received the upload); the row is written by the owner of the scan's node in its fenced
-- batch, so an upload whose row never committed leaves parts that nothing points at, which
-- the owner deletes after an hour.
CREATE TABLE sbom_parts (
    upload_id  uuid        NOT NULL,
    part       integer     NOT NULL,
    data       bytea       NOT NULL,
    stored_at  timestamptz NOT NULL,
    PRIMARY KEY (upload_id, part)
);
-- gzip does not compress again: store the parts out of line, as they are.
ALTER TABLE sbom_parts ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE INDEX sbom_parts_by_time ON sbom_parts (stored_at);

CREATE TABLE sboms (
    scan_id         text        PRIMARY KEY,
    node_id         text        NOT NULL,
    upload_id       uuid        NOT NULL,
    bytes           bigint      NOT NULL,
    inflated_bytes  bigint      NOT NULL,
    sha256          text        NOT NULL,
    parts           integer     NOT NULL,
    -- The upload's other members (image_name, host_name, scan_type, …).
    fields          jsonb       NOT NULL,
    stored_at       timestamptz NOT NULL,
    written_epoch   bigint      NOT NULL
);
CREATE INDEX sboms_by_upload ON sboms (upload_id);
