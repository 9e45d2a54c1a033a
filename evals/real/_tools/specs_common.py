"""What every real-telemetry spec is written with: the hosts and accounts of the OTRF labs (THESHIRE,
PANDALAB, the workgroup "Lab VM"), the Sysmon and Security source-event builders and the capture paths.
Kept apart from the scenario lists (specs_attacks, specs_benign) so each list reads as the scenarios alone."""

W5 = "WORKSTATION5.THESHIRE.LOCAL"
W6 = "WORKSTATION6.THESHIRE.LOCAL"
DC = "MORDORDC.THESHIRE.LOCAL"
WEC = "WEC.THESHIRE.LOCAL"
PG = "PGUSTAVO@THESHIRE.LOCAL"
WD = "WARDOG@THESHIRE.LOCAL"
SB = "SBEAVERS@THESHIRE.LOCAL"
DC01 = "DC01.PANDALAB.COM"
PADMIN = "ADMINISTRATOR@PANDALAB.COM"
LAB_W5 = "WORKSTATION5"          # the workgroup "Lab VM" (not THESHIRE's WORKSTATION5)
LAB_WD = "WARDOG@WORKSTATION5"   # its local account (SubjectDomainName WORKSTATION5)

SYSMON = "Microsoft-Windows-Sysmon/Operational"
PG_SID_2009 = "S-1-5-21-4228717743-1032521047-1810997296-1104"  # pgustavo, Sept-2020 captures
PG_SID_2008 = "S-1-5-21-1363495622-3806888128-621328882-1104"   # pgustavo, Aug-2020 captures
PS = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"

SYSMON_EV = {
    1: ("Process Create (rule: ProcessCreate)", ["process"], ["start"], 100701, "Process Activity: Launch"),
    3: ("Network connection detected (rule: NetworkConnect)", ["network"], ["connection", "start"], 400101, "Network Activity: Open"),
    7: ("Image loaded (rule: ImageLoad)", ["library"], ["start"], 100702, "Module Activity: Load"),
    10: ("Process accessed (rule: ProcessAccess)", ["process"], ["access"], 100703, "Process Activity: Open"),
    11: ("File created (rule: FileCreate)", ["file"], ["creation"], 100101, "File System Activity: Create"),
    13: ("Registry value set (rule: RegistryEvent)", ["registry"], ["change"], 201402, "Registry Value Activity: Modify"),
}


def sysmon(event_id, record_id=None, **kw):
    action, cat, typ, tuid, tname = SYSMON_EV[event_id]
    d = {"channel": SYSMON, "event_id": event_id, "provider": "Microsoft-Windows-Sysmon",
         "action": action, "category": cat, "type": typ, "type_uid": tuid, "type_name": tname}
    if record_id is not None:
        d["record_id"] = record_id
    d.update(kw)
    return d


def security(event_id, record_id=None, channel="Security", action=None, category=None,
             type_=None, type_uid=None, type_name=None, **kw):
    d = {"channel": channel, "event_id": event_id,
         "provider": "Microsoft-Windows-Security-Auditing", "action": action,
         "category": category or [], "type": type_ or [], "type_uid": type_uid,
         "type_name": type_name}
    if record_id is not None:
        d["record_id"] = record_id
    d.update(kw)
    return {k: v for k, v in d.items() if v is not None}


THESHIRE_LAB = "../_lab/theshire/inventory.csv"
PANDALAB_LAB = "../_lab/pandalab/inventory.csv"


def capture(name):
    return f"../../../../shared/data/real/otrf/{name}.zip"

