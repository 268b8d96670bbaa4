CREATE TABLE objects (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repo_id     bigint NOT NULL REFERENCES repos (id) ON DELETE CASCADE,
    path        text NOT NULL,
    sha256      text NOT NULL CHECK (length(sha256) = 64),
    size_bytes  bigint NOT NULL CHECK (size_bytes >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE objects IS 'Files stored in a repository; paths may contain ";" and quotes like ''this''.';
