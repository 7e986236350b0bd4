-- The extension installs, its library loads, and its settings exist.
SELECT extname, extversion FROM pg_extension WHERE extname = 'shelfops';
SHOW shelfops.tenant_id;
SET shelfops.tenant_id = 'acme';
SHOW shelfops.tenant_id;
RESET shelfops.tenant_id;
SET shelfops.no_such_setting = 1;
