-- How many times the public update owed now was snoozed: at most two, so
-- snoozing cannot silence the escalation. Publishing resets it.
ALTER TABLE incidents ADD COLUMN snoozes INTEGER NOT NULL DEFAULT 0;

-- A person may declare only so many incidents a minute (alerts are not
-- limited): the count reads this index.
CREATE INDEX incidents_declarer ON incidents (declared_by, declared_at);
