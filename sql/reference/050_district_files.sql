-- Districts as the client knows them (issue 18): each has a key (the client's district name,
-- e.g. 'slums', 'tutorial', 'loading') and the path of its world file. Districts are numbered
-- from 0 (the tutorial); the loading area is 0x385 (901). Set with db.worlds.setDistrictFile.
ALTER TABLE districts
    ADD COLUMN IF NOT EXISTS district_key VARCHAR(64) NULL,
    ADD COLUMN IF NOT EXISTS world_file VARCHAR(255) NULL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_districts_key ON districts (district_key);
