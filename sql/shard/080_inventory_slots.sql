-- Inventory slots as the client has them (issue 18, part B). The client addresses every item by
-- its slot: the backpack is 0x00-0x60 and worn clothing sits in 0x61-0x68 (hat, glasses, shirt,
-- gloves, coat, pants, leggings, shoes) with container_type 'equipped'. One item per
-- (character, container, slot); NULL slots (overflow, weapons worn without a client slot) do not
-- collide. Each item carries its own purity (the client's 0-255 byte).
ALTER TABLE character_inventory ADD COLUMN IF NOT EXISTS purity TINYINT UNSIGNED NOT NULL DEFAULT 0;
-- Rows written before the key existed may share a slot: all but the oldest lose their slot.
UPDATE character_inventory ci
  JOIN (SELECT character_id, container_type, slot_position, MIN(item_id) AS keep_id
          FROM character_inventory WHERE slot_position IS NOT NULL
         GROUP BY character_id, container_type, slot_position HAVING COUNT(*) > 1) d
    ON d.character_id = ci.character_id AND d.container_type = ci.container_type AND d.slot_position = ci.slot_position
   SET ci.slot_position = NULL
 WHERE ci.item_id <> d.keep_id;
CREATE UNIQUE INDEX IF NOT EXISTS uq_character_inventory_slot ON character_inventory (character_id, container_type, slot_position);
