"""IIIF: Image API 3.0, Presentation 3.0, Content Search 2.0 and Change Discovery 1.0.

Planned by the IIIF issue.
"""
