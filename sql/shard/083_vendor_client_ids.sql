-- The client's 32-bit object id of a vendor (issue 18, part B); unsigned, the signed form is
-- accepted by the library and stored unsigned. Unique cluster-wide through global vendor_client_ids.
ALTER TABLE vendors ADD COLUMN IF NOT EXISTS client_object_id INT UNSIGNED NULL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_vendors_client_object_id ON vendors (client_object_id);
