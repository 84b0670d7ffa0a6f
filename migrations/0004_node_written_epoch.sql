-- target: placement
-- The shard epoch under which a node's row was last written: an audit of fencing (a former
-- owner's write would carry an epoch below the shard's current one, which fencing forbids).
ALTER TABLE nodes ADD COLUMN written_epoch bigint NOT NULL DEFAULT 0;
