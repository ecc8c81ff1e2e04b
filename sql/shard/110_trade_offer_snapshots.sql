-- Trade offers snapshot what they offer (issue 23, M3): per item its quantity, durability, bound
-- state, flags, properties and modifications at the time of the offer
-- (src/systems/trades/offer-snapshot.ts). The trade compares them with the locked rows and
-- refuses when one changed. NULL: a window offered before this migration (not compared).
ALTER TABLE trade_sessions
    ADD COLUMN initiator_offer JSON NULL AFTER recipient_items,
    ADD COLUMN recipient_offer JSON NULL AFTER initiator_offer;
