-- Peer forwarding between lienthong hubs (issue 13), on top of the routing tables (015_routes):
-- which deliveries go to a peer hub is the delivery's route (route_kind = 'peer', route_target =
-- the hub id), and the peers themselves are route_peers. This adds what forwarding itself keeps.

-- The hop list a forwarded document arrived with (hub ids and times, oldest first; this hub's own
-- acceptance is the document's accepted_at), and the peer hub that forwarded it: statuses about
-- the document go back to that hub, along the path the document came.
ALTER TABLE documents ADD COLUMN hops jsonb;
ALTER TABLE documents ADD COLUMN received_from_hub text;

-- What a peer hub forwarded to us, by its Idempotency-Key (its delivery id): a retried hop gets
-- the same acceptance receipt again, and is not a second delivery.
CREATE TABLE peer_arrivals (
  peer_hub_id text NOT NULL,
  idempotency_key text NOT NULL,
  document_id uuid NOT NULL REFERENCES documents (id),
  delivery_id uuid REFERENCES deliveries (id),
  recipient_code text NOT NULL,
  receipt_xml text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (peer_hub_id, idempotency_key)
);

-- The peer hub's signed acceptance receipt for a forwarded delivery (that hop's receipt), with
-- the outcome of verifying it against the peer's pinned signing certificate.
CREATE TABLE hop_receipts (
  id uuid PRIMARY KEY,
  delivery_id uuid NOT NULL REFERENCES deliveries (id),
  peer_hub_id text NOT NULL,
  peer_document_id uuid,
  xml text NOT NULL,
  verified boolean NOT NULL,
  reason_code text,
  detail text,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hop_receipts_delivery ON hop_receipts (delivery_id, received_at);

-- A recipient added to a document by a later hop (the same document forwarded again for another
-- of its recipients) gets an acceptance receipt of its own, naming it, kept with that delivery's
-- id: the document's own acceptance receipt (delivery_id NULL) stays one per document.
DROP INDEX receipts_acceptance;
CREATE UNIQUE INDEX receipts_acceptance ON receipts (document_id) WHERE kind = 'acceptance' AND delivery_id IS NULL;
