DROP INDEX assessments_queue;
