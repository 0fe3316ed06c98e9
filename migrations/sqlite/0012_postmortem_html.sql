-- A draft's HTML is rendered once, when the draft is written, and served
-- from here: rendering a large draft on every request let a few readers
-- take the server's memory. Drafts written before keep '' and are rendered
-- once more when first read.
ALTER TABLE postmortems ADD COLUMN html TEXT NOT NULL DEFAULT '';
