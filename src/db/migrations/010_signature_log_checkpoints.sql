-- Signed checkpoints of the signature log head (docs/signature-log.md, "Checkpoints"): the hub signs
-- "entry #head_id has entry_hash head_hash, the log had `entries` entries, at issued_at". A later
-- log must still hold that entry with that hash, so deleting entries at the END of the log (which
-- leaves a valid shorter chain) is seen. `signed` is the exact JSON document (statement, signature,
-- certificate) as exported by `lienthong audit export-checkpoint`, verifiable offline.
CREATE TABLE signature_log_checkpoints (
  id bigserial PRIMARY KEY,
  issued_at timestamptz NOT NULL,
  head_id bigint,
  head_hash text NOT NULL,
  entries bigint NOT NULL,
  hub_fingerprint text NOT NULL,
  signed text NOT NULL
);

CREATE FUNCTION signature_log_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'signature_log_checkpoints is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER signature_log_checkpoints_no_update BEFORE UPDATE OR DELETE ON signature_log_checkpoints
  FOR EACH ROW EXECUTE FUNCTION signature_log_checkpoints_append_only();
CREATE TRIGGER signature_log_checkpoints_no_truncate BEFORE TRUNCATE ON signature_log_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION signature_log_checkpoints_append_only();
