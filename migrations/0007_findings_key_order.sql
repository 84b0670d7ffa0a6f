-- target: placement
-- Findings pages walk (scan_id, finding_key) in byte order (the cursor's order, the same under
-- every database locale). With both columns in the "C" collation the primary key serves a
-- scan's pages in that order, and a node's pages get an index in it (replacing the index by
-- node and severity, which served neither): an export of a scan or node reads each page from
-- its index instead of sorting every finding again per page.
DROP INDEX vulnerability_findings_by_node;
ALTER TABLE vulnerability_findings ALTER COLUMN scan_id TYPE text COLLATE "C", ALTER COLUMN finding_key TYPE text COLLATE "C";
CREATE INDEX vulnerability_findings_by_node ON vulnerability_findings (node_id, scan_id, finding_key);
DROP INDEX secret_findings_by_node;
ALTER TABLE secret_findings ALTER COLUMN scan_id TYPE text COLLATE "C", ALTER COLUMN finding_key TYPE text COLLATE "C";
CREATE INDEX secret_findings_by_node ON secret_findings (node_id, scan_id, finding_key);
DROP INDEX malware_findings_by_node;
ALTER TABLE malware_findings ALTER COLUMN scan_id TYPE text COLLATE "C", ALTER COLUMN finding_key TYPE text COLLATE "C";
CREATE INDEX malware_findings_by_node ON malware_findings (node_id, scan_id, finding_key);
DROP INDEX compliance_findings_by_node;
ALTER TABLE compliance_findings ALTER COLUMN scan_id TYPE text COLLATE "C", ALTER COLUMN finding_key TYPE text COLLATE "C";
CREATE INDEX compliance_findings_by_node ON compliance_findings (node_id, scan_id, finding_key);
DROP INDEX cloud_compliance_findings_by_node;
ALTER TABLE cloud_compliance_findings ALTER COLUMN scan_id TYPE text COLLATE "C", ALTER COLUMN finding_key TYPE text COLLATE "C";
CREATE INDEX cloud_compliance_findings_by_node ON cloud_compliance_findings (node_id, scan_id, finding_key);
