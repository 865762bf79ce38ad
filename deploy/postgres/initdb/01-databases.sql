-- Runs once, on the first start of an empty data volume (docker-entrypoint-initdb.d),
-- as POSTGRES_USER, who then owns the four databases: one per service.
-- Later changes to this file do not touch an existing volume.
CREATE DATABASE registry;
CREATE DATABASE assistance;
CREATE DATABASE eldercare;
CREATE DATABASE monitoring;
