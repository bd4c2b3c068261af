DROP TABLE old_logs;
ALTER TABLE users DROP COLUMN legacy;
ALTER TABLE orders DROP CONSTRAINT orders_user_fk;
DROP SCHEMA archive;
