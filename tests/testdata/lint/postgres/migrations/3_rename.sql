ALTER TABLE users RENAME COLUMN name TO full_name;
ALTER TABLE orgs RENAME TO organizations;
