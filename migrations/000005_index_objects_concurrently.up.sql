-- tidemark:no-transaction
-- Built without locking writers out; PostgreSQL refuses CONCURRENTLY inside a
-- transaction, so this file runs statement by statement.
CREATE INDEX CONCURRENTLY IF NOT EXISTS objects_repo_path_idx ON objects (repo_id, path);
CREATE INDEX CONCURRENTLY IF NOT EXISTS objects_sha256_idx ON objects (sha256);
