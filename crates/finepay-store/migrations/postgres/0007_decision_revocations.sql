-- Every revocation the platform hears of from an authority's feed, whether or not it keeps a copy
-- of the decision. A lookup that fetched the decision just before it was revoked may write its
-- copy after the feed applied the revocation; reads of the copy consult this table, so the copy
-- can never show a revoked decision as payable.
CREATE TABLE decision_revocations (
    number     TEXT PRIMARY KEY,
    revoked_at TEXT NOT NULL
);
