-- The backbone (issue 13): where a recipient that is not one of this hub's agencies is sent.
-- Seeded from the registry file (source 'registry', replaced at each start) and managed with
-- `lienthong peer|route` (source 'cli', kept across starts). See docs/agency-registry.md.

-- Another lienthong hub. Certificates are SHA-256 fingerprints (lower-case hex): its TLS server
-- certificate (pinned when we call it), the TLS client certificates it presents when it calls
-- us, and the certificates signing its directory and receipts.
CREATE TABLE route_peers (
  hub_id text PRIMARY KEY,
  base_url text NOT NULL,
  server_certificates text[] NOT NULL,
  client_certificates text[] NOT NULL,
  signing_certificates text[] NOT NULL,
  source text NOT NULL CHECK (source IN ('registry', 'cli')),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- An axis speaking the VDXP protocol. Only where its secret is (a file or an environment
-- variable of the hub's processes): the secret itself is never stored here.
CREATE TABLE route_upstreams (
  upstream_id text PRIMARY KEY,
  endpoint text NOT NULL,
  system_id text NOT NULL,
  secret_file text,
  secret_env text,
  source text NOT NULL CHECK (source IN ('registry', 'cli')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((secret_file IS NULL) <> (secret_env IS NULL))
);

-- Explicit entries (pattern = an agency code), prefix rules (src/domain/route-pattern.ts) and
-- the default route (pattern '*'). A peer's `agencies`/`prefixes` from the registry are rows here
-- too (source 'registry').
CREATE TABLE route_rules (
  rule_kind text NOT NULL CHECK (rule_kind IN ('explicit', 'prefix', 'default')),
  pattern text NOT NULL,
  target_kind text NOT NULL CHECK (target_kind IN ('peer', 'upstream')),
  target_id text NOT NULL,
  source text NOT NULL CHECK (source IN ('registry', 'cli')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rule_kind, pattern),
  CHECK (rule_kind <> 'default' OR pattern = '*')
);

-- Each delivery says where its recipient's route led when the document was accepted: local
-- (push/pull to an agency of this hub, as before), a peer hub, or an upstream axis; the target's
-- id and the rule that matched (shown to clerks and operators beside the delivery).
ALTER TABLE deliveries ADD COLUMN route_kind text NOT NULL DEFAULT 'local' CHECK (route_kind IN ('local', 'peer', 'upstream'));
ALTER TABLE deliveries ADD COLUMN route_target text;
ALTER TABLE deliveries ADD COLUMN route_source text;
ALTER TABLE deliveries ADD COLUMN route_rule text;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_route_target CHECK ((route_kind = 'local') = (route_target IS NULL));

-- A recipient behind a peer or upstream has no row in `agencies`, nor does the sender of a
-- document forwarded to us from another hub: those references become plain codes. (IF EXISTS:
-- the other backbone migrations may drop the same constraints.)
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_recipient_code_fkey;
ALTER TABLE documents DROP CONSTRAINT IF EXISTS documents_sender_code_fkey;
