-- People: clerks (bound to one agency), auditors and admins (src/domain/principal.ts). Agency
-- systems are not users: they have agency_credentials.
CREATE TABLE users (
  id uuid PRIMARY KEY,
  username text NOT NULL,
  display_name text NOT NULL DEFAULT '',
  role text NOT NULL CHECK (role IN ('clerk', 'auditor', 'admin')),
  -- A clerk works for exactly one agency; auditors and admins for none.
  agency_code text REFERENCES agencies (code),
  -- scrypt$<logN>$<r>$<p>$<salt b64>$<hash b64> (src/accounts/password-hash.ts); NULL: no
  -- password login (API tokens only) until an admin sets one.
  password_hash text,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((role = 'clerk') = (agency_code IS NOT NULL)),
  CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$')
);
CREATE UNIQUE INDEX users_username ON users (username);

-- Console sessions. Only the SHA-256 of the session secret is stored: a copy of the table opens
-- no session. Idle expiry is last_seen_at + the configured idle time; expires_at is absolute.
CREATE TABLE user_sessions (
  secret_sha256 text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  source text
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);
CREATE INDEX user_sessions_expiry ON user_sessions (expires_at);

-- Personal API tokens for scripts: `lu_<prefix>_<secret>` (256 random bits, so SHA-256 is
-- enough, as for agency API keys); shown once, revocable, optionally expiring.
CREATE TABLE user_tokens (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id),
  token_prefix text NOT NULL UNIQUE,
  secret_sha256 text NOT NULL,
  label text NOT NULL DEFAULT '',
  created_by uuid REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX user_tokens_user ON user_tokens (user_id);
