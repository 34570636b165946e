-- A delivery whose route kind has no sender in the worker (a peer or upstream route while no
-- sender for it is configured) is held: looked at again later, its attempt not counted. Its retry
-- window must count from when it could first be sent, not from its creation: otherwise a delivery
-- held for longer than LIENTHONG_RETRY_WINDOW_MS would fail after one attempt once its sender
-- exists. held_at is the last time it was held; the window starts at the later of created_at
-- and held_at (docs/delivery.md, "Held deliveries").
ALTER TABLE deliveries ADD COLUMN held_at timestamptz;
