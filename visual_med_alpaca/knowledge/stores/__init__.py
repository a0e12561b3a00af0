"""Knowledge stores: one small class per engine, all behind `KnowledgeStore`, chosen by name from `STORES`."""

from .base import DENSE_STORES, STORES, Hit, KnowledgeStore, Query, load_store

__all__ = ["DENSE_STORES", "STORES", "Hit", "KnowledgeStore", "Query", "load_store"]
