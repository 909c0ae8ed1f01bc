-- Plates bound to users, and how far the platform has read each authority's event feed.
CREATE TABLE vehicles (
    user_id  TEXT NOT NULL REFERENCES users(id),
    plate    TEXT NOT NULL,
    bound_at TEXT NOT NULL,
    PRIMARY KEY (user_id, plate)
);
CREATE INDEX vehicles_by_plate ON vehicles(plate);

CREATE TABLE authority_cursors (
    city_code TEXT PRIMARY KEY,
    after_seq BIGINT NOT NULL
);
