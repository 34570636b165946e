-- The signed hub directory (docs/directory.md).
--
-- What this hub publishes: one row per hub id. The version increases whenever the published
-- content changes or the directory is re-issued before it runs out, so peers can refuse a
-- rollback; every replica signs the same row into the same bytes.
CREATE TABLE directory_publication (
  hub_id text PRIMARY KEY,
  version bigint NOT NULL CHECK (version > 0),
  content_sha256 text NOT NULL,
  issued_at timestamptz NOT NULL,
  valid_until timestamptz NOT NULL
);

-- Every directory accepted from a peer hub, with its raw signed bytes: the evidence of which
-- agencies and signer certificates that hub vouched for, and when.
CREATE TABLE peer_directories (
  hub_id text NOT NULL,
  version bigint NOT NULL,
  issued_at timestamptz NOT NULL,
  valid_until timestamptz NOT NULL,
  signed_bytes bytea NOT NULL,
  sha256 text NOT NULL,
  signer_fingerprint text NOT NULL,
  -- The agencies as read from the verified bytes (code, name, receives, fingerprints, rule).
  agencies jsonb NOT NULL,
  accepted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (hub_id, version)
);

-- Per peer: the directory version in force and how the last fetch ended (readiness, CLI).
CREATE TABLE peer_directory_state (
  hub_id text PRIMARY KEY,
  accepted_version bigint,
  last_attempt_at timestamptz NOT NULL,
  -- The last attempt that ended with the held directory confirmed or replaced.
  last_success_at timestamptz,
  -- NULL when the last attempt succeeded; otherwise a DIRECTORY_* refusal code.
  last_code text,
  last_detail text
);
