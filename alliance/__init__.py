"""The alliance of libraries: the OAI-PMH provider, member registry, harvesting, union catalogue (issue 13).

A feature package: it stands on repository, storage and search, and registers in fangzhi/bootstrap.py.
"""
