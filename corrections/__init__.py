"""Reviewed corrections of OCR text and transcripts (proposals, review, new derivative versions)."""
