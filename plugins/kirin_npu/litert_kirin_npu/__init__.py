"""litert backend for Kirin NPUs (HiAI Foundation DDK)."""
