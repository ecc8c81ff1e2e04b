-- What a worn clothing template looks like on the character (issue 18, part B): the RSI model and
-- colour that equip writes into characters.appearance_data (hatModel/hatColor, ...). NULL = 0.
ALTER TABLE item_templates
    ADD COLUMN IF NOT EXISTS rsi_model SMALLINT UNSIGNED NULL,
    ADD COLUMN IF NOT EXISTS rsi_color SMALLINT UNSIGNED NULL;
