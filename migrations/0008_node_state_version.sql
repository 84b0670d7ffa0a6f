-- target: placement
-- How many report writes a node's row has seen. A writer names the version its diff was made
-- against and the row moves only from that version: a write whose outcome was in doubt (its
-- commit timed out) that lands after the writer re-read the node makes the next write fail and
-- re-read, instead of committing a diff against state that is no longer there.
ALTER TABLE nodes ADD COLUMN state_version bigint NOT NULL DEFAULT 0;
