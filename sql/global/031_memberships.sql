-- Memberships (issue 12): a character belongs to at most one organization and one crew (the
-- seed's characters.organization_id / crew_id are single values). Enforced by the database so
-- two concurrent joins cannot both succeed.
CREATE UNIQUE INDEX IF NOT EXISTS uq_organization_members_character ON organization_members (character_id);
CREATE UNIQUE INDEX IF NOT EXISTS uq_crew_members_character ON crew_members (character_id);
