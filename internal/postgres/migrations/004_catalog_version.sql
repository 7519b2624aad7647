-- A counter every master-data change advances, so that workers reuse their
-- rating snapshot until master data really changes.
CREATE TABLE catalog_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL
);
INSERT INTO catalog_version (version) VALUES (1);
