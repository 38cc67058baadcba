"""Where generated messages go: a JSONL file (`jsonl`) or the Kafka input topics
(`kafka`), paced against the wall clock by `pacing`."""
