-- Nothing to undo: the folded search text is a superset of what the lower-cased one found.
SELECT 1;
