-- Agencies, seeded from the registry file at start; credentials are managed by the CLI/API.
CREATE TABLE agencies (
  code text PRIMARY KEY,
  name text NOT NULL,
  delivery_mode text NOT NULL CHECK (delivery_mode IN ('push', 'pull')),
  push_url text,
  allow_weak_algorithms boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- API keys are stored as SHA-256 of the secret (the secret is random 256-bit, so a slow hash adds
-- nothing); the prefix is the public lookup handle. Client certificates by SHA-256 fingerprint.
CREATE TABLE agency_credentials (
  id uuid PRIMARY KEY,
  agency_code text NOT NULL REFERENCES agencies (code),
  kind text NOT NULL CHECK (kind IN ('api_key', 'client_cert')),
  key_prefix text,
  secret_sha256 text,
  cert_fingerprint text,
  label text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  CHECK ((kind = 'api_key' AND key_prefix IS NOT NULL AND secret_sha256 IS NOT NULL) OR
         (kind = 'client_cert' AND cert_fingerprint IS NOT NULL))
);
CREATE UNIQUE INDEX agency_credentials_key_prefix ON agency_credentials (key_prefix) WHERE kind = 'api_key';
CREATE UNIQUE INDEX agency_credentials_cert ON agency_credentials (cert_fingerprint) WHERE kind = 'client_cert' AND revoked_at IS NULL;

-- The signature log: one row per verification attempt, append-only and hash-chained
-- (entry_hash = SHA-256 over prev_hash and the row's canonical content; see src/evidence/).
CREATE TABLE signature_log (
  id bigserial PRIMARY KEY,
  logged_at timestamptz NOT NULL,
  request_id text,
  claimed_agency text,
  authenticated_agency text,
  edxml_document_id text,
  hub_document_id uuid,
  digest_sha256 text NOT NULL,
  size_bytes bigint NOT NULL,
  algorithms jsonb,
  cert_subject text,
  cert_issuer text,
  cert_serial text,
  cert_fingerprint text,
  cert_not_before timestamptz,
  cert_not_after timestamptz,
  chain jsonb,
  revocation jsonb,
  verdict text NOT NULL CHECK (verdict IN ('accepted', 'rejected', 'duplicate')),
  reason_code text,
  detail text,
  flags text[] NOT NULL DEFAULT '{}',
  prev_hash text NOT NULL,
  entry_hash text NOT NULL UNIQUE
);

CREATE FUNCTION signature_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'signature_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER signature_log_no_update BEFORE UPDATE OR DELETE ON signature_log
  FOR EACH ROW EXECUTE FUNCTION signature_log_append_only();
CREATE TRIGGER signature_log_no_truncate BEFORE TRUNCATE ON signature_log
  FOR EACH STATEMENT EXECUTE FUNCTION signature_log_append_only();

-- Documents and status messages as received: the exact signed bytes, their digest and the
-- envelope fields read from the signed content.
CREATE TABLE documents (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('document', 'status')),
  sender_code text NOT NULL REFERENCES agencies (code),
  edxml_document_id text,
  digest_sha256 text NOT NULL UNIQUE,
  size_bytes bigint NOT NULL,
  raw bytea,
  envelope jsonb NOT NULL,
  signer jsonb NOT NULL,
  algorithms jsonb NOT NULL,
  flags text[] NOT NULL DEFAULT '{}',
  status_code text,
  response_for_document_id uuid REFERENCES documents (id),
  -- Set in the accepting transaction after the document row is written, so that the global
  -- signature-log lock is not held while large documents are inserted.
  signature_log_id bigint REFERENCES signature_log (id),
  accepted_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX documents_sender_edxml_id ON documents (sender_code, edxml_document_id)
  WHERE edxml_document_id IS NOT NULL AND kind = 'document';
CREATE INDEX documents_sender ON documents (sender_code, accepted_at DESC);

-- One row per document x recipient: the truth about delivery (Redis only holds jobs).
CREATE TABLE deliveries (
  id uuid PRIMARY KEY,
  document_id uuid NOT NULL REFERENCES documents (id),
  recipient_code text NOT NULL REFERENCES agencies (code),
  mode text NOT NULL CHECK (mode IN ('push', 'pull')),
  state text NOT NULL CHECK (state IN ('queued', 'sending', 'waiting_retry', 'delivered', 'failed', 'cancelled',
                                       'available', 'downloaded', 'acknowledged')),
  enqueued boolean NOT NULL DEFAULT false,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (document_id, recipient_code)
);
CREATE INDEX deliveries_not_enqueued ON deliveries (created_at) WHERE NOT enqueued;
CREATE INDEX deliveries_recipient ON deliveries (recipient_code, created_at);

-- Status messages (01..16) recorded against the document they answer.
CREATE TABLE status_events (
  id uuid PRIMARY KEY,
  document_id uuid NOT NULL REFERENCES documents (id),
  status_document_id uuid NOT NULL REFERENCES documents (id),
  from_code text NOT NULL,
  status_code text NOT NULL,
  description text,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_events_document ON status_events (document_id, recorded_at);

-- Hub-signed evidence: acceptance, delivery, failure receipts (XML-DSig by the hub's key).
CREATE TABLE receipts (
  id uuid PRIMARY KEY,
  document_id uuid NOT NULL REFERENCES documents (id),
  delivery_id uuid REFERENCES deliveries (id),
  kind text NOT NULL CHECK (kind IN ('acceptance', 'delivery', 'failure')),
  xml text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX receipts_acceptance ON receipts (document_id) WHERE kind = 'acceptance';
