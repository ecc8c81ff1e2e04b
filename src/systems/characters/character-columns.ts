/** The columns of a `Character` (what `characters.get` reads and `toCharacter` maps). */
export const CHARACTER_COLUMNS = `character_id, account_id, character_name, archetype, gender, appearance_data, level, experience,
  faction, district_id, position_x, position_y, position_z, money, is_online`;
