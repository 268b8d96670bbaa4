CREATE TABLE repos (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    visibility   text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (owner_id, name)
);

-- Keeps updated_at current; the body is dollar-quoted and holds semicolons.
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER repos_touch_updated_at BEFORE UPDATE ON repos
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
