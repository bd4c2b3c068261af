ALTER TABLE users MODIFY COLUMN status enum('active','new','gone') NOT NULL DEFAULT 'new';
ALTER TABLE users MODIFY COLUMN status enum('active','new','gone','banned') NOT NULL DEFAULT 'new';
ALTER TABLE users ADD COLUMN note text, ALGORITHM=COPY;
ALTER TABLE purchases ADD COLUMN buyer_id bigint REFERENCES users (id);
