-- tidemark:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS objects_sha256_idx;
DROP INDEX CONCURRENTLY IF EXISTS objects_repo_path_idx;
