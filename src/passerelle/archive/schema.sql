-- passerelle archive, SQLite store. One row per canonical entity; every row keeps the
-- source's own id, its exact values and the verbatim raw record. Times: microseconds UTC.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

CREATE TABLE IF NOT EXISTS sources (
    id TEXT PRIMARY KEY, platform TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL,
    size INTEGER NOT NULL, reader TEXT NOT NULL, reader_version TEXT NOT NULL,
    ingested_at TEXT NOT NULL, status TEXT NOT NULL
) STRICT;

-- Units of work a source's reader has finished (resumability after a crash).
CREATE TABLE IF NOT EXISTS source_units (
    source_id TEXT NOT NULL REFERENCES sources(id), unit TEXT NOT NULL,
    PRIMARY KEY (source_id, unit)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS persons (
    id TEXT PRIMARY KEY, platform TEXT NOT NULL, native_id TEXT NOT NULL, name TEXT,
    display_name TEXT, real_name TEXT, email TEXT, is_bot INTEGER NOT NULL,
    is_deleted INTEGER NOT NULL, is_guest INTEGER NOT NULL, is_placeholder INTEGER NOT NULL,
    timezone TEXT, title TEXT, raw BLOB, origin TEXT, source_id TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS spaces (
    id TEXT PRIMARY KEY, platform TEXT NOT NULL, native_id TEXT NOT NULL, kind TEXT NOT NULL,
    visibility TEXT NOT NULL, name TEXT, display_name TEXT, topic TEXT, purpose TEXT, parent_id TEXT,
    created_at INTEGER, creator_id TEXT, is_archived INTEGER NOT NULL, raw BLOB, origin TEXT,
    source_id TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS memberships (
    space_id TEXT NOT NULL REFERENCES spaces(id), person_id TEXT NOT NULL REFERENCES persons(id),
    role TEXT NOT NULL, origin TEXT, source_id TEXT NOT NULL,
    PRIMARY KEY (space_id, person_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY, platform TEXT NOT NULL, native_id TEXT NOT NULL, kind TEXT NOT NULL,
    space_id TEXT NOT NULL REFERENCES spaces(id), subtype TEXT,
    author_id TEXT REFERENCES persons(id), created_at INTEGER, created_native TEXT,
    edited_at INTEGER, edited_native TEXT, edited_by_id TEXT REFERENCES persons(id),
    deleted INTEGER NOT NULL, deleted_at INTEGER,
    thread_root_id TEXT, parent_id TEXT, also_in_channel INTEGER NOT NULL, pinned INTEGER NOT NULL,
    title TEXT, body_format TEXT, body_source TEXT, body_text TEXT,
    body_refs TEXT, -- JSON array of the body's references (mentions, links, emoji), in order
    raw BLOB, origin TEXT, source_id TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS items_space_time ON items (space_id, created_at);
CREATE INDEX IF NOT EXISTS items_thread ON items (thread_root_id) WHERE thread_root_id IS NOT NULL;
-- For reading: everything newest first (search), and a person's items (person pages).
CREATE INDEX IF NOT EXISTS items_time ON items (created_at);
CREATE INDEX IF NOT EXISTS items_author_time ON items (author_id, created_at);

CREATE TABLE IF NOT EXISTS revisions (
    id TEXT PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id), native_id TEXT NOT NULL,
    author_id TEXT, created_at INTEGER, body_format TEXT, body_source TEXT, body_text TEXT,
    body_refs TEXT, comment TEXT, raw BLOB, origin TEXT, source_id TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS revisions_item ON revisions (item_id);

CREATE TABLE IF NOT EXISTS reactions (
    item_id TEXT NOT NULL REFERENCES items(id), person_id TEXT NOT NULL REFERENCES persons(id),
    emoji TEXT NOT NULL, created_at INTEGER, source_id TEXT NOT NULL,
    PRIMARY KEY (item_id, person_id, emoji)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, platform TEXT NOT NULL, native_id TEXT NOT NULL, name TEXT, title TEXT,
    media_type TEXT, size INTEGER, sha256 TEXT, missing_reason TEXT, url TEXT, author_id TEXT,
    created_at INTEGER, raw BLOB, origin TEXT, source_id TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS item_files (
    item_id TEXT NOT NULL REFERENCES items(id), file_id TEXT NOT NULL REFERENCES files(id),
    position INTEGER NOT NULL, PRIMARY KEY (item_id, file_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS diagnostics (
    id TEXT PRIMARY KEY, source_id TEXT NOT NULL, code TEXT NOT NULL, severity TEXT NOT NULL,
    "where" TEXT NOT NULL, message TEXT NOT NULL, dropped TEXT, entity_id TEXT, raw BLOB
) STRICT;
CREATE INDEX IF NOT EXISTS diagnostics_where ON diagnostics (source_id, "where");

-- When a later export replaces a record, the record the earlier export held is kept
-- here verbatim, so every source's exact values survive a merge. (Triggers guard their
-- inserts with NOT EXISTS: a trigger's OR IGNORE would yield to the outer upsert's policy.)
CREATE TABLE IF NOT EXISTS superseded (
    entity_id TEXT NOT NULL, source_id TEXT NOT NULL, raw BLOB NOT NULL, replaced_by TEXT NOT NULL,
    PRIMARY KEY (entity_id, source_id, raw)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS persons_superseded AFTER UPDATE OF raw ON persons
WHEN old.raw IS NOT NULL AND old.raw IS NOT new.raw BEGIN
    INSERT INTO superseded SELECT old.id, old.source_id, old.raw, new.source_id
    WHERE NOT EXISTS (SELECT 1 FROM superseded WHERE entity_id = old.id AND source_id = old.source_id
        AND raw = old.raw);
END;
CREATE TRIGGER IF NOT EXISTS spaces_superseded AFTER UPDATE OF raw ON spaces
WHEN old.raw IS NOT NULL AND old.raw IS NOT new.raw BEGIN
    INSERT INTO superseded SELECT old.id, old.source_id, old.raw, new.source_id
    WHERE NOT EXISTS (SELECT 1 FROM superseded WHERE entity_id = old.id AND source_id = old.source_id
        AND raw = old.raw);
END;
CREATE TRIGGER IF NOT EXISTS items_superseded AFTER UPDATE OF raw ON items
WHEN old.raw IS NOT NULL AND old.raw IS NOT new.raw BEGIN
    INSERT INTO superseded SELECT old.id, old.source_id, old.raw, new.source_id
    WHERE NOT EXISTS (SELECT 1 FROM superseded WHERE entity_id = old.id AND source_id = old.source_id
        AND raw = old.raw);
END;
CREATE TRIGGER IF NOT EXISTS files_superseded AFTER UPDATE OF raw ON files
WHEN old.raw IS NOT NULL AND old.raw IS NOT new.raw BEGIN
    INSERT INTO superseded SELECT old.id, old.source_id, old.raw, new.source_id
    WHERE NOT EXISTS (SELECT 1 FROM superseded WHERE entity_id = old.id AND source_id = old.source_id
        AND raw = old.raw);
END;
CREATE TRIGGER IF NOT EXISTS revisions_superseded AFTER UPDATE OF raw ON revisions
WHEN old.raw IS NOT NULL AND old.raw IS NOT new.raw BEGIN
    INSERT INTO superseded SELECT old.id, old.source_id, old.raw, new.source_id
    WHERE NOT EXISTS (SELECT 1 FROM superseded WHERE entity_id = old.id AND source_id = old.source_id
        AND raw = old.raw);
END;

-- Full-text search on bodies (external content: the text lives once, in items). New rows
-- are indexed in bulk before each commit (SQLiteStore.index_search), up to the rowid kept
-- in meta 'fts_rowid'; these triggers keep rows already indexed in step when they change.
CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5 (
    body_text, title, content = 'items', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT OR IGNORE INTO meta VALUES ('fts_rowid', '0');
CREATE TRIGGER IF NOT EXISTS items_fts_delete AFTER DELETE ON items
WHEN old.rowid <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_rowid') BEGIN
    INSERT INTO items_fts (items_fts, rowid, body_text, title) VALUES ('delete', old.rowid, old.body_text, old.title);
END;
CREATE TRIGGER IF NOT EXISTS items_fts_update AFTER UPDATE OF body_text, title ON items
WHEN old.rowid <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_rowid') BEGIN
    INSERT INTO items_fts (items_fts, rowid, body_text, title) VALUES ('delete', old.rowid, old.body_text, old.title);
    INSERT INTO items_fts (rowid, body_text, title) VALUES (new.rowid, new.body_text, new.title);
END;

-- A later export that changes a body keeps the earlier body as a revision, and the new one.
-- (A trigger's OR IGNORE would be overridden by the outer upsert's conflict policy, so each
-- insert is guarded by NOT EXISTS instead.)
CREATE TRIGGER IF NOT EXISTS items_body_history AFTER UPDATE OF body_source ON items
WHEN old.body_source IS NOT new.body_source BEGIN
    INSERT INTO revisions (id, item_id, native_id, author_id, created_at, body_format,
        body_source, body_text, body_refs, comment, raw, origin, source_id)
    SELECT 'rev_' || old.id || '_' || coalesce(old.edited_native, old.created_native, '') || '_' || old.source_id
        || '_' || (SELECT count(*) FROM revisions WHERE item_id = old.id),
        old.id, coalesce(old.edited_native, old.created_native, ''), coalesce(old.edited_by_id, old.author_id),
        coalesce(old.edited_at, old.created_at), old.body_format, old.body_source, old.body_text, old.body_refs,
        'earlier version, from an earlier export', old.raw, old.origin, old.source_id
    WHERE NOT EXISTS (SELECT 1 FROM revisions WHERE item_id = old.id AND source_id = old.source_id
        AND body_source IS old.body_source);
    INSERT INTO revisions (id, item_id, native_id, author_id, created_at, body_format,
        body_source, body_text, body_refs, comment, raw, origin, source_id)
    SELECT 'rev_' || new.id || '_' || coalesce(new.edited_native, new.created_native, '') || '_' || new.source_id
        || '_' || (SELECT count(*) FROM revisions WHERE item_id = new.id),
        new.id, coalesce(new.edited_native, new.created_native, ''), coalesce(new.edited_by_id, new.author_id),
        coalesce(new.edited_at, new.created_at), new.body_format, new.body_source, new.body_text, new.body_refs,
        'later version, from a later export', new.raw, new.origin, new.source_id
    WHERE NOT EXISTS (SELECT 1 FROM revisions WHERE item_id = new.id AND source_id = new.source_id
        AND body_source IS new.body_source);
END;
