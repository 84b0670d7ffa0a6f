-- target: catalog
-- Web console sessions signed out while their access token still lived. A session's cookie holds
-- its random ID and an access token renewed while pages are used, so clearing the cookie in the
-- browser alone would leave a copy of it working; every gateway refuses a session whose ID's
-- SHA-256 is here. Rows go out with the last token the session could hold (`forget_after`:
-- twice the access-token lifetime after the sign-out), removed by the next sign-out.
CREATE TABLE ended_web_sessions (
    session_hash bytea PRIMARY KEY,
    ended_at timestamptz NOT NULL DEFAULT now(),
    forget_after timestamptz NOT NULL
);
