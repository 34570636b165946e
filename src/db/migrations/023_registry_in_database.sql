-- The agency registry and the trust store's extra CAs held in the database (issue 14, admin API),
-- layered over the files (docs/agency-registry.md, "Registry in the database"):
--  * an agency listed in the registry file is `managed_by = 'file'`: every start (and SIGHUP)
--    writes the file's entry over its row, as before;
--  * the first change an admin makes (API or CLI) turns it `admin`: from then on its row rules
--    and the file's entry for it is ignored. Agencies created by an admin are `admin` from birth.
--  * `lienthong registry export` writes the rows back as a registry file.
ALTER TABLE agencies ADD COLUMN managed_by text NOT NULL DEFAULT 'file' CHECK (managed_by IN ('file', 'admin'));
ALTER TABLE agencies ADD COLUMN subject_rule jsonb;
ALTER TABLE agencies ADD COLUMN allow_unsigned_envelopes boolean NOT NULL DEFAULT false;

-- Sender binding by certificate (security.md step 5): SHA-256 fingerprints, lower-case hex without
-- colons. A revoked one stays (who revoked what is in admin_audit) but no longer binds.
CREATE TABLE agency_signing_certificates (
  agency_code text NOT NULL REFERENCES agencies (code),
  fingerprint text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
  -- Known when the certificate itself was uploaded (API, CLI); NULL for a bare fingerprint (file).
  subject text,
  not_after timestamptz,
  label text NOT NULL DEFAULT '',
  added_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  PRIMARY KEY (agency_code, fingerprint)
);

-- Trust anchors and intermediate CAs added by an admin, on top of the trust directory's (which
-- stays read-only to the API). Checked when added: a CA, current, an intermediate issued by a CA
-- already trusted.
CREATE TABLE trust_cas (
  fingerprint text PRIMARY KEY CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
  kind text NOT NULL CHECK (kind IN ('anchor', 'intermediate')),
  der bytea NOT NULL,
  subject text NOT NULL,
  not_after timestamptz NOT NULL,
  added_at timestamptz NOT NULL DEFAULT now(),
  added_by text NOT NULL
);

-- One number that moves with every change to the three tables above: gateways, their verification
-- threads and worker processes poll it (src/hub/revocation-sync.ts) and reload when it moved.
-- Row-level triggers: a seeding statement that changes nothing leaves it alone.
CREATE TABLE registry_version (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version bigint NOT NULL
);
INSERT INTO registry_version (singleton, version) VALUES (true, 1);

CREATE FUNCTION registry_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE registry_version SET version = version + 1;
  RETURN NULL;
END
$$;
CREATE TRIGGER agencies_version AFTER INSERT OR UPDATE OR DELETE ON agencies
  FOR EACH ROW EXECUTE FUNCTION registry_version_bump();
CREATE TRIGGER agency_signing_certificates_version AFTER INSERT OR UPDATE OR DELETE ON agency_signing_certificates
  FOR EACH ROW EXECUTE FUNCTION registry_version_bump();
CREATE TRIGGER trust_cas_version AFTER INSERT OR UPDATE OR DELETE ON trust_cas
  FOR EACH ROW EXECUTE FUNCTION registry_version_bump();
