-- target: catalog
-- The one beat the gateways stretch sensors to while what they forward is refused for load.
-- Each gateway's heartbeat writes its totals since it started (reports and polls forwarded and
-- answered; of them, refused for load); the coordinator leader reads them every cycle, decides
-- the beat for the whole cluster and keeps it here while it is above the base (no row, or 0:
-- not raised), refreshing decided_at every cycle so gateways can tell a beat no leader keeps.
ALTER TABLE members
    ADD COLUMN forwarded         bigint NOT NULL DEFAULT 0,
    ADD COLUMN refused_for_load  bigint NOT NULL DEFAULT 0;

CREATE TABLE cluster_beat (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    beat_rate   integer     NOT NULL,
    decided_by  text        NOT NULL,
    decided_at  timestamptz NOT NULL
);
