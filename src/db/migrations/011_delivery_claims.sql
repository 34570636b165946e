-- Fencing of delivery outcomes (docs/delivery.md, "Takeover and fencing"): each push attempt
-- stores a fresh claim token on the row when it claims the delivery (state -> sending), and its
-- outcome (delivered, waiting_retry, failed) is written only WHERE claim_token is still its own.
-- A worker that lost its job lock (paused, stalled) and whose delivery another worker claimed
-- meanwhile changes 0 rows: its late outcome is logged and dropped.
ALTER TABLE deliveries ADD COLUMN claim_token uuid;
