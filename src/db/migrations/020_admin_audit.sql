-- The admin audit trail: every human action that changes state (logins and failed logins,
-- logouts, tokens, users, resend/cancel, agency registry and trust-store changes), who did it,
-- when, from where, and a summary of before and after. Append-only like the signature log.
CREATE TABLE admin_audit (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  -- The user who acted (NULL: the CLI, or a failed login by nobody known).
  actor_user_id uuid REFERENCES users (id),
  -- Username, `cli:<os user>` or `anonymous`: readable even if the user row changes later.
  actor text NOT NULL,
  actor_via text NOT NULL CHECK (actor_via IN ('session', 'token', 'cli', 'anonymous')),
  action text NOT NULL,
  target text,
  -- Client address (API) or `cli@<host>`.
  source text,
  request_id text,
  before jsonb,
  after jsonb,
  detail text
);
CREATE INDEX admin_audit_action ON admin_audit (action, id);
CREATE INDEX admin_audit_actor ON admin_audit (actor_user_id, id);

CREATE FUNCTION admin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'admin_audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER admin_audit_no_update BEFORE UPDATE OR DELETE ON admin_audit
  FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only();
CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON admin_audit
  FOR EACH STATEMENT EXECUTE FUNCTION admin_audit_append_only();
