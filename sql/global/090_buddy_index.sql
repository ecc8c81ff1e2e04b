-- Buddy lists (issue 18, part C). A friend row lives on its owner's shard
-- (character_relationships); this global index of the same edges is written in the same
-- two-phase commit, so "who has me as a buddy" (login and logout notices) is one indexed read on
-- global instead of a scan of every shard.
CREATE TABLE IF NOT EXISTS buddy_edges (
    character_id INT NOT NULL, -- whose list it is
    buddy_id INT NOT NULL,     -- who is on it
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (character_id, buddy_id),
    INDEX idx_buddy_edges_buddy (buddy_id, character_id),
    FOREIGN KEY (character_id) REFERENCES character_directory(character_id) ON DELETE CASCADE,
    FOREIGN KEY (buddy_id) REFERENCES character_directory(character_id) ON DELETE CASCADE
);
