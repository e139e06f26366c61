"""Oral history: interviews, transcripts (WebVTT, OHMS), index segments.

Planned by the oral-history issue.
"""
