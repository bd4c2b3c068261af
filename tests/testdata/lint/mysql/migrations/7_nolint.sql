-- atlas:nolint DS103
ALTER TABLE users DROP COLUMN age;
# atlas:nolint destructive
DROP TABLE purchases;
