CREATE UNIQUE INDEX users_email_key ON users (email);
ALTER TABLE users ADD COLUMN tier integer NOT NULL;
ALTER TABLE users ALTER COLUMN age SET NOT NULL;
ALTER TABLE orders ALTER COLUMN status TYPE varchar(10);
ALTER TABLE orders ALTER COLUMN status TYPE text;
