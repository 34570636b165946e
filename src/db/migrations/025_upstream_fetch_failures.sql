-- Items an upstream lists that could not be fetched or accepted (a getEdoc that times out or fails
-- for that one id, an accept that throws): a poison item. Without a memory of them, the same
-- failing items would be tried first every round and use up the round's fetch budget, so the
-- items listed after them would never be fetched. With it, a failed item waits an exponential
-- backoff (capped) before it is tried again and never-failed items go first; nothing is given up:
-- the item stays listed upstream and is tried again until it is fetched, refused or acknowledged.
CREATE TABLE upstream_fetch_failures (
  upstream_id text NOT NULL,
  upstream_doc_id text NOT NULL,
  attempts integer NOT NULL,
  last_error text NOT NULL,
  last_failed_at timestamptz NOT NULL DEFAULT now(),
  next_attempt_at timestamptz NOT NULL,
  PRIMARY KEY (upstream_id, upstream_doc_id)
);
