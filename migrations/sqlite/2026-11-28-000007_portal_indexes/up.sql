-- The officers' queue reads submitted audits oldest first, a page at a time (keyset on submitted_at, id);
-- the audits list reads a person's audits by status in id order.
CREATE INDEX assessments_queue ON assessments (status, submitted_at, id);
