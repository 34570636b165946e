-- Retention: past the configured period the signed bytes of a document whose deliveries are all
-- finished are removed; its digest, envelope facts, deliveries, receipts and signature-log
-- entries stay (they are the evidence, and small). raw_removed_at says when and that it was on
-- purpose.
ALTER TABLE documents ADD COLUMN raw_removed_at timestamptz;
CREATE INDEX documents_retention ON documents (accepted_at) WHERE raw IS NOT NULL;
