SELECT response_json FROM llm_cache WHERE cache_key = :cache_key
