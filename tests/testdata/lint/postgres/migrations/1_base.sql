CREATE TABLE users (id bigint PRIMARY KEY, name varchar(255), email varchar(255), age integer, org_id bigint, legacy text);
CREATE TABLE orgs (id bigint PRIMARY KEY, title text);
CREATE TABLE old_logs (id bigint, msg text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, status varchar(20), total numeric(10,2),
  CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id));
CREATE SCHEMA archive;
INSERT INTO users SELECT g, 'u' || g, 'u' || g || '@example.com', g % 90, NULL, NULL FROM generate_series(1, 5000) g;
INSERT INTO orders SELECT g, (g % 5000) + 1, 'new', g FROM generate_series(1, 20000) g;
INSERT INTO old_logs SELECT g, 'm' FROM generate_series(1, 300) g;
ANALYZE users;
ANALYZE orders;
ANALYZE old_logs;
