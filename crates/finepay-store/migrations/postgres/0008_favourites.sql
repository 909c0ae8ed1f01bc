-- Services a user bookmarked in the web app; pinned first on the home page.
CREATE TABLE favourites (
    user_id    TEXT NOT NULL REFERENCES users(id),
    service_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, service_id)
);
