-- Recall (1), update (2) and replace (3) documents (Bussiness/BussinessDocType) point at the
-- document they change (Bussiness/DocumentId, same sender); they are routed like new ones.
ALTER TABLE documents ADD COLUMN business_doc_type text;
ALTER TABLE documents ADD COLUMN changes_document_id uuid REFERENCES documents (id);
CREATE INDEX documents_changes ON documents (changes_document_id) WHERE changes_document_id IS NOT NULL;
