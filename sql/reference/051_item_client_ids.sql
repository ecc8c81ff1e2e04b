-- The client's 32-bit object id of each item template (issue 18): unsigned, unique, looked up by
-- db.items.byClientId. INT UNSIGNED holds 0 .. 2^32-1; the library also accepts the signed form
-- and stores it unsigned.
ALTER TABLE item_templates ADD COLUMN IF NOT EXISTS client_object_id INT UNSIGNED NULL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_item_templates_client_object_id ON item_templates (client_object_id);
