-- Reconciliation pages a city-day's payments by id in byte order (COLLATE "C", as the
-- authority's pages come): an index in that order, so each page is a range read, not a sort.
CREATE INDEX payments_by_city_day_bytes ON payments(city_code, business_date, id COLLATE "C");
-- Every payment has its business day (an older binary writing without one would leave a payment
-- out of settlement and reconciliation: refused instead).
UPDATE payments SET business_date =
    to_char((created_at::timestamptz AT TIME ZONE 'Asia/Shanghai')::date, 'YYYY-MM-DD')
WHERE business_date IS NULL;
ALTER TABLE payments ALTER COLUMN business_date SET NOT NULL;
-- A plate bound after its decisions were issued is reminded of them: watched by plate.
CREATE INDEX watched_decisions_by_plate ON watched_decisions(plate) WHERE status = 'unpaid';
