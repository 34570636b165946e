-- The accepting transaction in one round trip (docs/gateway.md, "The accepting transaction"):
-- the gateway computes the signature-log entry (id, hash) and signs the acceptance receipt
-- BEFORE it talks to the database, on top of the log head it expects; one call then stores the
-- document, its deliveries, the receipt, a status event and the log entry, and appends the entry
-- only if the head is still the one it was computed on. Otherwise the whole statement is rolled
-- back with SQLSTATE LTSTL and the actual head in DETAIL, and the gateway recomputes.

-- The document row is written before the log entry it cites (the log lock is then held only for
-- the append and the commit, not while a large document is written): checked at commit.
ALTER TABLE documents ALTER CONSTRAINT documents_signature_log_id_fkey DEFERRABLE INITIALLY DEFERRED;

-- Appends one entry given as its canonical JSON (src/evidence/signature-log-chain.ts) and hash.
-- The row is written FROM that JSON, so what is stored is what was hashed; the hash is checked
-- here too. Takes the same advisory lock as appendSignatureLog (727002), so both kinds of
-- appenders, in any process, queue behind each other and each links to the committed head.
-- VOLATILE: every statement after the lock sees what was committed before it was granted.
CREATE FUNCTION lienthong_append_signature_log(p_prev_id bigint, p_prev_hash text, p_canonical text, p_entry_hash text)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  c jsonb := p_canonical::jsonb;
  new_id bigint := (c->>'id')::bigint;
  head_id bigint;
  head_hash text;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'lienthong_append_signature_log needs READ COMMITTED, not %', current_setting('transaction_isolation');
  END IF;
  PERFORM pg_advisory_xact_lock(727002);
  SELECT s.id, s.entry_hash INTO head_id, head_hash FROM signature_log s ORDER BY s.id DESC LIMIT 1;
  IF coalesce(head_id, 0) <> p_prev_id OR coalesce(head_hash, repeat('0', 64)) <> p_prev_hash THEN
    RAISE EXCEPTION 'signature log head moved' USING ERRCODE = 'LTSTL',
      DETAIL = json_build_object('id', coalesce(head_id, 0), 'hash', coalesce(head_hash, repeat('0', 64)))::text;
  END IF;
  IF new_id IS NULL OR new_id <= coalesce(head_id, 0) THEN
    RAISE EXCEPTION 'signature log entry id % does not follow the head %', new_id, head_id;
  END IF;
  IF encode(sha256(convert_to(p_prev_hash || E'\n' || p_canonical, 'UTF8')), 'hex') <> p_entry_hash THEN
    RAISE EXCEPTION 'signature log entry %: entry_hash is not sha256(prev_hash, canonical)', new_id;
  END IF;
  INSERT INTO signature_log (id, logged_at, request_id, claimed_agency, authenticated_agency, edxml_document_id,
    hub_document_id, digest_sha256, size_bytes, algorithms, cert_subject, cert_issuer, cert_serial, cert_fingerprint,
    cert_not_before, cert_not_after, chain, revocation, verdict, reason_code, detail, flags, prev_hash, entry_hash)
  VALUES (new_id, (c->>'logged_at')::timestamptz, c->>'request_id', c->>'claimed_agency', c->>'authenticated_agency',
    c->>'edxml_document_id', (c->>'hub_document_id')::uuid, c->>'digest_sha256', (c->>'size_bytes')::bigint,
    nullif(c->'algorithms', 'null'::jsonb), c->>'cert_subject', c->>'cert_issuer', c->>'cert_serial', c->>'cert_fingerprint',
    (c->>'cert_not_before')::timestamptz, (c->>'cert_not_after')::timestamptz, nullif(c->'chain', 'null'::jsonb),
    nullif(c->'revocation', 'null'::jsonb), c->>'verdict', c->>'reason_code', c->>'detail',
    ARRAY(SELECT f.value FROM jsonb_array_elements_text(c->'flags') WITH ORDINALITY AS f(value, n) ORDER BY f.n),
    p_prev_hash, p_entry_hash);
  -- appendSignatureLog takes nextval under the same lock: it must continue after this id.
  PERFORM setval(pg_get_serial_sequence('signature_log', 'id'), new_id);
  RETURN new_id;
END
$$;

-- The whole accepting transaction of a document or status message. Deliveries come as parallel
-- arrays (id, recipient, mode, route); a pull delivery is available at once, a push one is queued, and flagged enqueued
-- when the gateway has a queue (it adds the job right after commit; if that fails it clears the
-- flag, and the reconciler's sweep covers a crash in between). p_raw NULL: the bytes are in the transaction's
-- upload table (src/db/bytea-copy.ts) and must be p_size long.
CREATE FUNCTION lienthong_accept_document(
  p_prev_id bigint, p_prev_hash text, p_canonical text, p_entry_hash text,
  p_document_id uuid, p_kind text, p_sender text, p_edxml_document_id text, p_digest text, p_size bigint, p_raw bytea,
  p_envelope jsonb, p_signer jsonb, p_algorithms jsonb, p_flags text[], p_status_code text, p_response_for uuid,
  p_accepted_at timestamptz, p_business_doc_type text, p_changes uuid,
  p_delivery_ids uuid[], p_recipients text[], p_modes text[], p_push_enqueued boolean,
  p_route_kinds text[], p_route_targets text[], p_route_sources text[], p_route_rules text[],
  p_receipt_id uuid, p_receipt_xml text,
  p_event_id uuid, p_event_description text
) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  log_id bigint := (p_canonical::jsonb->>'id')::bigint;
  stored bigint;
BEGIN
  IF p_raw IS NULL THEN
    SELECT octet_length(b) INTO stored FROM lienthong_upload;
    IF stored IS DISTINCT FROM p_size THEN
      RAISE EXCEPTION 'document %: the uploaded bytes did not arrive whole', p_document_id;
    END IF;
    -- Two statements rather than coalesce(): the upload table exists only when it was used, and
    -- plpgsql plans a statement only when it first runs it.
    INSERT INTO documents (id, kind, sender_code, edxml_document_id, digest_sha256, size_bytes, raw, envelope, signer,
      algorithms, flags, status_code, response_for_document_id, accepted_at, business_doc_type, changes_document_id, signature_log_id)
    VALUES (p_document_id, p_kind, p_sender, p_edxml_document_id, p_digest, p_size, (SELECT b FROM lienthong_upload), p_envelope, p_signer,
      p_algorithms, p_flags, p_status_code, p_response_for, p_accepted_at, p_business_doc_type, p_changes, log_id);
  ELSE
    INSERT INTO documents (id, kind, sender_code, edxml_document_id, digest_sha256, size_bytes, raw, envelope, signer,
      algorithms, flags, status_code, response_for_document_id, accepted_at, business_doc_type, changes_document_id, signature_log_id)
    VALUES (p_document_id, p_kind, p_sender, p_edxml_document_id, p_digest, p_size, p_raw, p_envelope, p_signer,
      p_algorithms, p_flags, p_status_code, p_response_for, p_accepted_at, p_business_doc_type, p_changes, log_id);
  END IF;
  -- The route_* columns come with migration 015 (routes); plpgsql resolves columns when a
  -- statement first runs, after every migration has been applied.
  INSERT INTO deliveries (id, document_id, recipient_code, mode, state, enqueued, route_kind, route_target, route_source, route_rule)
  SELECT d.id, p_document_id, d.recipient, d.mode, CASE d.mode WHEN 'pull' THEN 'available' ELSE 'queued' END,
    d.mode = 'pull' OR p_push_enqueued, d.route_kind, d.route_target, d.route_source, d.route_rule
  FROM unnest(p_delivery_ids, p_recipients, p_modes, p_route_kinds, p_route_targets, p_route_sources, p_route_rules)
    AS d(id, recipient, mode, route_kind, route_target, route_source, route_rule);
  INSERT INTO receipts (id, document_id, delivery_id, kind, xml) VALUES (p_receipt_id, p_document_id, NULL, 'acceptance', p_receipt_xml);
  IF p_response_for IS NOT NULL THEN
    INSERT INTO status_events (id, document_id, status_document_id, from_code, status_code, description)
    VALUES (p_event_id, p_response_for, p_document_id, p_sender, coalesce(p_status_code, ''), p_event_description);
  END IF;
  -- Last: the log lock is taken here and held until commit.
  RETURN lienthong_append_signature_log(p_prev_id, p_prev_hash, p_canonical, p_entry_hash);
END
$$;
