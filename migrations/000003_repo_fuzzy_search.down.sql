DROP INDEX repos_description_trgm_idx;
DROP INDEX repos_name_trgm_idx;
-- The extension stays: other objects may use it, and dropping it needs ownership.
