-- Indexes for the clerk tracking API and the auditor's signature-log search (docs/tracking.md).
-- Lists are newest first with keyset pages on (time, id); each index below lets one filter walk
-- its rows in that order and stop after a page, so a page costs the same with 1,000,000 rows as
-- with 1,000 (EXPLAIN in test/evidence/signature-log-search.test.ts).

-- Signature log: the default order, and the filters an auditor uses most.
CREATE INDEX signature_log_time ON signature_log (logged_at, id);
CREATE INDEX signature_log_claimed_time ON signature_log (claimed_agency, logged_at, id);
CREATE INDEX signature_log_authenticated_time ON signature_log (authenticated_agency, logged_at, id);
CREATE INDEX signature_log_reason_time ON signature_log (reason_code, logged_at, id) WHERE reason_code IS NOT NULL;
CREATE INDEX signature_log_fingerprint ON signature_log (cert_fingerprint) WHERE cert_fingerprint IS NOT NULL;
CREATE INDEX signature_log_serial ON signature_log (cert_serial) WHERE cert_serial IS NOT NULL;
CREATE INDEX signature_log_hub_document ON signature_log (hub_document_id) WHERE hub_document_id IS NOT NULL;
CREATE INDEX signature_log_edxml_document ON signature_log (edxml_document_id) WHERE edxml_document_id IS NOT NULL;
CREATE INDEX signature_log_weak_time ON signature_log (logged_at, id) WHERE 'weak' = ANY (flags);

-- Tracking: sent documents of an agency and received ones (through their deliveries), newest first.
CREATE INDEX documents_sender_time_id ON documents (sender_code, accepted_at, id) WHERE kind = 'document';
CREATE INDEX documents_time_id ON documents (accepted_at, id) WHERE kind = 'document';
CREATE INDEX deliveries_recipient_time_document ON deliveries (recipient_code, created_at, document_id);
