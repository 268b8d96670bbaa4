DROP TABLE repos;
DROP FUNCTION touch_updated_at();
