-- Which replica delivers a lane of the outbox, until when. With several
-- copies of warroom on one PostgreSQL database, one replica owns a lane at
-- a time, so each lane's effects go out once and in order; a replica that
-- dies stops renewing, and its lanes pass to another when the lease ends.
-- (On SQLite one process owns the file, and the table stays empty.)
CREATE TABLE outbox_leases (
    lane  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until TEXT NOT NULL
);

-- Slack requests already taken, by their signature, so one replayed to
-- another replica or after a restart is refused. Rows older than Slack's
-- five-minute window are deleted.
CREATE TABLE slack_requests (
    signature TEXT PRIMARY KEY,
    seen_at   TEXT NOT NULL
);
CREATE INDEX slack_requests_seen ON slack_requests (seen_at);
