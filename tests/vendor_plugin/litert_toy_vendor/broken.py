"""A plugin whose import fails, as when a vendor runtime is missing."""
import litert_toy_vendor_native_runtime  # noqa: F401  (does not exist)
