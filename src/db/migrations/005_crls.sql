-- Revocation data fetched from the configured CRL URLs by a worker (src/hub/crl-refresh.ts), read
-- by every gateway, which merges it over the trust directory's CRLs. One row per CRL issuer: the
-- newest CRL held (a fetched CRL that is not newer than this row is never written: anti-rollback).
-- crl_number is kept as decimal text (CRL numbers go up to 20 octets) and compared in the code.
CREATE TABLE crls (
  issuer text PRIMARY KEY,
  source_url text NOT NULL,
  der bytea NOT NULL,
  sha256 text NOT NULL,
  crl_number text,
  this_update timestamptz NOT NULL,
  next_update timestamptz,
  -- when this CRL was first stored, and when a URL last served it (or a newer one was looked for).
  fetched_at timestamptz NOT NULL DEFAULT now(),
  checked_at timestamptz NOT NULL DEFAULT now()
);

-- The refresh job's shared state: a lease so that with several workers one of them fetches per
-- round (no session-level advisory lock: pooled connections and PGlite would not keep it), and
-- the outcome of the last round for readiness and operators.
CREATE TABLE crl_refresh (
  id smallint PRIMARY KEY CHECK (id = 1),
  leased_until timestamptz NOT NULL DEFAULT '-infinity',
  leased_by text,
  last_round_at timestamptz,
  last_failures jsonb NOT NULL DEFAULT '[]'
);
INSERT INTO crl_refresh (id) VALUES (1);
