ALTER TABLE users RENAME COLUMN name TO full_name;
ALTER TABLE users CHANGE COLUMN email mail varchar(255);
RENAME TABLE orders TO purchases;
