DROP TABLE old_logs;
ALTER TABLE users DROP COLUMN legacy;
