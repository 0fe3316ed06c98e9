-- An incident's checklist (issue 17): its steps as JSON, each with its
-- stage, text, link, owner role, done_when, and when and by whom it was
-- ticked. The steps are read and written with the incident, in the same
-- transaction as the timeline entry that ticks one, so a tick is never
-- half-recorded. checklist_ts is the war room's checklist message.
ALTER TABLE incidents ADD COLUMN checklist TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN checklist_ts TEXT NOT NULL DEFAULT '';
