-- The trace a job belongs to: the W3C `traceparent` of the request that enqueued it (NULL for
-- a job enqueued outside any request). The job's run continues that trace, so an operator
-- following a ride's end finds its fare job under the same trace id, however much later it
-- ran. Text, as the header is: 55 characters, parsed by the origin when the job runs.
ALTER TABLE jobs ADD COLUMN traceparent text;
