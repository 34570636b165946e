-- Leases of the background tasks that should run in one process at a time across the cluster
-- (src/background/periodic-task.ts): the outbox reconciler's sweep, retention, signature-log
-- checkpoints. A lease is a timestamp, not a lock held on a connection: a process that dies
-- mid-round only delays the next round until its lease runs out. The holder renews its own lease,
-- so the rounds stay with one process instead of flapping between them.
CREATE TABLE background_leases (
  name text PRIMARY KEY,
  leased_until timestamptz NOT NULL,
  leased_by text NOT NULL
);
