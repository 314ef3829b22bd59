"""The worker's throughput against a plain aiokafka loop on the same broker and data."""
