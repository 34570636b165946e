-- A push endpoint is bound to its agency by the TLS server certificate it must present (registry
-- delivery.serverCertificates / delivery.serverSubject, seeded from the registry file like push_url).
-- NULL and NULL: no pin (refused by the push client unless LIENTHONG_DEV_ALLOW_UNPINNED_PUSH is set).
ALTER TABLE agencies ADD COLUMN push_server_certificates text[];
ALTER TABLE agencies ADD COLUMN push_server_subject jsonb;
