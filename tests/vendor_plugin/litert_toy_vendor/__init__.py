"""A toy accelerator backend: what a vendor's litert plugin looks like."""
