-- Luminate's metrics schema for the local sandbox (ClickHouse 18.16).
-- Run by scripts/sandbox against ch-s1-r1; every statement is ON CLUSTER so it
-- reaches all four nodes through the distributed DDL queue in ZooKeeper.
-- Statements are separated by ';'. Lines starting with '--' are comments.

CREATE DATABASE IF NOT EXISTS luminate ON CLUSTER luminate;

-- One row per sample. {shard} and {replica} come from each node's <macros>.
-- Partitioned by day: retention drops whole partitions
-- (ALTER TABLE ... DROP PARTITION 20261126 -- numeric, not quoted), backups
-- freeze them. 18.16 has no TTL.
CREATE TABLE IF NOT EXISTS luminate.metrics_local ON CLUSTER luminate
(
    timestamp   DateTime,
    tenant      String,
    metric_name String,
    labels      String,   -- JSON object, e.g. {"host":"web-1","region":"eu-west-1"}
    value       Float64
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/luminate/metrics_local', '{replica}')
PARTITION BY toYYYYMMDD(timestamp)
ORDER BY (tenant, metric_name, timestamp);

-- Query/insert entry point over both shards. Inserts through it are async
-- unless the request URL has insert_distributed_sync=1.
CREATE TABLE IF NOT EXISTS luminate.metrics ON CLUSTER luminate
AS luminate.metrics_local
ENGINE = Distributed(luminate, luminate, metrics_local, rand());
