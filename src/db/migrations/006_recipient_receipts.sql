-- A recipient's own signed receipt, returned in the answer to a push: kept as the recipient sent
-- it, with the outcome of verifying it (signed by the recipient agency's registered certificate,
-- chain and revocation checked) and the signature-log entry of that verification. An answer that
-- does not verify is kept too (verified = false, with the reason): it is evidence of what the
-- recipient said, not proof.
CREATE TABLE recipient_receipts (
  id uuid PRIMARY KEY,
  delivery_id uuid NOT NULL REFERENCES deliveries (id),
  document_id uuid NOT NULL REFERENCES documents (id),
  recipient_code text NOT NULL,
  xml text NOT NULL,
  digest_sha256 text NOT NULL,
  verified boolean NOT NULL,
  reason_code text,
  detail text,
  signer_subject text,
  signer_fingerprint_sha256 text,
  signature_log_id bigint,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recipient_receipts_document ON recipient_receipts (document_id, received_at);
CREATE INDEX recipient_receipts_delivery ON recipient_receipts (delivery_id);
