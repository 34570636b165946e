-- Group commit of the accept path (issue 15): the signature-log sequencer
-- (src/evidence/signature-log-sequencer.ts) writes the slots that are ready at the same moment in
-- ONE statement, so N documents cost one round trip and one commit instead of N. Each item is
-- exactly what one lienthong_accept_document or lienthong_append_signature_log call (migration
-- 014) takes, and is passed to that same function, in slot order: every prev is still checked
-- against the head, every entry hash recomputed, and any error rolls the whole group back (the
-- sequencer then writes the items one by one, so one bad document fails alone).

-- A jsonb array of strings (or nulls) as text[], in array order.
CREATE FUNCTION lienthong_jsonb_texts(p jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(array_agg(e.value ORDER BY e.n), '{}'::text[]) FROM jsonb_array_elements_text(p) WITH ORDINALITY AS e(value, n)
$$;

-- p_items: [{prev_id, prev_hash, canonical, entry_hash, document}] where document is null for a
-- log-only entry (rejection, duplicate) or the accepted document's fields (raw in base64).
-- Returns the id of the last entry appended.
CREATE FUNCTION lienthong_append_group(p_items jsonb) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  it jsonb;
  d jsonb;
  last_id bigint;
BEGIN
  FOR i IN 0 .. jsonb_array_length(p_items) - 1 LOOP
    it := p_items->i;
    d := it->'document';
    IF d IS NULL OR jsonb_typeof(d) = 'null' THEN
      last_id := lienthong_append_signature_log((it->>'prev_id')::bigint, it->>'prev_hash', it->>'canonical', it->>'entry_hash');
    ELSE
      last_id := lienthong_accept_document((it->>'prev_id')::bigint, it->>'prev_hash', it->>'canonical', it->>'entry_hash',
        (d->>'id')::uuid, d->>'kind', d->>'sender', d->>'edxml_document_id', d->>'digest', (d->>'size')::bigint,
        decode(d->>'raw', 'base64'), d->'envelope', d->'signer', d->'algorithms', lienthong_jsonb_texts(d->'flags'),
        d->>'status_code', (d->>'response_for')::uuid, (d->>'accepted_at')::timestamptz, d->>'business_doc_type', (d->>'changes')::uuid,
        lienthong_jsonb_texts(d->'delivery_ids')::uuid[], lienthong_jsonb_texts(d->'recipients'), lienthong_jsonb_texts(d->'modes'),
        (d->>'push_enqueued')::boolean, lienthong_jsonb_texts(d->'route_kinds'), lienthong_jsonb_texts(d->'route_targets'),
        lienthong_jsonb_texts(d->'route_sources'), lienthong_jsonb_texts(d->'route_rules'),
        (d->>'receipt_id')::uuid, d->>'receipt_xml', (d->>'event_id')::uuid, d->>'event_description');
    END IF;
  END LOOP;
  RETURN last_id;
END
$$;
