ALTER TABLE users RENAME COLUMN name TO full_name;
ALTER TABLE orders RENAME TO purchases;
