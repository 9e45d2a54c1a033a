"""The real-telemetry scenarios, one dict each.

Every value in an alert is written here by hand from the records named in `records`
(host prefix, channel, RecordNumber, EventID, and for captures without record numbers a
field match); `check.py` re-reads the captures and verifies those records say what the
`why` says. Keys in `expect` are spelled as the contract spells them (section 2), not as
today's ingest happens to produce them.

Times: Sysmon records are timed by their UtcTime; other channels by @timestamp. In the
"Lab VM" captures (ntdsutil, schtask_create, comsvcs, fax) @timestamp/TimeCreated is the
VM's local wall clock written with a Z (and for two of them a 12-hour clock), so the alert
time there is the true UTC: the Sysmon UtcTime, or the Security time plus the offset the
Sysmon records of the same capture show (ntdsutil +7 h, schtask_create +5 h).

The scenarios live in specs_attacks (true positives) and specs_benign (benign and false
positives), the labs' names and the source-event builders in specs_common; this module
joins them in the order build.py and check.py have always read them.
"""

from specs_attacks import TRUE_POSITIVES
from specs_benign import NOT_ATTACKS
from specs_common import capture

__all__ = ["SCENARIOS", "capture"]

SCENARIOS = TRUE_POSITIVES + NOT_ATTACKS
