"""Search: Chinese analysis (jieba, OpenCC, pinyin) and the SearchIndex backends.

Planned by the search issue; until then the item list is served from the SQLite catalog.
"""
