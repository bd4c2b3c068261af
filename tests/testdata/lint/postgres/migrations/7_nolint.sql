-- atlas:nolint DS102

DROP TABLE organizations;
-- atlas:nolint
ALTER TABLE users DROP COLUMN age;
-- atlas:nolint destructive
ALTER TABLE users DROP COLUMN email;
-- atlas:nolint MF101
CREATE UNIQUE INDEX users_token_key ON users (token);
/* atlas:nolint PM201 MF101 */
CREATE UNIQUE INDEX users_seq_key ON users (seq);
/*atlas:nolint PG101*/
CREATE INDEX users_full_name_idx ON users (full_name);
