PRAGMA foreign_keys = off;
-- create "new_purchases" table
CREATE TABLE `new_purchases` (`id` integer NULL PRIMARY KEY AUTOINCREMENT, `user_id` integer NULL);
-- copy rows from old table "purchases" to new temporary table "new_purchases"
INSERT INTO `new_purchases` (`id`, `user_id`) SELECT `id`, `user_id` FROM `purchases`;
-- drop "purchases" table after copying rows
DROP TABLE `purchases`;
-- rename temporary table "new_purchases" to "purchases"
ALTER TABLE `new_purchases` RENAME TO `purchases`;
PRAGMA foreign_keys = on;
