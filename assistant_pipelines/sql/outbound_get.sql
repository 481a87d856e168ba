SELECT idempotency_key, status, attempts FROM outbound_messages WHERE idempotency_key = :key
