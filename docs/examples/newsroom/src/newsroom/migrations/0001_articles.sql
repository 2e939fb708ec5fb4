-- The newsroom's articles. `seq` is the storage order the list endpoint pages by (its cursor
-- holds the last seq seen); `id` is the article id of the events, unique so that a redelivered
-- event is stored once (INSERT ... ON CONFLICT (id) DO NOTHING).
CREATE TABLE articles (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    title text NOT NULL,
    slug text NOT NULL,
    body text NOT NULL,
    section text NOT NULL,
    author text NOT NULL,
    tags text[] NOT NULL DEFAULT '{}',
    words integer NOT NULL,
    submitted_at double precision NOT NULL,
    published_at double precision NOT NULL
);
