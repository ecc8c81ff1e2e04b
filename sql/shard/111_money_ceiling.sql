-- Balances stay exact JavaScript numbers (issue 23): no write may take a balance past 2^53 - 1,
-- whatever path adds the money (vendors, trades, mission rewards, treasury and crew withdrawals,
-- saves). The router turns a violation into a ValidationError on `money`
-- (src/routing/balance-limit.ts).
ALTER TABLE characters ADD CONSTRAINT chk_characters_money_max CHECK (money <= 9007199254740991);
