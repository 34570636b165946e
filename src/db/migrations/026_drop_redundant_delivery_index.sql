-- deliveries_recipient (recipient_code, created_at), from migration 001, is a leading prefix of
-- deliveries_recipient_time_document (recipient_code, created_at, document_id), migration 021:
-- every lookup or range scan it served, the wider index serves in the same order. Keeping both
-- cost one more B-tree insertion per delivery on the accept path (issue 15) for nothing.
DROP INDEX IF EXISTS deliveries_recipient;
