"""fedostree: compose RPM package sets into OSTree trees, and replicate them atomically."""

__version__ = "0.1.0"
