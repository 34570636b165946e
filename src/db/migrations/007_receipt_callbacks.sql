-- Receipts (delivery receipts, failure notices) pushed to senders that receive by push, as the
-- documents and status messages they receive are. One row per receipt; the row is the outbox:
-- the worker claims due rows (SKIP LOCKED, so several workers share the work), POSTs the signed
-- receipt, and records the outcome with the same retry policy as deliveries. Senders that
-- receive by pull read receipts from GET /v1/receipts instead.
CREATE TABLE receipt_callbacks (
  id uuid PRIMARY KEY,
  receipt_id uuid NOT NULL UNIQUE REFERENCES receipts (id),
  document_id uuid NOT NULL REFERENCES documents (id),
  agency_code text NOT NULL REFERENCES agencies (code),
  state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending', 'waiting_retry', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  last_status integer,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX receipt_callbacks_due ON receipt_callbacks (next_attempt_at NULLS FIRST, created_at) WHERE state IN ('queued', 'sending', 'waiting_retry');
