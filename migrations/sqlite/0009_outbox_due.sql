-- The outbox worker asks when the next pending effect falls due after every
-- round; without an index that read every pending row, so a backlog made
-- each round slower than the last.
CREATE INDEX outbox_due ON outbox (next_at) WHERE state = 'pending';
