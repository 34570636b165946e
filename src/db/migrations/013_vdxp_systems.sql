-- Systems that speak the VDXP protocol (docs/vdxp-compat.md): the agency software built on the
-- national axis SDK. A system id serves one or more agencies (a provincial hub serves many).
-- The VDXP scheme is an HMAC keyed with the secret itself, so the hub must be able to recover the
-- plaintext: the secret is kept encrypted (AES-256-GCM under the hub's VDXP key), never hashed.
CREATE TABLE vdxp_systems (
  system_id text PRIMARY KEY,
  agencies text[] NOT NULL CHECK (cardinality(agencies) > 0),
  -- iv (12 bytes) || ciphertext || GCM tag (16 bytes); the system id is the additional data, so a
  -- ciphertext copied onto another system's row does not decrypt.
  secret_sealed bytea NOT NULL,
  allow_directory_changes boolean NOT NULL DEFAULT false,
  -- Client addresses (exact IPs or CIDR ranges) the system may call from; empty: any address.
  ip_allow_list text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  rotated_at timestamptz
);

-- Directory units a system allowed to change the directory registered with registerAgency. They
-- are listed by the directory operations beside the registry's agencies, but exchange documents
-- only once they are in the registry file (which carries their certificates).
CREATE TABLE vdxp_directory_units (
  code text PRIMARY KEY,
  parent_code text,
  name text NOT NULL,
  mail text,
  mobile text,
  fax text,
  registered_by text NOT NULL,
  version integer NOT NULL DEFAULT 1,
  deleted boolean NOT NULL DEFAULT false,
  modified_at timestamptz NOT NULL DEFAULT now()
);
