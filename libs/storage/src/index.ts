// @switchyard/storage: the SQL database each service owns (SQLite by default, PostgreSQL with DATABASE_URL).
