CREATE TABLE audit (id bigint PRIMARY KEY, note text);
ALTER TABLE audit ADD COLUMN who int NOT NULL;
CREATE UNIQUE INDEX audit_who_key ON audit (who);
DROP TABLE audit;
ALTER TABLE users ADD COLUMN nickname varchar(20) NULL;
ALTER TABLE users ALTER COLUMN nickname SET DEFAULT 'x';
ALTER TABLE users ADD INDEX users_age_idx (age), ALGORITHM=INPLACE, LOCK=NONE;
