"""Repository: the domain model, its validation, the access policy and the services.

Imports no web or backend code: the services receive their backends as arguments.
"""
