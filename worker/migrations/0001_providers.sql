-- Providers and their policies. One row per provider: the normalized config
-- (worker/src/providers/model.ts) as JSON. `cli policy apply` replaces all rows
-- and bumps policy_version in one batch, so a reader never sees half an apply.
CREATE TABLE providers (
  name TEXT PRIMARY KEY NOT NULL,
  config TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- One row. Isolates keep compiled policies in memory and revalidate them with
-- this single cheap read every few seconds; a changed version reloads them.
CREATE TABLE policy_version (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL,
  applied_at TEXT NOT NULL,
  source_sha256 TEXT
);
INSERT INTO policy_version (id, version, applied_at) VALUES (1, 0, datetime('now'));
