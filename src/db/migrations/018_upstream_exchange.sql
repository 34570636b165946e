-- What this hub exchanged with an upstream VDXP axis (docs/vdxp-compat.md, "In front of the
-- national axis").

-- Each document or status message fetched from an upstream, once: the poller looks here before
-- fetching (a listed id already decided is only acknowledged again), so nothing is fetched into
-- the hub twice. The row is written right after our accepting transaction commits and before
-- updateStatus is sent: a crash in between leaves the item listed upstream, the next poll fetches
-- it again and the accept path answers it as the duplicate of the document already stored.
CREATE TABLE upstream_received (
  upstream_id text NOT NULL,
  upstream_doc_id text NOT NULL,
  message_type text NOT NULL CHECK (message_type IN ('edoc', 'status')),
  -- accepted: a new hub document; duplicate: one the hub already had; rejected: refused by the
  -- verification (the signature log entry says why) or unreadable (no entry, reason_code says).
  outcome text NOT NULL CHECK (outcome IN ('accepted', 'duplicate', 'rejected')),
  document_id uuid REFERENCES documents (id),
  signature_log_id bigint,
  reason_code text,
  detail text,
  fetched_at timestamptz NOT NULL DEFAULT now(),
  -- updateStatus answered OK by the upstream: done (accepted, duplicate) or fail (rejected).
  ack_status text CHECK (ack_status IN ('done', 'fail')),
  acknowledged_at timestamptz,
  PRIMARY KEY (upstream_id, upstream_doc_id)
);
CREATE INDEX upstream_received_document ON upstream_received (document_id);

-- Deliveries sent to an upstream: the upstream's id of the document (sendEdoc's DocId) and its
-- view of it (getSentEdocList), shown beside the delivery.
CREATE TABLE upstream_sent (
  delivery_id uuid PRIMARY KEY REFERENCES deliveries (id) ON DELETE CASCADE,
  upstream_id text NOT NULL,
  upstream_doc_id text NOT NULL,
  sent_at timestamptz NOT NULL DEFAULT now(),
  send_status text,
  receive_status text,
  receive_status_desc text,
  checked_at timestamptz
);
CREATE INDEX upstream_sent_by_doc ON upstream_sent (upstream_id, upstream_doc_id);
