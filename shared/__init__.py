"""Everything the functions need: configuration, composition root, services, domain and adapters."""
