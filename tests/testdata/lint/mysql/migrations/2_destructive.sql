DROP TABLE old_logs;
ALTER TABLE users DROP COLUMN legacy;
ALTER TABLE orders DROP FOREIGN KEY orders_user_fk;
