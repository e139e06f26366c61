from repository.access import User

ADMIN = User("admin", frozenset({"admin"}))
ARCHIVIST = User("wang", frozenset({"archivist"}))
