-- How far a merge of usage_recent into usage_records has got: the records of
-- usage_recent with rowid <= upto and line_id < below are in usage_records already.
-- A merge goes one range of lines at a time, a short transaction each, so that it
-- never holds the writer for long; readers leave out what this row says is merged,
-- in the same statement, and a merge cut short by a crash resumes where it was.
CREATE TABLE merge_progress (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    upto   INTEGER NOT NULL,
    below  TEXT NOT NULL
);
INSERT INTO merge_progress (id, upto, below) VALUES (1, 0, '');
