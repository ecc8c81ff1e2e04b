-- Ability ids are the client's unsigned 32-bit object ids, with the high bit set (issue 18, part B):
-- INT cannot hold them, INT UNSIGNED can (the library accepts the signed form and stores it unsigned).
ALTER TABLE ability_templates MODIFY ability_id INT UNSIGNED NOT NULL;
