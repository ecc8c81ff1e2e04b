-- The seven reputations the client shows (issue 18, part B): Zion Military, Machines, Merovingian,
-- Niobe, EPN, Cypherites, the GM organisation. A missing row reads as 0. CQ points are
-- characters.cq_points (052).
CREATE TABLE IF NOT EXISTS character_reputations (
    character_id INT NOT NULL,
    organization ENUM('zion_military', 'machines', 'merovingian', 'niobe', 'epn', 'cypherites', 'gm') NOT NULL,
    points INT NOT NULL DEFAULT 0,
    last_updated TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (character_id, organization),
    FOREIGN KEY (character_id) REFERENCES characters(character_id) ON DELETE CASCADE
);
