-- Create "invoices" table and a status type
CREATE TYPE invoice_status AS ENUM ('draft', 'sent', 'paid');
CREATE TABLE invoices (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES accounts (id),
  status invoice_status NOT NULL DEFAULT 'draft',
  amount_cents bigint NOT NULL CHECK (amount_cents >= 0)
);
CREATE INDEX invoices_account_id ON invoices (account_id);
