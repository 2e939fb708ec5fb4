-- news-db: no-transaction
-- GET /v1/articles?section=...: pages of one section in storage order, from this index.
CREATE INDEX CONCURRENTLY IF NOT EXISTS articles_section_seq ON articles (section, seq);
