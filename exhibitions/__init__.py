"""Online exhibitions (issue 15): a curator's story told with the collection, stored as OCFL
objects ``exhibition:<id>`` through the archive, each block shown to a reader only as the access
policy allows at render time (``exhibitions.service``)."""
