-- atlas:txmode none

CREATE INDEX CONCURRENTLY orders_user_idx ON orders (user_id);
CREATE TABLE audit (id bigint PRIMARY KEY, note text);
CREATE UNIQUE INDEX audit_note_key ON audit (note);
ALTER TABLE audit ADD COLUMN who text NOT NULL;
ALTER TABLE audit ALTER COLUMN note SET NOT NULL;
DROP TABLE audit;
ALTER TABLE users ADD COLUMN nickname text;
