-- Crew bank movements (issue 18, part C) write a ledger row on the character's shard. The ENUM
-- gains two values at its end, built from the column's current definition so values another
-- migration added are kept whatever order the files ran in.
SET @mxo_crew_type = (SELECT COLUMN_TYPE FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'transaction_history' AND COLUMN_NAME = 'transaction_type');
SET @mxo_crew_type_ddl = IF(@mxo_crew_type LIKE '%''crew_deposit''%', 'DO 0',
    CONCAT('ALTER TABLE transaction_history MODIFY transaction_type ',
           LEFT(@mxo_crew_type, CHAR_LENGTH(@mxo_crew_type) - 1),
           ',''crew_deposit'',''crew_withdrawal'') NOT NULL'));
PREPARE mxo_crew_type_stmt FROM @mxo_crew_type_ddl;
EXECUTE mxo_crew_type_stmt;
DEALLOCATE PREPARE mxo_crew_type_stmt;
