-- Tracking lists at 1,000,000 documents (docs/tracking.md "Indexes", docs/benchmarks.md "Console
-- pages"), and the staff who sent each status message.

-- (recipient_code, created_at) is a prefix of deliveries_recipient_time_document (migration 021),
-- which serves every query the shorter one did: one index less to write per delivery.
DROP INDEX IF EXISTS deliveries_recipient;

-- Số (CodeNumber) is matched exactly: without this, a number filter walks the agency's whole list
-- (0.8-3.5 s at 1,000,000 documents); with it, the few documents of that number are read by index
-- and the sender or the agency's delivery is checked per document. Not partial (no WHERE kind):
-- the planner takes an expression's statistics only from a non-partial index, and without them
-- it guesses a number matches 0.5% of the rows and walks the list instead.
CREATE INDEX documents_code_number ON documents ((envelope->'code'->>'number'));

-- Received documents filtered by the agency's own delivery state: the state is in the index, so a
-- rare state (failed) is found without walking every delivery to the agency.
CREATE INDEX deliveries_recipient_state_time ON deliveries (recipient_code, state, created_at, document_id);

-- Subject (trích yếu) and notation (ký hiệu) are searched as substrings (ILIKE '%text%'). A
-- b-tree cannot serve that; a trigram GIN index can (pg_trgm, PostgreSQL contrib; PGlite ships it
-- as @electric-sql/pglite/contrib/pg_trgm and the embedded database loads it). The extension goes
-- into `public`, never into the hub's own schema: an extension belongs to the database, and one
-- created in a schema that is later dropped would take every other schema's indexes with it.
-- Where the extension cannot be created (no contrib package, no privilege), the filters still
-- work, unindexed: the lists are correct, only slower for a rare substring. Not partial, for the
-- statistics (as above): with them the planner reads a common word ("văn bản") by walking the
-- list in order and stopping after a page, and a rare one through the trigram index.
DO $$
BEGIN
  BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
  EXCEPTION WHEN undefined_file OR insufficient_privilege OR feature_not_supported THEN
    RAISE NOTICE 'pg_trgm unavailable (%): subject and notation filters stay unindexed', SQLERRM;
  END;
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    EXECUTE format('CREATE INDEX documents_subject_trgm ON documents USING gin ((envelope->>%L) %I.gin_trgm_ops)',
      'subject', (SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'));
    EXECUTE format('CREATE INDEX documents_notation_trgm ON documents USING gin ((envelope->%L->>%L) %I.gin_trgm_ops)',
      'code', 'notation', (SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'));
  END IF;
END
$$;

-- StaffInfo {Department, Staff, Email, Mobile} of a status message (domain.md): who at the
-- recipient registered, assigned or refused the document, shown on the timeline. It is part of the
-- signed envelope the hub stores with the status message (documents.envelope->'staff'); copied
-- onto the status event when the event is written, so the timeline reads one row per status. A
-- trigger rather than a change to lienthong_accept_document (migration 014): the accepting
-- statement stays one definition, and every path that writes a status event gets the staff.
ALTER TABLE status_events ADD COLUMN staff jsonb;

CREATE FUNCTION lienthong_status_event_staff() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.staff IS NULL THEN
    SELECT d.envelope->'staff' INTO NEW.staff FROM documents d WHERE d.id = NEW.status_document_id;
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER status_events_staff BEFORE INSERT ON status_events
  FOR EACH ROW EXECUTE FUNCTION lienthong_status_event_staff();
