-- The public record: each public update stores everything the public saw as
-- of that publish (the public title, the components and their statuses, the
-- impact level), so the status page, its feed, the export and Statuspage
-- render from what a communicator published and nothing else.
ALTER TABLE public_updates ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE public_updates ADD COLUMN impact TEXT NOT NULL DEFAULT 'none';
-- JSON object: component name -> status.
ALTER TABLE public_updates ADD COLUMN components TEXT NOT NULL DEFAULT '{}';

-- Updates published before this stored only their status and text; the page
-- then showed the incident's live title, components and severity, so that
-- is what they are given.
UPDATE public_updates SET
    title = (SELECT title FROM incidents WHERE number = public_updates.incident),
    impact = (SELECT CASE severity WHEN 1 THEN 'critical' WHEN 2 THEN 'major' WHEN 3 THEN 'minor' ELSE 'none' END
              FROM incidents WHERE number = public_updates.incident),
    components = COALESCE((SELECT json_group_object(c.name, CASE WHEN public_updates.status = 'resolved' THEN 'operational' ELSE c.status END)
                           FROM incident_components c WHERE c.incident = public_updates.incident), '{}');

-- What the public was last told about an incident (status and title), and
-- when: '' while nothing has been published. The status page finds its incidents by these.
ALTER TABLE incidents ADD COLUMN public_status TEXT NOT NULL DEFAULT ''
    CHECK (public_status IN ('', 'investigating', 'identified', 'monitoring', 'resolved'));
ALTER TABLE incidents ADD COLUMN public_title TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN published_at TEXT;

UPDATE incidents SET
    public_status = (SELECT status FROM public_updates p WHERE p.incident = incidents.number ORDER BY p.id DESC LIMIT 1),
    public_title = title,
    published_at = (SELECT at FROM public_updates p WHERE p.incident = incidents.number ORDER BY p.id DESC LIMIT 1)
WHERE EXISTS (SELECT 1 FROM public_updates p WHERE p.incident = incidents.number);

CREATE INDEX incidents_published ON incidents (public_status, published_at) WHERE public_status <> '';
