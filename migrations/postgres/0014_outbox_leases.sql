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

-- The outbox's rows change state once each (pending to done), leaving a
-- dead entry in the pending index until a vacuum; under load the default
-- (a vacuum after a fifth of the table changed) let them pile up and every
-- look for the next effect walked through thousands. Vacuum it early.
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 2000,
                        autovacuum_vacuum_insert_scale_factor = 0.0, autovacuum_vacuum_insert_threshold = 2000);
