-- Creation as the client does it (issue 22): mxo-hd answers the name check with the id the
-- character will have (MarginClient.cs charNameRequest), before the character exists. A
-- reservation therefore holds a character id too, taken from character_directory's own
-- AUTO_INCREMENT (characters.reserveName inserts and deletes a directory row in its transaction,
-- so the counter moves on, on the replicas too): ids stay unique cluster-wide, and create() uses
-- the reserved one. NULL for reservations written before this file (create allocates as before).
ALTER TABLE character_name_reservations ADD COLUMN IF NOT EXISTS character_id INT NULL;
ALTER TABLE character_name_reservations ADD UNIQUE INDEX IF NOT EXISTS uq_character_name_reservations_character (character_id);
