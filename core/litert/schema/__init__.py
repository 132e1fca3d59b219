"""Operator schemas: the one definition of every operator litert knows."""
from .registry import AttrSpec, OpSchema, SchemaRegistry, schemas

__all__ = ["AttrSpec", "OpSchema", "SchemaRegistry", "schemas"]
