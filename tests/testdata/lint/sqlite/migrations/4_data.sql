CREATE UNIQUE INDEX users_email_key ON users (email);
ALTER TABLE users ADD COLUMN tier integer NOT NULL;
