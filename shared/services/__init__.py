"""Use cases, each a plain class over ports from shared.domain."""
