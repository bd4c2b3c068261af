-- atlas:nolint

DROP TABLE orders;
