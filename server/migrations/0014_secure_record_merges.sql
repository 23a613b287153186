-- Row-level security, forced, for merges (DESIGN invariant 3).
SELECT cairn_secure_tenant_table('record_merges', 'SELECT, INSERT, UPDATE, DELETE');
