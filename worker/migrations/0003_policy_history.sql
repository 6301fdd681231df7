-- Every applied policy version, so `cli policy history` can list them, `policy
-- diff` has something to compare with and `policy rollback N` can restore one.
-- `policy apply` and `policy rollback` write the rows in the same batch (or
-- remote SQL file) as the providers and the policy_version bump
-- (core/src/policy/apply-statements.ts): a version is recorded if and only if
-- it was applied.
--
-- Every version is kept. A version's text is at most 1 MiB (the file size
-- limit) and is typically a few KiB; docs/policy.md, "Rolling out a change",
-- says how to prune old versions by hand.
CREATE TABLE policy_history (
  -- policy_version.version after the apply.
  version INTEGER PRIMARY KEY NOT NULL,
  applied_at TEXT NOT NULL,
  -- SHA-256 (hex) of the file's bytes; '' for a version applied before this table existed.
  source_sha256 TEXT NOT NULL,
  -- The file's full text (written in chunks: remote D1 takes at most 100 KB per
  -- statement); NULL for a version applied before this table existed.
  source_text TEXT,
  provider_count INTEGER NOT NULL,
  -- The version this one restored (`policy rollback`), else NULL.
  rollback_of INTEGER
);

-- The normalized providers of each version, one row each: exactly the
-- providers.config JSON that was applied (a row of its own so that no row
-- comes near D1's 2 MB limit, whatever the file's size).
CREATE TABLE policy_history_providers (
  version INTEGER NOT NULL REFERENCES policy_history (version) ON DELETE CASCADE,
  name TEXT NOT NULL,
  config TEXT NOT NULL,
  PRIMARY KEY (version, name)
);

-- What is live now becomes the first recorded version (without its text), so
-- it can be rolled back to. A database never applied (version 0) records nothing.
INSERT INTO policy_history (version, applied_at, source_sha256, source_text, provider_count, rollback_of)
  SELECT version, applied_at, coalesce(source_sha256, ''), NULL, (SELECT count(*) FROM providers), NULL
  FROM policy_version WHERE id = 1 AND version > 0;
INSERT INTO policy_history_providers (version, name, config)
  SELECT policy_version.version, providers.name, providers.config
  FROM providers, policy_version WHERE policy_version.id = 1 AND policy_version.version > 0;
