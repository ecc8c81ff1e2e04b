-- Abilities level up (issue 22): mxo-hd's starting kit has abilities at level 20 and upgrades them
-- in play, but a template defined without maxAbilityLevel could never pass level 1. The default
-- is now the column's limit (TINYINT, 127), the same as abilities.defineAbility's; a template
-- that names its maximum keeps it. Templates already stored keep what they have.
ALTER TABLE ability_templates ALTER COLUMN max_ability_level SET DEFAULT 127;
