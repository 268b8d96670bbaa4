-- Fuzzy search on repository names and descriptions: "tidmark" finds "tidemark".
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX repos_name_trgm_idx ON repos USING gin (name gin_trgm_ops);
CREATE INDEX repos_description_trgm_idx ON repos USING gin (description gin_trgm_ops);
