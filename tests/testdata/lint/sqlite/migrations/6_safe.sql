CREATE TABLE audit (id integer PRIMARY KEY, note text);
ALTER TABLE audit ADD COLUMN who integer NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX audit_note_key ON audit (note);
DROP TABLE audit;
ALTER TABLE users ADD COLUMN nickname text;
ALTER TABLE users ADD COLUMN level integer NOT NULL DEFAULT 1;
CREATE INDEX users_tier_idx ON users (tier);
