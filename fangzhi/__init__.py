"""Fangzhi's composition root: the settings table (``fangzhi.settings``) and the one place that
builds every backend and service from it (``fangzhi.bootstrap``)."""
