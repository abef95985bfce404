-- The vehicle list is "newest first, at most 200" for a city, with or without a status
-- filter. These indexes match both orders exactly, so a city with thousands of vehicles
-- (MovR-sized seeds) answers from the first index pages instead of sorting the partition.
-- They replace 0001's vehicles_city_status, which lacked the id tie-breaker.
DROP INDEX IF EXISTS vehicles_city_status;
CREATE INDEX vehicles_city_newest ON vehicles (city, date_added DESC, id);
CREATE INDEX vehicles_city_status_newest ON vehicles (city, status, date_added DESC, id);
