ALTER TABLE users ADD UNIQUE INDEX users_mail_key (mail);
ALTER TABLE users ADD COLUMN tier int NOT NULL;
ALTER TABLE users ADD COLUMN code varchar(8) NOT NULL;
ALTER TABLE users MODIFY COLUMN age int NOT NULL;
ALTER TABLE purchases MODIFY COLUMN total decimal(6,2);
