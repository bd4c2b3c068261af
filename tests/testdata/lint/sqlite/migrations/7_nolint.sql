-- atlas:nolint BC102
ALTER TABLE users RENAME COLUMN email TO mail;
-- atlas:nolint incompatible

DROP TABLE users;
