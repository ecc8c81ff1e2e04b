-- The client's 32-bit object id of each vendor (issue 18, part B), unique across the cluster.
-- Vendors live on their district's shard, so the cluster-wide key is kept here (written in the
-- same two-phase commit as the vendor row); the row names the vendor by id only, so a district
-- move does not touch it.
CREATE TABLE IF NOT EXISTS vendor_client_ids (
    client_object_id INT UNSIGNED NOT NULL PRIMARY KEY,
    vendor_id INT NOT NULL,
    UNIQUE KEY uq_vendor_client_ids_vendor (vendor_id)
);
