CREATE TABLE users (id bigint PRIMARY KEY, name varchar(255), email varchar(255), age int,
  status enum('new','active','gone') NOT NULL DEFAULT 'new', legacy text);
CREATE TABLE old_logs (id bigint, msg text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total decimal(10,2),
  CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id));
INSERT INTO users (id, name, email, age) SELECT seq, CONCAT('u', seq), CONCAT('u', seq, '@example.com'), seq % 90 FROM seq_1_to_5000;
INSERT INTO orders (id, user_id, total) SELECT seq, (seq % 5000) + 1, seq FROM seq_1_to_20000;
ANALYZE TABLE users, orders;
