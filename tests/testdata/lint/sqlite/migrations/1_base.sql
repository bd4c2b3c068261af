CREATE TABLE users (id integer PRIMARY KEY, name text, email text, legacy text);
CREATE TABLE old_logs (id integer, msg text);
CREATE TABLE orders (id integer PRIMARY KEY, user_id integer REFERENCES users (id), total real);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000)
INSERT INTO users SELECT x, 'u' || x, 'u' || x || '@example.com', NULL FROM c;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO orders SELECT x, (x % 5000) + 1, x FROM c;
