-- A provider's identity beyond its name. Refresh tokens carry it, and a use is
-- refused when it no longer matches (worker/src/token/refresh-token.ts), so a
-- provider that is deleted and re-created, re-pointed at another issuer or has
-- refresh turned off does not honour the refresh tokens of its predecessor.
-- `policy apply` keeps the id while the name and issuer stay the same and
-- refresh stays on (worker/src/policy/apply-statements.ts).
--
-- SQLite can't add a NOT NULL column without a default, so the table is rebuilt;
-- rows already applied get a fresh id (their refresh tokens carry none anyway).
CREATE TABLE providers_next (
  name TEXT PRIMARY KEY NOT NULL,
  provider_id TEXT NOT NULL UNIQUE,
  config TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
INSERT INTO providers_next (name, provider_id, config, updated_at)
  SELECT name, lower(hex(randomblob(16))), config, updated_at FROM providers;
DROP TABLE providers;
ALTER TABLE providers_next RENAME TO providers;
