-- Delivery bookkeeping: when the next attempt is due, what the recipient answered last, and an
-- append-only trail of everything that happened to a delivery (attempts, resend, cancel, ack).
ALTER TABLE deliveries ADD COLUMN next_attempt_at timestamptz;
ALTER TABLE deliveries ADD COLUMN last_status integer;
ALTER TABLE deliveries ADD COLUMN last_response text;
ALTER TABLE deliveries ADD COLUMN delivered_at timestamptz;
CREATE INDEX deliveries_open ON deliveries (state, updated_at) WHERE state IN ('queued', 'sending', 'waiting_retry');
CREATE INDEX deliveries_inbox ON deliveries (recipient_code, created_at, id) WHERE state IN ('available', 'downloaded');

CREATE TABLE delivery_events (
  id bigserial PRIMARY KEY,
  delivery_id uuid NOT NULL REFERENCES deliveries (id),
  at timestamptz NOT NULL DEFAULT now(),
  event text NOT NULL,
  actor text NOT NULL,
  detail text
);
CREATE INDEX delivery_events_delivery ON delivery_events (delivery_id, id);

-- Pull deliveries are ready at once: nothing is queued for them.
ALTER TABLE deliveries ALTER COLUMN enqueued SET DEFAULT false;
