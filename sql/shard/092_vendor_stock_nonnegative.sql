-- A vendor's stock never goes below zero (issue 26). The purchase's row lock on the stock line is
-- what keeps two buyers of the last unit from both getting it; this CHECK makes a purchase that
-- slipped past the lock fail instead of leaving negative stock. Fails on a shard that already
-- holds a negative line (repair it first: UPDATE vendor_inventory SET current_stock = 0 WHERE current_stock < 0).
ALTER TABLE vendor_inventory ADD CONSTRAINT IF NOT EXISTS chk_vendor_inventory_stock_nonnegative CHECK (current_stock >= 0);
