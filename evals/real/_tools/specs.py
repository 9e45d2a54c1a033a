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
"""

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


SCENARIOS = [
    # ================================================================ true positives
    {
        "id": "otrf-dcom-excel-xll",
        "title": "Remote DCOM activation of Excel on WORKSTATION6 (covenant_dcom_registerxll)",
        "capture": "covenant_dcom_registerxll", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-09-18T19:00:21.341Z", "severity": "high",
            "rule": "Office application started by DcomLaunch for a network logon",
            "title": "Remote DCOM activation of EXCEL.EXE on WORKSTATION6 followed by an unsigned XLL load",
            "description": "EXCEL.EXE /automation -Embedding was started by svchost -k DcomLaunch inside a network "
                           "logon session (NTLM, source 172.18.39.5) and loaded an unsigned add-in from "
                           "C:\\ProgramData. Excel.Application RegisterXLL over DCOM is a known lateral-movement "
                           "technique.",
            "attack": [("T1021.003", "Distributed Component Object Model", "TA0008")],
            "host": {"name": "WORKSTATION6.theshire.local", "ip": ["172.18.39.6"]},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2009, "logon_id": "0xceec42"},
            "process": {"executable": r"C:\Program Files (x86)\Microsoft Office\root\Office16\EXCEL.EXE",
                        "command_line": r'"C:\Program Files (x86)\Microsoft Office\Root\Office16\EXCEL.EXE" /automation -Embedding',
                        "entity_id": "{d273d0f0-03c5-5f65-b902-000000000800}", "integrity": "High",
                        "user": {"name": "pgustavo", "domain": "THESHIRE"},
                        "parent": {"executable": r"C:\Windows\System32\svchost.exe",
                                   "command_line": r"C:\windows\system32\svchost.exe -k DcomLaunch -p",
                                   "pid": 960, "entity_id": "{d273d0f0-e866-5f64-1100-000000000800}"}},
            "source": {"ip": "172.18.39.5"},
            "file": r"C:\ProgramData\calc.xll",
            "source_event": sysmon(1, 2078066),
            "data_sources": [SYSMON, "Security"],
        },
        "records": [
            ("WORKSTATION5", SYSMON, 1247560, 1, {"Image": r"C:\Users\pgustavo\Desktop\MoveExcelXLL.exe", "User": "THESHIRE\\pgustavo"}),
            ("WORKSTATION5", SYSMON, 1247783, 3, {"DestinationIp": "172.18.39.6", "Image": r"C:\Users\pgustavo\Desktop\MoveExcelXLL.exe"}),
            ("WORKSTATION6", "security", 475550, 4624, {"IpAddress": "172.18.39.5", "WorkstationName": "WORKSTATION5", "TargetLogonId": "0xceec42", "AuthenticationPackageName": "NTLM"}),
            ("WORKSTATION6", SYSMON, 2078066, 1, {"LogonId": "0xceec42", "User": "THESHIRE\\pgustavo"}),
            ("WORKSTATION6", SYSMON, 2078571, 7, {"ImageLoaded": r"C:\ProgramData\calc.xll"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1021.003"],
        },
        "why": "WORKSTATION5 ran MoveExcelXLL.exe 172.18.39.6 C:\\programdata\\calc.xll as pgustavo from the "
               "GruntHTTP.exe implant (Sysmon 1 rec 1247560, LogonId 0x2b78cd) and connected to 172.18.39.6 "
               "(Sysmon 3 rec 1247783). WORKSTATION6 logged pgustavo on by NTLM from 172.18.39.5, WorkstationName "
               "WORKSTATION5 (4624 rec 475550, LogonId 0xceec42); in that logon DcomLaunch started EXCEL.EXE "
               "/automation -Embedding (Sysmon 1 rec 2078066, 4688 rec 475552), which loaded the unsigned "
               "C:\\ProgramData\\calc.xll (Sysmon 7 rec 2078571): remote DCOM execution, W5 -> pgustavo -> W6.",
    },
    {
        "id": "otrf-wmic-remote-net-user",
        "title": "net user /add started by WmiPrvSE on WORKSTATION6 (empire_wmic_add_user_backdoor)",
        "capture": "empire_wmic_add_user_backdoor", "lab": THESHIRE_LAB, "format": "ecs",
        "alert": {
            "time": "2020-09-14T12:06:02.316Z", "severity": "high", "rule_type": "eql",
            "rule": "WMI Incoming Lateral Movement",
            "description": "Identifies processes executed via Windows Management Instrumentation (WmiPrvSE) on "
                           "the target host in a network logon from a remote host. Adversaries can use WMI to "
                           "execute commands remotely.",
            "reason": "process event with process net.exe, parent process WmiPrvSE.exe, source 172.18.39.5, "
                      "by pgustavo on WORKSTATION6.theshire.local created high alert WMI Incoming Lateral Movement.",
            "attack": [("T1047", "Windows Management Instrumentation", "TA0002"),
                       ("T1136.001", "Local Account", "TA0003")],
            "parent_names": {"T1136": "Create Account"},
            "host": {"name": "WORKSTATION6.theshire.local"},
            "user": {"name": "pgustavo", "domain": "THESHIRE"},
            "process": {"executable": r"C:\Windows\System32\net.exe",
                        "command_line": "net user /add backdoor paw0rd1", "pid": 7768,
                        "entity_id": "{83d0c8c3-5caa-5f5f-f102-000000000400}",
                        "parent": {"executable": r"C:\Windows\System32\wbem\WmiPrvSE.exe",
                                   "command_line": r"C:\windows\system32\wbem\wmiprvse.exe -secured -Embedding",
                                   "pid": 3952, "entity_id": "{83d0c8c3-5caa-5f5f-f002-000000000400}"}},
            "source": {"ip": "172.18.39.5"},
            "source_event": sysmon(1, 183112, event_data={"LogonId": "0x551686", "IntegrityLevel": "High"}),
            "index": "winlogbeat-7.9.0-2020.09.14",
        },
        "records": [
            ("WORKSTATION5", SYSMON, 423322, 1, {"Image": r"C:\Windows\System32\wbem\WMIC.exe", "User": "THESHIRE\\pgustavo"}),
            ("WORKSTATION5", SYSMON, 423427, 3, {"DestinationIp": "172.18.39.6", "SourcePort": "60065"}),
            ("WORKSTATION6", "Security", 56034, 4624, {"IpAddress": "172.18.39.5", "TargetLogonId": "0x551686", "TargetUserName": "pgustavo"}),
            ("WORKSTATION6", SYSMON, 183112, 1, {"ParentImage": r"C:\Windows\System32\wbem\WmiPrvSE.exe", "LogonId": "0x551686"}),
            ("WORKSTATION6", "Security", 56079, 4720, {"TargetUserName": "backdoor", "SubjectLogonId": "0x551686"}),
            ("WORKSTATION6", "Security", 56082, 4726, {"TargetUserName": "backdoor", "SubjectLogonId": "0x551686"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1047", "T1136.001"],
            "must_not_cite": [WD],
        },
        "why": "On WORKSTATION5 the Empire agent's powershell (pgustavo, LogonId 0x2cc013) ran WMIC /node:WORKSTATION6 "
               "process call create \"net user /add backdoor ...\" (Sysmon 1 rec 423322) and WMIC connected to "
               "172.18.39.6 from port 60065 (Sysmon 3 rec 423427); WORKSTATION6 logged pgustavo on from 172.18.39.5 "
               "port 60065 (4624 rec 56034, LogonId 0x551686) and WmiPrvSE started net.exe in that logon (Sysmon 1 "
               "rec 183112), which created the local account backdoor (4720 rec 56079) -- removed again at once "
               "(4726 rec 56082, the password failed policy). wardog's session on WORKSTATION5 (LogonId "
               "0x7ed5aa, background task hosts only) is unrelated.",
    },
    {
        "id": "otrf-sharpsc-remote-service",
        "title": "Service Cyb3rWard0g installed from the network on WORKSTATION6 (covenant_sharpsc_create_dcerpc_smb_svcctl)",
        "capture": "covenant_sharpsc_create_dcerpc_smb_svcctl", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-08-06T06:27:32.796Z", "severity": "high",
            "rule": "Remote service installation over the svcctl named pipe",
            "title": "Service Cyb3rWard0g installed on WORKSTATION6 by a network logon from 172.18.39.5",
            "description": "A service was installed (4697) by an account whose logon session came from the network "
                           "and opened \\\\*\\IPC$\\svcctl; the service binary is C:\\Windows\\System32\\GruntHTTP2.exe, "
                           "set to auto start as LocalSystem.",
            "attack": [("T1021.002", "SMB/Windows Admin Shares", "TA0008"),
                       ("T1543.003", "Windows Service", "TA0003"),
                       ("T1569.002", "Service Execution", "TA0002")],
            "host": {"name": "WORKSTATION6.theshire.local"},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2008, "logon_id": "0xba93e3"},
            "source": {"ip": "172.18.39.5", "port": 54736},
            "resources": [{"type": "Windows Service", "name": "Cyb3rWard0g", "uid": "Cyb3rWard0g",
                           "data": {"display_name": "OTR", "image_path": r"C:\Windows\System32\GruntHTTP2.exe",
                                    "start_type": "auto start", "account": "LocalSystem"}}],
            "source_event": security(4697, 91138, action="A service was installed in the system",
                                     category=["configuration"], type_=["creation"], type_uid=201901,
                                     type_name="Windows Service Activity: Create",
                                     event_data={"ServiceName": "Cyb3rWard0g",
                                                 "ServiceFileName": r"C:\Windows\System32\GruntHTTP2.exe",
                                                 "SubjectLogonId": "0xba93e3"}),
            "data_sources": ["Security", "System"],
        },
        "records": [
            ("WORKSTATION5", SYSMON, 299245, 3, {"Image": r"C:\Users\pgustavo\Desktop\GruntHTTP.exe", "DestinationIp": "172.18.39.6", "DestinationPort": "135"}),
            ("WORKSTATION6", "Security", 91131, 4624, {"IpAddress": "172.18.39.5", "TargetLogonId": "0xba93e3", "TargetUserName": "pgustavo"}),
            ("WORKSTATION6", "Security", 91134, 5145, {"RelativeTargetName": "svcctl", "SubjectLogonId": "0xba93e3"}),
            ("WORKSTATION6", "Security", 91138, 4697, {"ServiceName": "Cyb3rWard0g", "SubjectLogonId": "0xba93e3"}),
            ("WORKSTATION6", "System", 521, 7045, {"ServiceName": "OTR", "ImagePath": r"C:\Windows\System32\GruntHTTP2.exe"}),
            ("WORKSTATION5", SYSMON, 299509, 3, {"SourcePort": "54736", "DestinationIp": "172.18.39.6"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1021.002", "T1543.003", "T1569.002"],
            "must_not_cite": [SB],
        },
        "why": "GruntHTTP.exe running as pgustavo on WORKSTATION5 opened RPC to 172.18.39.6:135 (Sysmon 3 rec 299245); "
               "WORKSTATION6 logged pgustavo on from 172.18.39.5 port 54736 (4624 rec 91131, LogonId 0xba93e3, the "
               "same source port WORKSTATION5's SMB connection used, Sysmon 3 rec 299509), the session opened "
               "IPC$\\svcctl (5145 rec 91134) and installed service Cyb3rWard0g / OTR with binary "
               "C:\\Windows\\System32\\GruntHTTP2.exe (4697 rec 91138, 7045 System rec 521). sbeavers' desktop "
               "session on WORKSTATION6 plays no part.",
    },
    {
        "id": "otrf-smb-copy-exe",
        "title": "Executable written over C$ on WORKSTATION6 (covenant_copy_smb_CreateRequest)",
        "capture": "covenant_copy_smb_CreateRequest", "lab": THESHIRE_LAB, "format": "ecs",
        "alert": {
            "time": "2020-09-22T18:53:32.342Z", "severity": "medium", "rule_type": "eql",
            "rule": "Potential Lateral Tool Transfer via SMB Share",
            "description": "Identifies the creation or change of a Windows executable file over an administrative "
                           "SMB share (C$/ADMIN$) by a remote network logon. Adversaries may transfer tools or "
                           "other files between systems in a compromised environment.",
            "reason": "file event with path ProgramData\\GruntHTTP.exe on share \\\\*\\C$, source 172.18.39.5, by "
                      "pgustavo on WORKSTATION6.theshire.local created medium alert Potential Lateral Tool "
                      "Transfer via SMB Share.",
            "attack": [("T1570", "Lateral Tool Transfer", "TA0008"),
                       ("T1021.002", "SMB/Windows Admin Shares", "TA0008")],
            "parent_names": {"T1021": "Remote Services"},
            "host": {"name": "WORKSTATION6.theshire.local", "ip": ["172.18.39.6"]},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2009},
            "source": {"ip": "172.18.39.5", "port": 62782},
            "file": r"C:\ProgramData\GruntHTTP.exe",
            "source_event": security(5145, 933026, channel="security",
                                     action="Detailed File Share", category=["network", "file"],
                                     type_=["access"],
                                     event_data={"ShareName": "\\\\*\\C$",
                                                 "RelativeTargetName": "ProgramData\\GruntHTTP.exe",
                                                 "AccessMask": "0x17019f", "SubjectLogonId": "0x4e13b2e"}),
            "index": "winlogbeat-7.9.1-2020.09.22",
        },
        "records": [
            ("WORKSTATION6", "security", 933021, 4624, {"IpAddress": "172.18.39.5", "IpPort": "62782", "TargetLogonId": "0x4e13b2e"}),
            ("WORKSTATION6", "security", 933024, 5140, {"ShareName": "\\\\*\\C$", "SubjectLogonId": "0x4e13b2e"}),
            ("WORKSTATION6", "security", 933026, 5145, {"RelativeTargetName": "ProgramData\\GruntHTTP.exe", "SubjectLogonId": "0x4e13b2e"}),
            ("WORKSTATION6", SYSMON, 3956859, 11, {"TargetFilename": r"C:\ProgramData\GruntHTTP.exe", "Image": "System"}),
            ("WORKSTATION5", SYSMON, 3518604, 3, {"SourcePort": "62782", "DestinationIp": "172.18.39.6", "DestinationPort": "445"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "medium",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1570", "T1021.002"],
        },
        "why": "WORKSTATION6 logged pgustavo on from 172.18.39.5 port 62782 (4624 rec 933021, LogonId 0x4e13b2e); "
               "WORKSTATION5's own Sysmon shows that SMB connection leaving 172.18.39.5:62782 for 172.18.39.6:445 "
               "(Sysmon 3 rec 3518604). The session mapped C$ (5140 rec 933024) and wrote "
               "ProgramData\\GruntHTTP.exe (5145 rec 933026, WriteData/AppendData), which the SMB server (System) "
               "created as C:\\ProgramData\\GruntHTTP.exe (Sysmon 11 rec 3956859): a C2 implant pushed W5 -> W6.",
    },
    {
        "id": "otrf-empire-psremoting",
        "title": "Encoded PowerShell started by wsmprovhost on WORKSTATION6 (empire_psremoting_stager)",
        "capture": "empire_psremoting_stager", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-09-20T21:09:11.252Z", "severity": "high",
            "rule": "Encoded PowerShell spawned by WinRM plugin host (wsmprovhost.exe)",
            "title": "wsmprovhost.exe started powershell -noP -sta -w 1 -enc on WORKSTATION6",
            "description": "A hidden, encoded PowerShell command line (-noP -sta -w 1 -enc) was started by the WinRM "
                           "remote shell host wsmprovhost.exe, i.e. by a PowerShell Remoting session opened from "
                           "another host. The command-line pattern matches the Empire launcher.",
            "attack": [("T1021.006", "Windows Remote Management", "TA0008"),
                       ("T1059.001", "PowerShell", "TA0002")],
            "host": {"name": "WORKSTATION6.theshire.local"},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2009, "logon_id": "0x2da8840"},
            "process": {"executable": r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
                        "command_line": r'"C:\windows\System32\WindowsPowerShell\v1.0\powershell.exe" -noP -sta -w 1 -enc SQBmACgAJABQAFMAVgBFAHIAUwBpAG8ATgBUAGEAQgBsAEUALgBQAFMAVgBFAFIAcwBJAG8AbgAuAE0AQQBKAG8AUgAgAC0AZwBlACAAMwApAHsA...',
                        "entity_id": "{d273d0f0-c4f7-5f67-a707-000000000800}", "integrity": "High",
                        "user": {"name": "pgustavo", "domain": "THESHIRE"},
                        "parent": {"executable": r"C:\Windows\System32\wsmprovhost.exe",
                                   "command_line": r"C:\windows\system32\wsmprovhost.exe -Embedding",
                                   "pid": 9036, "entity_id": "{d273d0f0-c4f4-5f67-a607-000000000800}"}},
            "source": {"ip": "172.18.39.5"},
            "destination": {"ip": "172.18.39.6", "port": 5985, "service": "WinRM"},
            "source_event": sysmon(1, 3092580),
            "data_sources": [SYSMON, "Security"],
        },
        "records": [
            ("WORKSTATION5", SYSMON, 2272124, 3, {"Image": PS, "User": "THESHIRE\\pgustavo", "DestinationIp": "172.18.39.6", "DestinationPort": "5985"}),
            ("MORDORDC", "Security", 1398047, 4769, {"ServiceName": "WORKSTATION6$", "IpAddress": "::ffff:172.18.39.5"}),
            ("WORKSTATION6", SYSMON, 3092506, 3, {"SourceIp": "172.18.39.5", "SourcePort": "59770", "DestinationPort": "5985"}),
            ("WORKSTATION6", "security", 738614, 4624, {"TargetLogonId": "0x2da8840", "TargetUserName": "pgustavo", "IpAddress": "-"}),
            ("WORKSTATION6", SYSMON, 3092453, 1, {"Image": r"C:\Windows\System32\wsmprovhost.exe", "LogonId": "0x2da8840"}),
            ("WORKSTATION6", SYSMON, 3092580, 1, {"ParentImage": r"C:\Windows\System32\wsmprovhost.exe", "LogonId": "0x2da8840"}),
            ("WORKSTATION6", SYSMON, 3093336, 1, {"Image": r"C:\Windows\System32\whoami.exe", "LogonId": "0x2da8840"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1021.006", "T1059.001"],
        },
        "why": "The Empire agent's powershell on WORKSTATION5 (pgustavo) opened WinRM 172.18.39.5 -> 172.18.39.6:5985 "
               "(Sysmon 3 rec 2272124) after a service ticket for WORKSTATION6$ was issued to pgustavo from "
               "172.18.39.5 (4769 rec 1398047 on MORDORDC). WORKSTATION6's 4624 (rec 738614, LogonId 0x2da8840) "
               "carries no IpAddress, so the source is proved by W5's connection and the DC ticket; in that logon "
               "wsmprovhost.exe (Sysmon 1 rec 3092453) started powershell -noP -sta -w 1 -enc (rec 3092580), the "
               "new agent, which ran whoami (rec 3093336).",
    },
    {
        "id": "otrf-covenant-psremoting",
        "title": "Incoming PowerShell Remoting session on WORKSTATION6 (covenant_psremoting_command)",
        "capture": "covenant_psremoting_command", "lab": THESHIRE_LAB, "format": "ecs",
        "alert": {
            "time": "2020-08-06T15:56:22.486Z", "severity": "medium", "rule_type": "eql",
            "rule": "Incoming Execution via PowerShell Remoting",
            "description": "Identifies remote execution via Windows PowerShell remoting: the WinRM plugin host "
                           "wsmprovhost.exe started on the target in a network logon shortly after an inbound "
                           "connection to TCP 5985/5986.",
            "reason": "process event with process wsmprovhost.exe, parent process svchost.exe, by pgustavo on "
                      "WORKSTATION6.theshire.local created medium alert Incoming Execution via PowerShell Remoting.",
            "attack": [("T1021.006", "Windows Remote Management", "TA0008")],
            "parent_names": {"T1021": "Remote Services"},
            "host": {"name": "WORKSTATION6.theshire.local", "ip": ["172.18.39.6"]},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2008},
            "process": {"executable": r"C:\Windows\System32\wsmprovhost.exe",
                        "command_line": r"C:\windows\system32\wsmprovhost.exe -Embedding", "pid": 1280,
                        "entity_id": "{49a15388-2826-5f2c-4505-000000000400}",
                        "parent": {"executable": r"C:\Windows\System32\svchost.exe",
                                   "command_line": r"C:\windows\system32\svchost.exe -k DcomLaunch -p",
                                   "pid": 896, "entity_id": "{49a15388-5c39-5f2b-1000-000000000400}"}},
            "source": {"ip": "172.18.39.5"},
            "destination": {"ip": "172.18.39.6", "port": 5985},
            "source_event": sysmon(1, 478644, event_data={"LogonId": "0x1121f34", "IntegrityLevel": "High"}),
            "index": "winlogbeat-7.8.1-2020.08.06",
        },
        "records": [
            ("WORKSTATION5", "Security", 114402, 4648, {"ProcessName": r"C:\Users\pgustavo\Desktop\GruntHTTP.exe", "TargetServerName": "WORKSTATION6", "TargetUserName": "pgustavo"}),
            ("WORKSTATION5", SYSMON, 401139, 3, {"Image": r"C:\Users\pgustavo\Desktop\GruntHTTP.exe", "DestinationPort": "5985", "DestinationIp": "172.18.39.6"}),
            ("WORKSTATION6", SYSMON, 478694, 3, {"SourceIp": "172.18.39.5", "SourcePort": "57967", "DestinationPort": "5985"}),
            ("WORKSTATION6", "Security", 134879, 4624, {"TargetLogonId": "0x1121f34", "TargetUserName": "pgustavo"}),
            ("WORKSTATION6", SYSMON, 478644, 1, {"Image": r"C:\Windows\System32\wsmprovhost.exe", "LogonId": "0x1121f34"}),
            ("WORKSTATION6", SYSMON, 478491, 1, {"User": "THESHIRE\\sbeavers", "LogonId": "0x2b88b1"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "medium",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1021.006"],
            "must_not_cite": [SB],
        },
        "why": "On WORKSTATION5 GruntHTTP.exe (Covenant implant run by pgustavo) used explicit credentials for "
               "pgustavo against WORKSTATION6 (4648 rec 114402, TargetInfo HTTP/WORKSTATION6) and connected to "
               "172.18.39.6:5985 (Sysmon 3 rec 401139); WORKSTATION6 logged pgustavo on (4624 rec 134879, LogonId "
               "0x1121f34) and started wsmprovhost.exe -Embedding in that logon (Sysmon 1 rec 478644), which then "
               "read process handles (get-process). sbeavers, whose desktop session on WORKSTATION6 (LogonId "
               "0x2b88b1) only ran taskhostw/HxTsr/RuntimeBroker, is a bystander.",
    },
    {
        "id": "otrf-rubeus-asktgt",
        "title": "RC4 TGT request by Rubeus.exe on WORKSTATION6 (empire_shell_rubeus_asktgt_ptt)",
        "capture": "empire_shell_rubeus_asktgt_ptt", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-09-22T02:39:10.522Z", "severity": "high",
            "rule": "Kerberos ticket request from a non-LSASS process with an RC4 key",
            "title": "Rubeus.exe asktgt with an RC4 hash for another user on WORKSTATION6",
            "description": "A process other than lsass.exe opened TCP 88 to the domain controller and an RC4-HMAC "
                           "TGT (etype 0x17) was issued for a different account than the one running the process; "
                           "the command line matches Rubeus asktgt /rc4 ... /ptt (over-pass-the-hash).",
            "attack": [("T1550.002", "Pass the Hash", "TA0008"),
                       ("T1550.003", "Pass the Ticket", "TA0008")],
            "host": {"name": "WORKSTATION6.theshire.local", "ip": ["172.18.39.6"]},
            "user": {"name": "wardog", "domain": "THESHIRE", "logon_id": "0x41a6996"},
            "process": {"executable": r"C:\Users\sbeavers\Desktop\Rubeus.exe",
                        "command_line": r'"C:\users\sbeavers\Desktop\Rubeus.exe" asktgt /user:pgustavo /rc4:81d310fa34e6a56a31145445891bb7b8 /ptt',
                        "entity_id": "{d273d0f0-63ce-5f69-940c-000000000800}", "integrity": "High",
                        "user": {"name": "wardog", "domain": "THESHIRE"},
                        "parent": {"executable": PS, "pid": 5056,
                                   "entity_id": "{d273d0f0-5d74-5f69-5b0c-000000000800}"}},
            "destination": {"ip": "172.18.38.5", "port": 88, "service": "kerberos"},
            "evidence_data": {"requested_user": "pgustavo", "ticket_encryption_type": "0x17"},
            "source_event": sysmon(1, 3667856),
            "data_sources": [SYSMON, "Security"],
        },
        "records": [
            ("WORKSTATION6", SYSMON, 3667856, 1, {"User": "THESHIRE\\wardog", "LogonId": "0x41a6996"}),
            ("WORKSTATION6", SYSMON, 3668037, 3, {"Image": r"C:\Users\sbeavers\Desktop\Rubeus.exe", "DestinationIp": "172.18.38.5", "DestinationPort": "88", "SourcePort": "53409"}),
            ("MORDORDC", "Security", 1950060, 4768, {"TargetUserName": "pgustavo", "TicketEncryptionType": "0x17", "IpAddress": "::ffff:172.18.39.6", "IpPort": "53409"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W6, WD, PG, DC], "source": [W6, WD], "attack_path": [W6, WD, PG],
            "impacted_assets": [W6, DC], "techniques": ["T1550.002", "T1550.003"],
            "must_not_cite": [SB, W5],
        },
        "why": "wardog's Empire agent on WORKSTATION6 started \"C:\\users\\sbeavers\\Desktop\\Rubeus.exe\" asktgt "
               "/user:pgustavo /rc4:<hash> /ptt (Sysmon 1 rec 3667856, User THESHIRE\\wardog, LogonId 0x41a6996); "
               "Rubeus itself connected 172.18.39.6:53409 -> 172.18.38.5:88 (Sysmon 3 rec 3668037) and MORDORDC "
               "issued a TGT for pgustavo to ::ffff:172.18.39.6 port 53409 with RC4 (4768 rec 1950060, etype "
               "0x17): wardog obtained a domain credential for pgustavo. sbeavers only owns the folder the binary "
               "sits in; he ran nothing.",
    },
    {
        "id": "otrf-mimikatz-lsass",
        "title": "PowerShell opened LSASS with 0x1010 on WORKSTATION5 (empire_mimikatz_logonpasswords)",
        "capture": "empire_mimikatz_logonpasswords", "lab": THESHIRE_LAB, "format": "ecs",
        "alert": {
            "time": "2020-08-07T14:32:56.540Z", "severity": "high", "rule_type": "eql",
            "rule": "LSASS Memory Access by PowerShell",
            "description": "Identifies a PowerShell process opening the Local Security Authority Subsystem Service "
                           "(lsass.exe) with PROCESS_VM_READ | PROCESS_QUERY_LIMITED_INFORMATION (0x1010), the "
                           "access Mimikatz sekurlsa::logonpasswords requests.",
            "reason": "process event with process powershell.exe, target process lsass.exe, granted access 0x1010, "
                      "on WORKSTATION5.theshire.local created high alert LSASS Memory Access by PowerShell.",
            "attack": [("T1003.001", "LSASS Memory", "TA0006")],
            "parent_names": {"T1003": "OS Credential Dumping"},
            "host": {"name": "WORKSTATION5.theshire.local", "ip": ["172.18.39.5"]},
            "user": {"name": "pgustavo", "domain": "THESHIRE"},
            "process": {"executable": r"C:\windows\System32\WindowsPowerShell\v1.0\powershell.exe", "pid": 1648,
                        "entity_id": "{297bc33e-65d0-5f2d-8207-000000000400}"},
            "target_process": {"executable": r"C:\windows\system32\lsass.exe", "pid": 768,
                               "entity_id": "{297bc33e-5c2e-5f2b-0c00-000000000400}"},
            "source_event": sysmon(10, 725757, event_data={"GrantedAccess": "0x1010",
                                                          "CallTrace": "C:\\windows\\SYSTEM32\\ntdll.dll+9c534|C:\\windows\\System32\\KERNELBASE.dll+2726e|UNKNOWN(000002EE319439BF)"}),
            "index": "winlogbeat-7.8.1-2020.08.07",
        },
        "records": [
            ("WORKSTATION5", SYSMON, 725757, 10, {"GrantedAccess": "0x1010", "SourceProcessGUID": "{297bc33e-65d0-5f2d-8207-000000000400}"}),
            ("WORKSTATION5", SYSMON, 725758, 3, {"ProcessGuid": "{297bc33e-65d0-5f2d-8207-000000000400}", "User": "THESHIRE\\pgustavo", "DestinationIp": "10.10.10.5"}),
            ("WORKSTATION5", "Security", 202265, 4673, {"SubjectUserName": "pgustavo", "SubjectLogonId": "0x2ba622"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W5, PG], "source": [W5, PG],
            "impacted_assets": [W5, DC], "techniques": ["T1003.001"],
            "must_not_cite": [W6],
        },
        "why": "powershell.exe PID 1648 (ProcessGuid {297bc33e-65d0-...-8207}, the Empire agent B7Y8G4XC, beaconing as "
               "THESHIRE\\pgustavo to 10.10.10.5:80 -- Sysmon 3 rec 725758) opened lsass.exe with GrantedAccess "
               "0x1010 from unbacked memory (Sysmon 10 rec 725757) and pgustavo's LogonId 0x2ba622 then tried "
               "SeTcbPrivilege (4673 rec 202265): Invoke-Mimikatz logonpasswords on WORKSTATION5, exposing the "
               "domain credentials cached there (hence MORDORDC at risk). WORKSTATION6 shows nothing related.",
    },
    {
        "id": "otrf-reg-save-sam",
        "title": "reg.exe save HKLM\\sam on WORKSTATION5 (empire_shell_reg_dump_sam)",
        "capture": "empire_shell_reg_dump_sam", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-09-22T08:28:40.319Z", "severity": "high",
            "rule": "Registry hive export of SAM/SECURITY/SYSTEM via reg.exe",
            "title": "SAM hive saved to disk with reg.exe save on WORKSTATION5",
            "description": "reg.exe save HKLM\\sam was run from an encoded PowerShell parent; the SAM hive holds the "
                           "local account password hashes.",
            "attack": [("T1003.002", "Security Account Manager", "TA0006")],
            "host": {"name": "WORKSTATION5.theshire.local"},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2009, "logon_id": "0x10a7df"},
            "process": {"executable": r"C:\Windows\System32\reg.exe",
                        "command_line": r'"C:\windows\system32\reg.exe" save HKLM\sam sam',
                        "entity_id": "{b34bc01c-b5b8-5f69-cc02-000000000900}", "integrity": "High",
                        "user": {"name": "pgustavo", "domain": "THESHIRE"},
                        "parent": {"executable": PS, "pid": 5972,
                                   "entity_id": "{b34bc01c-a92a-5f69-7e02-000000000900}"}},
            "file": r"C:\Windows\System32\sam",
            "source_event": sysmon(1, 3400681),
            "data_sources": [SYSMON, "Security"],
        },
        "records": [
            ("WORKSTATION5", SYSMON, 3400681, 1, {"User": "THESHIRE\\pgustavo", "LogonId": "0x10a7df"}),
            ("WORKSTATION5", "security", 820988, 4688, {"SubjectUserName": "pgustavo", "SubjectLogonId": "0x10a7df"}),
            ("WORKSTATION5", SYSMON, 3400696, 11, {"TargetFilename": r"C:\Windows\System32\sam"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W5, PG], "source": [W5, PG],
            "impacted_assets": [W5], "techniques": ["T1003.002"],
            "must_not_cite": [W6],
        },
        "why": "The Empire agent's encoded powershell (PID 5972, pgustavo, High integrity) ran \"reg.exe\" save "
               "HKLM\\sam sam (Sysmon 1 rec 3400681, 4688 rec 820988, LogonId 0x10a7df) and reg.exe wrote "
               "C:\\Windows\\System32\\sam (Sysmon 11 rec 3400696): the local SAM hive dumped on WORKSTATION5 -- "
               "local hashes, not domain ones.",
    },
    {
        "id": "otrf-schtask-registry-payload",
        "title": "Scheduled task running a registry-stored PowerShell payload on WORKSTATION5 (empire_schtasks_creation_standard_user)",
        "capture": "empire_schtasks_creation_standard_user", "lab": THESHIRE_LAB, "format": "ecs",
        "alert": {
            "time": "2020-09-21T07:15:47.930Z", "severity": "medium", "rule_type": "eql",
            "rule": "Scheduled Task Created with a PowerShell Registry-Stored Payload",
            "description": "A scheduled task was registered (4698) whose action runs hidden PowerShell that decodes "
                           "and executes a Base64 blob read from the registry (IEX ... FromBase64String((gp "
                           "HKCU:...).debug)), a fileless persistence pattern.",
            "reason": "scheduled task \\MordorSchtask created by pgustavo on WORKSTATION5.theshire.local created "
                      "medium alert Scheduled Task Created with a PowerShell Registry-Stored Payload.",
            "attack": [("T1053.005", "Scheduled Task", "TA0003")],
            "parent_names": {"T1053": "Scheduled Task/Job"},
            "host": {"name": "WORKSTATION5.theshire.local"},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": PG_SID_2009},
            "process": {"executable": r"C:\Windows\System32\schtasks.exe",
                        "command_line": r'"C:\windows\system32\schtasks.exe" /Create /F /SC DAILY /ST 09:00 /TN MordorSchtask /TR "C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe -NonI -W hidden -c \"IEX ([Text.Encoding]::UNICODE.GetString([Convert]::FromBase64String((gp HKCU:\Software\Microsoft\Windows\CurrentVersion debug).debug)))\""',
                        "entity_id": "{b34bc01c-5321-5f68-a514-000000000400}",
                        "parent": {"executable": PS, "pid": 7312,
                                   "entity_id": "{b34bc01c-5253-5f68-9a14-000000000400}"}},
            "registry": {"path": "HKU\\S-1-5-21-4228717743-1032521047-1810997296-1104\\Software\\Microsoft\\Windows\\CurrentVersion\\debug",
                         "hive": "HKU", "value": "debug"},
            "source_event": security(4698, 619625, action="scheduled-task-created",
                                     category=["iam", "configuration"], type_=["creation"],
                                     event_data={"TaskName": "\\MordorSchtask", "SubjectLogonId": "0x2b78cd"}),
            "index": "winlogbeat-7.9.1-2020.09.21",
        },
        "records": [
            ("WORKSTATION5", SYSMON, 2503118, 13, {"TargetObject": "HKU\\S-1-5-21-4228717743-1032521047-1810997296-1104\\Software\\Microsoft\\Windows\\CurrentVersion\\debug"}),
            ("WORKSTATION5", SYSMON, 2503123, 1, {"User": "THESHIRE\\pgustavo", "LogonId": "0x2b78cd"}),
            ("WORKSTATION5", "Microsoft-Windows-TaskScheduler/Operational", 5249, 106, {"TaskName": "\\MordorSchtask", "UserContext": "THESHIRE\\pgustavo"}),
            ("WORKSTATION5", "Security", 619625, 4698, {"TaskName": "\\MordorSchtask", "SubjectLogonId": "0x2b78cd"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "medium",
            "entities": [W5, PG], "source": [W5, PG],
            "impacted_assets": [W5], "techniques": ["T1053.005"],
        },
        "why": "The Empire agent's powershell (PID 7312, pgustavo, LogonId 0x2b78cd) first wrote a Base64 stager into "
               "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\debug (Sysmon 13 rec 2503118), then ran schtasks "
               "/Create /TN MordorSchtask /TR \"powershell -NonI -W hidden -c IEX(...(gp HKCU:...).debug)\" (Sysmon "
               "1 rec 2503123); the task was registered for THESHIRE\\pgustavo (TaskScheduler 106 rec 5249, 4698 rec "
               "619625). User-level persistence on WORKSTATION5.",
    },
    {
        "id": "otrf-remote-schtask-create",
        "title": "Scheduled task created from the network on WORKSTATION6 (schtask_create)",
        "capture": "schtask_create", "lab": None, "format": "ocsf",
        "alert": {
            "time": "2020-12-19T12:00:22.264Z", "severity": "high",
            "rule": "Remote Scheduled Task Creation",
            "title": "Scheduled task \\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager created on WORKSTATION6 from the network",
            "description": "A scheduled task was registered (4698) by a session that logged on from the network "
                           "(4624 type 3 from 172.18.39.5) seconds before. The task poses as a built-in "
                           "SoftwareProtectionPlatform task, runs as SYSTEM at boot and launches cmd.exe.",
            "attack": [("T1053.005", "Scheduled Task", "TA0008"),
                       ("T1053.005", "Scheduled Task", "TA0003")],
            "host": {"name": "WORKSTATION6.theshire.local"},
            "user": {"name": "pgustavo", "domain": "THESHIRE", "sid": "S-1-5-21-3786818125-2382361537-3207726629-1104",
                     "logon_id": "0xead4335"},
            "source": {"ip": "172.18.39.5", "port": 56588},
            "resources": [{"type": "Scheduled Task",
                           "name": "\\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager",
                           "data": {"action": "C:\\Windows\\system32\\cmd.exe /C C:\\Windows\\System32\\notepad.exe",
                                    "trigger": "BootTrigger", "run_as": "SYSTEM"}}],
            "source_event": security(4698, None, action="A scheduled task was created",
                                     category=["configuration"], type_=["creation"], type_uid=600301,
                                     type_name="Scheduled Job Activity: Create",
                                     original_time="2020-12-19T07:00:22.264Z",
                                     event_data={"TaskName": "\\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager",
                                                 "SubjectLogonId": "0xead4335"}),
            "data_sources": ["Security", SYSMON],
        },
        "records": [
            ("WORKSTATION5", SYSMON, None, 1, {"Image": r"C:\Windows\System32\schtasks.exe", "UtcTime": "2020-12-19 12:00:22.190", "User": "THESHIRE\\pgustavo"}),
            ("WORKSTATION5", SYSMON, None, 3, {"SourcePort": "56588", "DestinationIp": "172.18.39.6", "DestinationPort": "49671"}),
            ("WORKSTATION6", "Security", None, 4624, {"TargetLogonId": "0xead4335", "IpAddress": "172.18.39.5", "IpPort": "56588"}),
            ("WORKSTATION6", "Security", None, 4698, {"SubjectLogonId": "0xead4335", "TaskName": "\\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager"}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [W6, PG, W5], "source": [W5, PG], "attack_path": [W5, PG, W6],
            "impacted_assets": [W5, W6], "techniques": ["T1053.005"],
        },
        "why": "No record numbers in this capture; records by time (true UTC = @timestamp + 5 h). On WORKSTATION5 "
               "pgustavo's cmd ran schtasks /create /F /tn \\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager "
               "/tr \"cmd.exe /C notepad.exe\" /sc ONSTART /ru system /S WORKSTATION6 (Sysmon 1, UtcTime 12:00:22.190, "
               "LogonId 0x14f392e) and connected 172.18.39.5:56588 -> 172.18.39.6:49671 (Sysmon 3); WORKSTATION6 "
               "logged pgustavo on from 172.18.39.5 port 56588 (4624 @07:00:22.238, LogonId 0xEAD4335) and that "
               "logon registered the task (4698 @07:00:22.264; TaskScheduler 106/140). A masquerading SYSTEM boot "
               "task planted remotely.",
    },
    {
        "id": "otrf-ntdsutil-ifm",
        "title": "ntdsutil IFM media created on DC01 (cmd_dumping_ntds_dit_file_ntdsutil)",
        "capture": "cmd_dumping_ntds_dit_file_ntdsutil", "lab": PANDALAB_LAB, "format": "ecs",
        "alert": {
            "time": "2023-07-19T16:03:37.257Z", "severity": "high", "rule_type": "eql",
            "rule": "NTDS or SAM Database File Copied",
            "description": "Identifies the use of ntdsutil.exe to create Install-From-Media (IFM) output, which "
                           "copies the Active Directory database (ntds.dit) and the SYSTEM/SECURITY hives. "
                           "Attackers use this to extract every domain credential offline.",
            "reason": "process event with process ntdsutil.exe, parent process cmd.exe, by Administrator on "
                      "DC01.pandalab.com created high alert NTDS or SAM Database File Copied.",
            "attack": [("T1003.003", "NTDS", "TA0006")],
            "parent_names": {"T1003": "OS Credential Dumping"},
            "host": {"name": "DC01.pandalab.com"},
            "user": {"name": "Administrator", "domain": "PANDALAB", "sid": "S-1-5-21-477444970-2264162048-1418806404-500"},
            "process": {"executable": r"C:\Windows\System32\ntdsutil.exe",
                        "command_line": r'ntdsutil  "ac i ntds" "ifm" "create full C:\Windows\Temp\ntds_T1003" q q',
                        "pid": 2772, "entity_id": "{fe86be69-0959-64b8-0b03-000000001000}",
                        "parent": {"executable": r"C:\Windows\System32\cmd.exe", "command_line": '"C:\\Windows\\system32\\cmd.exe" ',
                                   "pid": 3824, "entity_id": "{fe86be69-090f-64b8-0903-000000001000}"}},
            "source_event": sysmon(1, None, event_data={"LogonId": "0x627b7", "IntegrityLevel": "High",
                                                       "UtcTime": "2023-07-19 16:03:37.257"}),
            "index": "logs-windows.sysmon_operational-default",
        },
        "records": [
            ("DC01", SYSMON, None, 1, {"Image": r"C:\Windows\System32\ntdsutil.exe", "LogonId": "0x627b7", "User": "PANDALAB\\Administrator"}),
            ("DC01", "Security", None, 4688, {"NewProcessName": r"C:\Windows\System32\ntdsutil.exe", "SubjectLogonId": "0x627b7"}),
            ("DC01", SYSMON, None, 11, {"TargetFilename": "C:\\Windows\\Temp\\ntds_T1003\\Active Directory\\ntds.dit"}),
            ("DC01", SYSMON, None, 11, {"TargetFilename": "C:\\Windows\\Temp\\ntds_T1003\\registry\\SYSTEM"}),
            ("DC01", "System", None, 104, {}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [DC01, PADMIN], "source": [DC01, PADMIN],
            "impacted_assets": [DC01], "techniques": ["T1003.003"],
        },
        "why": "No record numbers; Sysmon UtcTime is true UTC, @timestamp is the DC's local clock (-7 h). PANDALAB\\"
               "Administrator's interactive session (LogonId 0x627b7, cmd.exe from explorer) ran ntdsutil \"ac i "
               "ntds\" \"ifm\" \"create full C:\\Windows\\Temp\\ntds_T1003\" q q (Sysmon 1 UtcTime 16:03:37.257, 4688 "
               "@09:03:37.257); VSS started and ntdsutil wrote ...\\ntds_T1003\\Active Directory\\ntds.dit, "
               "registry\\SYSTEM and SECURITY (Sysmon 11, 16:03:49-55). A full AD database copy to Temp, preceded by "
               "clearing the PowerShell/Operational log (System 104 @09:02:17): credential theft from the DC itself.",
    },
    {
        "id": "otrf-comsvcs-minidump",
        "title": "rundll32 comsvcs.dll MiniDump on the workgroup VM WORKSTATION5 (psh_lsass_memory_dump_comsvcs)",
        "capture": "psh_lsass_memory_dump_comsvcs", "lab": None, "format": "ecs",
        "alert": {
            "time": "2020-10-18T23:50:05.910Z", "severity": "high", "rule_type": "eql",
            "rule": "Potential Credential Access via LSASS Memory Dump (comsvcs.dll MiniDump)",
            "description": "Identifies rundll32.exe calling the MiniDump export of comsvcs.dll to write a full "
                           "memory dump of a process, typically lsass.exe, to disk.",
            "reason": "process event with process rundll32.exe, parent process powershell.exe, by wardog on "
                      "WORKSTATION5 created high alert Potential Credential Access via LSASS Memory Dump.",
            "attack": [("T1003.001", "LSASS Memory", "TA0006")],
            "parent_names": {"T1003": "OS Credential Dumping"},
            "host": {"name": "WORKSTATION5"},
            "user": {"name": "wardog", "domain": "WORKSTATION5", "sid": "S-1-5-21-3940915590-64593676-1414006259-500"},
            "process": {"executable": r"C:\Windows\System32\rundll32.exe",
                        "command_line": r'"C:\Windows\System32\rundll32.exe" C:\windows\System32\comsvcs.dll MiniDump 756 C:\Users\wardog\AppData\Local\Temp\lsass-comsvcs.dmp full',
                        "pid": 4824, "entity_id": "{39e4a257-d4ad-5f8c-3303-000000000700}",
                        "parent": {"executable": PS, "pid": 6100,
                                   "entity_id": "{39e4a257-d445-5f8c-2c03-000000000700}"}},
            "file": r"C:\Users\wardog\AppData\Local\Temp\lsass-comsvcs.dmp",
            "source_event": sysmon(1, None, event_data={"LogonId": "0xc61d9", "IntegrityLevel": "High",
                                                       "UtcTime": "2020-10-18 23:50:05.910"}),
            "index": "logs-windows.sysmon_operational-default",
        },
        "records": [
            ("WORKSTATION5", SYSMON, None, 1, {"Image": r"C:\Windows\System32\rundll32.exe", "User": "WORKSTATION5\\wardog", "LogonId": "0xc61d9"}),
            ("WORKSTATION5", SYSMON, None, 10, {"SourceImage": r"C:\Windows\System32\rundll32.exe", "GrantedAccess": "0x1410", "TargetImage": r"C:\windows\system32\lsass.exe"}),
            ("WORKSTATION5", SYSMON, None, 11, {"TargetFilename": r"C:\Users\wardog\AppData\Local\Temp\lsass-comsvcs.dmp"}),
            ("WORKSTATION5", "Security", None, 4688, {"NewProcessName": r"C:\Windows\System32\rundll32.exe", "SubjectDomainName": "WORKSTATION5"}),
            ("WORKSTATION5", "Security", None, 1102, {}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [LAB_W5, LAB_WD], "source": [LAB_W5, LAB_WD],
            "impacted_assets": [LAB_W5], "techniques": ["T1003.001"],
        },
        "why": "A stand-alone (WORKGROUP) VM named WORKSTATION5, not THESHIRE's: no record numbers, local account "
               "WORKSTATION5\\wardog (RID 500). From powershell (PID 6100) wardog ran rundll32 comsvcs.dll MiniDump "
               "756 ...\\lsass-comsvcs.dmp full (Sysmon 1 UtcTime 23:50:05.910, 4688, LogonId 0xc61d9); rundll32 "
               "opened lsass (PID 756) with 0x1410 then 0x1FFFFF (Sysmon 10) and wrote lsass-comsvcs.dmp (Sysmon "
               "11), 26 s after the Security log was cleared (1102). Keys: host WORKSTATION5 (no FQDN exists), "
               "account WARDOG@WORKSTATION5 (name@its domain, the machine).",
    },
    {
        "id": "otrf-fax-service-binpath",
        "title": "Fax service ImagePath set to PowerShell on the workgroup VM WORKSTATION5 (cmd_service_mod_fax)",
        "capture": "cmd_service_mod_fax", "lab": None, "format": "ocsf",
        "alert": {
            "time": "2020-10-22T00:45:33.681Z", "severity": "high",
            "rule": "Service ImagePath modified to a script interpreter",
            "title": "Fax service binary path changed to powershell.exe on WORKSTATION5",
            "description": "The ImagePath of an existing Windows service was changed to run powershell.exe with an "
                           "inline command (sc config <svc> binPath= ...). Hijacking an existing service makes "
                           "the Service Control Manager run attacker code with the service's account.",
            "attack": [("T1543.003", "Windows Service", "TA0004"),
                       ("T1543.003", "Windows Service", "TA0003")],
            "host": {"name": "WORKSTATION5", "type_id": 2},
            "user": {"name": "wardog", "domain": "WORKSTATION5", "logon_id": "0xc61d9"},
            "process": {"executable": r"C:\Windows\System32\sc.exe",
                        "command_line": 'sc  config Fax binPath= "C:\\windows\\system32\\WindowsPowerShell\\v1.0\\powershell.exe -noexit -c \\"write-host \'T1543.003 Test\'\\""',
                        "pid": 3112, "entity_id": "{39e4a257-d62d-5f90-8710-000000000700}", "integrity": "High",
                        "user": {"name": "wardog", "domain": "WORKSTATION5"},
                        "parent": {"executable": r"C:\Windows\System32\cmd.exe", "pid": 8692,
                                   "entity_id": "{39e4a257-d603-5f90-8010-000000000700}"}},
            "resources": [{"type": "Windows Service", "name": "Fax", "uid": "Fax",
                           "data": {"image_path": "C:\\windows\\system32\\WindowsPowerShell\\v1.0\\powershell.exe -noexit -c \"write-host 'T1543.003 Test'\""}}],
            "evidence_data": {"registry_key": "HKLM\\System\\CurrentControlSet\\Services\\Fax\\ImagePath",
                              "writer": "C:\\windows\\system32\\services.exe"},
            "source_event": sysmon(13, None, original_time="2020-10-21T08:45:33.693Z",
                                   event_data={"TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\Fax\\ImagePath",
                                               "UtcTime": "2020-10-22 00:45:33.681"}),
            "data_sources": [SYSMON, "Security", "System"],
        },
        "records": [
            ("WORKSTATION5", SYSMON, None, 1, {"Image": r"C:\Windows\System32\sc.exe", "UtcTime": "2020-10-22 00:45:33.684", "User": "WORKSTATION5\\wardog"}),
            ("WORKSTATION5", SYSMON, None, 13, {"TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\Fax\\ImagePath", "UtcTime": "2020-10-22 00:45:33.681"}),
            ("WORKSTATION5", SYSMON, None, 1, {"Image": r"C:\Windows\System32\sc.exe", "CommandLine": "sc  start Fax"}),
            ("WORKSTATION5", SYSMON, None, 1, {"Image": PS, "ParentImage": r"C:\Windows\System32\services.exe", "User": "NT AUTHORITY\\NETWORK SERVICE"}),
            ("WORKSTATION5", "System", None, 7000, {"param1": "Fax"}),
            ("WORKSTATION5", "Security", None, 1102, {}),
        ],
        "expect": {
            "verdict": "true_positive", "severity": "high",
            "entities": [LAB_W5, LAB_WD], "source": [LAB_W5, LAB_WD],
            "impacted_assets": [LAB_W5], "techniques": ["T1543.003"],
        },
        "why": "Workgroup VM WORKSTATION5, no record numbers; times are Sysmon UtcTime (@timestamp is local, 12-hour). "
               "Local admin wardog (LogonId 0xc61d9) ran sc config Fax binPath= \"powershell.exe -noexit -c ...\" "
               "(Sysmon 1 00:45:33.684) and services.exe rewrote Services\\Fax\\ImagePath (Sysmon 13 00:45:33.681); "
               "sc start Fax (00:45:35.266) made services.exe launch that powershell as NETWORK SERVICE (Sysmon 1, "
               "4688) before the start timed out (System 7009/7000); the path was restored at 00:45:41 and the "
               "Security log had been cleared at the start (1102).",
    },
    # ================================================================ benign positives
    {
        "id": "otrf-sysvol-gpo-read",
        "title": "GPO template files read over SYSVOL by WORKSTATION6$ (covenant_dcom_registerxll)",
        "capture": "covenant_dcom_registerxll", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-09-18T19:00:54.885Z", "severity": "low",
            "rule": "Group Policy template files read over SYSVOL",
            "title": "SYSVOL policy files (GptTmpl.inf, Registry.pol) read by WORKSTATION6$ on MORDORDC",
            "description": "Security template and registry policy files of a GPO were read over \\\\*\\SYSVOL. "
                           "Adversaries read GPO files to map security settings and look for credentials "
                           "(Group Policy Discovery).",
            "attack": [("T1615", "Group Policy Discovery", "TA0007")],
            "host": {"name": "MORDORDC.theshire.local", "type_id": 1, "type": "Server"},
            "user": {"name": "WORKSTATION6$", "domain": "THESHIRE"},
            "source": {"ip": "172.18.39.6"},
            "evidence_data": {"share": "\\\\*\\SYSVOL",
                              "files": ["theshire.local\\Policies\\{31B2F340-016D-11D2-945F-00C04FB984F9}\\Machine\\Microsoft\\Windows NT\\SecEdit\\GptTmpl.inf",
                                        "theshire.local\\Policies\\{31B2F340-016D-11D2-945F-00C04FB984F9}\\Machine\\Registry.pol"]},
            "source_event": security(5145, 654921, action="A network share object was checked to see whether client can be granted desired access",
                                     category=["network", "file"], type_=["access"], type_uid=400601,
                                     type_name="SMB Activity: File Open",
                                     event_data={"ShareName": "\\\\*\\SYSVOL", "SubjectUserName": "WORKSTATION6$",
                                                 "IpAddress": "172.18.39.6", "SubjectLogonId": "0x210ebc7"}),
            "data_sources": ["Security"],
        },
        "records": [
            ("WORKSTATION6", "Microsoft-Windows-TaskScheduler/Operational", 3380, 129, {}),
            ("WORKSTATION6", SYSMON, 2079092, 1, {"Image": r"C:\Windows\System32\gpupdate.exe", "User": "NT AUTHORITY\\NETWORK SERVICE"}),
            ("MORDORDC", "Security", 654913, 4624, {"TargetUserName": "WORKSTATION6$", "IpAddress": "172.18.39.6", "TargetLogonId": "0x210ebc7"}),
            ("MORDORDC", "Security", 654915, 5140, {"ShareName": "\\\\*\\SYSVOL", "SubjectLogonId": "0x210ebc7"}),
            ("MORDORDC", "Security", 654921, 5145, {"SubjectUserName": "WORKSTATION6$"}),
            ("MORDORDC", "Security", 654922, 5145, {"SubjectUserName": "WORKSTATION6$"}),
            ("WORKSTATION6", "System", 966, 1500, {}),
        ],
        "expect": {
            "verdict": "benign_positive", "severity": "low",
            "entities": [DC, W6], "source": [W6],
            "must_not_cite": [PG, W5],
        },
        "why": "The Task Scheduler launched the built-in \\Microsoft\\Windows\\GroupPolicy\\{3E0A038B-...} task "
               "(TaskScheduler 129 rec 3380), i.e. gpupdate.exe /target:computer as NETWORK SERVICE under svchost "
               "(Sysmon 1 rec 2079092); WORKSTATION6$ logged on to MORDORDC from 172.18.39.6 (4624 rec 654913, "
               "LogonId 0x210ebc7), opened SYSVOL (5140 rec 654915) and read GptTmpl.inf / Registry.pol of the "
               "Default Domain Policy (5145 rec 654921/654922); WORKSTATION6 then logged \"Group Policy settings "
               "processed, no changes\" (System 1500 rec 966). The machine account doing its own GPO refresh -- "
               "not pgustavo's DCOM session 30 s earlier.",
    },
    {
        "id": "otrf-samr-domain-admins",
        "title": "SAMR query of Domain Admins by WORKSTATION5$ (covenant_sharpsc_create_dcerpc_smb_svcctl)",
        "capture": "covenant_sharpsc_create_dcerpc_smb_svcctl", "lab": THESHIRE_LAB, "format": "ecs",
        "alert": {
            "time": "2020-08-06T06:28:46.318Z", "severity": "medium", "rule_type": "eql",
            "rule": "Security Principal Reconnaissance via SAMR (Domain Admins)",
            "description": "Identifies a SAM-R query against the domain controller that opens the Domain Admins "
                           "group (RID 512) from a workstation, a pattern of account and group discovery tools "
                           "(net group \"domain admins\" /domain, BloodHound, PowerView).",
            "reason": "SAM_GROUP S-1-5-21-1363495622-3806888128-621328882-512 opened by WORKSTATION5$ from 172.18.39.5 "
                      "on MORDORDC.theshire.local created medium alert Security Principal Reconnaissance via SAMR.",
            "attack": [("T1087.002", "Domain Account", "TA0007"),
                       ("T1069.002", "Domain Groups", "TA0007")],
            "parent_names": {"T1087": "Account Discovery", "T1069": "Permission Groups Discovery"},
            "host": {"name": "MORDORDC.theshire.local"},
            "user": {"name": "WORKSTATION5$", "domain": "THESHIRE", "sid": "S-1-5-21-1363495622-3806888128-621328882-1112"},
            "source": {"ip": "172.18.39.5", "port": 54745},
            "source_event": security(4661, 312026, action="A handle to an object was requested",
                                     category=["iam"], type_=["access"],
                                     event_data={"ObjectType": "SAM_GROUP",
                                                 "ObjectName": "S-1-5-21-1363495622-3806888128-621328882-512",
                                                 "ProcessName": r"C:\Windows\System32\lsass.exe",
                                                 "SubjectLogonId": "0xb338fa"}),
            "index": "winlogbeat-7.8.1-2020.08.06",
        },
        "records": [
            ("WORKSTATION5", "Security", 84615, 4799, {"TargetUserName": "Remote Desktop Users", "CallerProcessName": r"C:\WindowsAzure\Packages\WaAppAgent.exe"}),
            ("WORKSTATION5", "Security", 84616, 4799, {"TargetUserName": "Administrators", "CallerProcessName": r"C:\WindowsAzure\Packages\WaAppAgent.exe"}),
            ("WORKSTATION5", SYSMON, 300008, 3, {"Image": r"C:\Windows\System32\lsass.exe", "DestinationIp": "172.18.38.5", "DestinationPort": "135"}),
            ("MORDORDC", "Security", 312016, 4624, {"TargetUserName": "WORKSTATION5$", "IpAddress": "172.18.39.5", "TargetLogonId": "0xb338fa"}),
            ("MORDORDC", "Security", 312019, 5145, {"RelativeTargetName": "samr", "SubjectLogonId": "0xb338fa"}),
            ("MORDORDC", "Security", 312026, 4661, {"ObjectType": "SAM_GROUP", "SubjectLogonId": "0xb338fa"}),
            ("MORDORDC", "Security", 311995, 4661, {"SubjectUserName": "WEC$", "ObjectType": "SAM_GROUP"}),
        ],
        "expect": {
            "verdict": "benign_positive", "severity": "low",
            "entities": [DC, W5], "source": [W5],
            "must_not_cite": [PG, W6],
        },
        "why": "At 06:28:46 the Azure VM agent C:\\WindowsAzure\\Packages\\WaAppAgent.exe enumerated the local Remote "
               "Desktop Users and Administrators groups on WORKSTATION5 (4799 rec 84615/84616, caller WaAppAgent, "
               "subject WORKSTATION5$ 0x3e7); resolving their domain members made lsass.exe (SYSTEM) connect to the "
               "DC (Sysmon 3 rec 300008) and WORKSTATION5$ open IPC$\\samr (4624 rec 312016, 5145 rec 312019) and "
               "the Domain Admins group (4661 rec 312026). WEC$ did the same 3 s earlier (4661 rec 311995). A "
               "cloud guest-agent run under the machine account, not pgustavo's implant (user context, no SYSTEM).",
    },
    {
        "id": "otrf-uso-task-modified",
        "title": "Scheduled task UpdateOrchestrator\\Schedule Scan modified on WORKSTATION5 (empire_wmic_add_user_backdoor)",
        "capture": "empire_wmic_add_user_backdoor", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-09-14T12:06:39.600Z", "severity": "low",
            "rule": "Scheduled task modified (4702)",
            "title": "Scheduled task \\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan updated on WORKSTATION5",
            "description": "An existing scheduled task definition was changed (event 4702). Adversaries modify "
                           "existing tasks to run their payload under a trusted name.",
            "attack": [("T1053.005", "Scheduled Task", "TA0003")],
            "host": {"name": "WORKSTATION5.theshire.local", "ip": ["172.18.39.5"]},
            "user": {"name": "WORKSTATION5$", "domain": "THESHIRE", "logon_id": "0x3e7"},
            "resources": [{"type": "Scheduled Task", "name": "\\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan"}],
            "source_event": security(4702, 78985, action="A scheduled task was updated", category=["configuration"],
                                     type_=["change"], type_uid=600303, type_name="Scheduled Job Activity: Update",
                                     event_data={"TaskName": "\\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan",
                                                 "SubjectUserName": "WORKSTATION5$", "SubjectLogonId": "0x3e7"}),
            "data_sources": ["Security", SYSMON],
        },
        "records": [
            ("WORKSTATION5", SYSMON, 427983, 1, {"Image": r"C:\Windows\System32\usocoreworker.exe", "User": "NT AUTHORITY\\SYSTEM"}),
            ("WORKSTATION5", SYSMON, 428166, 13, {"TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache\\Tree\\Microsoft\\Windows\\UpdateOrchestrator\\SD"}),
            ("WORKSTATION5", "Security", 78985, 4702, {"TaskName": "\\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan", "SubjectLogonId": "0x3e7"}),
            ("WORKSTATION5", "Security", 79002, 4702, {"TaskName": "\\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan"}),
            ("WORKSTATION5", "Security", 73679, 4688, {"CommandLine": r"C:\windows\system32\svchost.exe -k netsvcs -p -s wuauserv"}),
        ],
        "expect": {
            "verdict": "benign_positive", "severity": "low",
            "entities": [W5], "source": [W5],
            "must_not_cite": [PG, WD, W6],
        },
        "why": "The Update Session Orchestrator worker usocoreworker.exe -Embedding started under DcomLaunch as SYSTEM "
               "(Sysmon 1 rec 427983) and the Schedule service rewrote \\Microsoft\\Windows\\UpdateOrchestrator\\"
               "Schedule Scan (Sysmon 13 rec 428166/428168, 4702 rec 78985 and 79002, subject WORKSTATION5$ LogonId "
               "0x3e7), right after wuauserv was started by services.exe (4688 rec 73679). Windows Update "
               "maintaining its own task -- nothing from pgustavo's WMIC session or wardog.",
    },
    {
        "id": "otrf-service-cscript",
        "title": "cscript started by a service process on WORKSTATION6 (schtask_create)",
        "capture": "schtask_create", "lab": None, "format": "ecs",
        "alert": {
            "time": "2020-12-19T12:00:23.010Z", "severity": "medium", "rule_type": "eql",
            "rule": "Windows Script Host Execution by a Service Process",
            "description": "Identifies cscript.exe or wscript.exe started by a long-running service or agent "
                           "process as SYSTEM, which adversaries use to run VBScript payloads from services "
                           "or scheduled tasks.",
            "reason": "process event with process cscript.exe, parent process MonitoringHost.exe, by SYSTEM on "
                      "WORKSTATION6.theshire.local created medium alert Windows Script Host Execution by a "
                      "Service Process.",
            "attack": [("T1059.005", "Visual Basic", "TA0002")],
            "parent_names": {"T1059": "Command and Scripting Interpreter"},
            "host": {"name": "WORKSTATION6.theshire.local"},
            "user": {"name": "SYSTEM", "domain": "NT AUTHORITY", "sid": "S-1-5-18"},
            "process": {"executable": r"C:\Windows\System32\cscript.exe",
                        "command_line": r'"C:\windows\system32\cscript.exe" /nologo "MonitorKnowledgeDiscovery.vbs"',
                        "pid": 776, "entity_id": "{649442b8-eb57-5fdd-0b8c-000000000600}",
                        "parent": {"executable": r"C:\Program Files\Microsoft Monitoring Agent\Agent\MonitoringHost.exe",
                                   "command_line": r'"C:\Program Files\Microsoft Monitoring Agent\Agent\MonitoringHost.exe" -Embedding',
                                   "pid": 5996, "entity_id": "{649442b8-5340-5fd1-b600-000000000600}"}},
            "source_event": sysmon(1, None, event_data={"LogonId": "0x3e7", "IntegrityLevel": "System",
                                                       "UtcTime": "2020-12-19 12:00:23.010",
                                                       "CurrentDirectory": r"C:\Program Files\Microsoft Monitoring Agent\Agent\Health Service State\Monitoring Host Temporary Files 3\24"}),
            "index": "logs-windows.sysmon_operational-default",
        },
        "records": [
            ("WORKSTATION6", SYSMON, None, 1, {"Image": r"C:\Windows\System32\cscript.exe", "ParentImage": r"C:\Program Files\Microsoft Monitoring Agent\Agent\MonitoringHost.exe", "UtcTime": "2020-12-19 12:00:23.010"}),
            ("WORKSTATION5", SYSMON, None, 1, {"Image": r"C:\Windows\System32\cscript.exe", "ParentImage": r"C:\Program Files\Microsoft Monitoring Agent\Agent\MonitoringHost.exe", "UtcTime": "2020-12-19 12:00:18.008"}),
            ("WORKSTATION6", "Security", None, 4698, {"SubjectLogonId": "0xead4335"}),
        ],
        "expect": {
            "verdict": "benign_positive", "severity": "low",
            "entities": [W6], "source": [W6],
            "must_not_cite": [PG, W5],
        },
        "why": "No record numbers; Sysmon UtcTime. MonitoringHost.exe -Embedding, the Microsoft Monitoring Agent (Log "
               "Analytics) host, started cscript /nologo MonitorKnowledgeDiscovery.vbs as SYSTEM from its Health "
               "Service State temp folder on WORKSTATION6 (Sysmon 1 12:00:23.010) -- and the same script 5 s earlier "
               "on WORKSTATION5 (12:00:18.008): the agent's periodic discovery. The remote task pgustavo registered "
               "on WORKSTATION6 one second before (4698, EventCacheManager) is a boot trigger that runs cmd.exe, not "
               "this script.",
    },
    {
        "id": "otrf-dc-task-modified",
        "title": "Scheduled task modified on domain controller DC01 (cmd_dumping_ntds_dit_file_ntdsutil)",
        "capture": "cmd_dumping_ntds_dit_file_ntdsutil", "lab": PANDALAB_LAB, "format": "ecs",
        "alert": {
            "time": "2023-07-19T16:05:41.718Z", "severity": "medium", "rule_type": "query",
            "rule": "Scheduled Task Modified on a Domain Controller",
            "description": "Any change to a scheduled task definition (event 4702) on a domain controller. Tasks on "
                           "tier-0 servers are a common persistence and execution point.",
            "reason": "scheduled task \\Microsoft\\Windows\\Application Experience\\Microsoft Compatibility Appraiser "
                      "updated by DC01$ on DC01.pandalab.com created medium alert Scheduled Task Modified on a "
                      "Domain Controller.",
            "attack": [("T1053.005", "Scheduled Task", "TA0003")],
            "parent_names": {"T1053": "Scheduled Task/Job"},
            "host": {"name": "DC01.pandalab.com"},
            "user": {"name": "DC01$", "domain": "PANDALAB", "sid": "S-1-5-18"},
            "source_event": security(4702, None, action="scheduled-task-updated", category=["configuration"],
                                     type_=["change"],
                                     event_data={"TaskName": "\\Microsoft\\Windows\\Application Experience\\Microsoft Compatibility Appraiser",
                                                 "SubjectUserName": "DC01$", "SubjectLogonId": "0x3e7",
                                                 "TimeCreated": "2023-07-19T09:05:41.718Z"}),
            "index": "logs-system.security-default",
        },
        "records": [
            ("DC01", SYSMON, None, 1, {"Image": r"C:\Windows\System32\CompatTelRunner.exe", "UtcTime": "2023-07-19 16:04:41.702", "User": "NT AUTHORITY\\SYSTEM"}),
            ("DC01", "Security", None, 4702, {"TaskName": "\\Microsoft\\Windows\\Application Experience\\Microsoft Compatibility Appraiser", "SubjectUserName": "DC01$"}),
            ("DC01", SYSMON, None, 1, {"Image": r"C:\Windows\System32\CompatTelRunner.exe", "UtcTime": "2023-07-19 16:05:42.099"}),
        ],
        "expect": {
            "verdict": "benign_positive", "severity": "low",
            "entities": [DC01], "source": [DC01],
            "must_not_cite": [PADMIN],
        },
        "why": "No record numbers; true UTC = @timestamp + 7 h. compattelrunner.exe -maintenance (SYSTEM) ran "
               "CompatTelRunner -m:appraiser.dll -f:DoScheduledTelemetryRun (Sysmon 1 16:04:41.702, 4688 @09:04:41) "
               "and at its end the task \\Microsoft\\Windows\\Application Experience\\Microsoft Compatibility "
               "Appraiser was rewritten by DC01$ / LogonId 0x3e7 (4702 @09:05:41.718) with its stock Microsoft "
               "definition (author compattelrunner.exe, nightly trigger), followed by -m:pcasvc.dll (16:05:42). "
               "Windows telemetry maintenance, not the Administrator's ntdsutil session two minutes earlier.",
    },
    {
        "id": "otrf-ndiscap-capture",
        "title": "NDIS packet-capture settings changed on WORKSTATION5 (covenant_sharpsc_create_dcerpc_smb_svcctl)",
        "capture": "covenant_sharpsc_create_dcerpc_smb_svcctl", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-08-06T06:28:20.352Z", "severity": "medium",
            "rule": "NDIS packet capture toggled outside netsh",
            "title": "NetTrace capture session and NdisCap service changed on WORKSTATION5 by a non-Windows binary",
            "description": "The NetTrace capture session flag (HKU\\.DEFAULT\\...\\NetTrace\\Session\\CaptureEnabled) "
                           "and the NDIS Capture filter (NdisCap) settings were changed by a process other than "
                           "netsh.exe/pktmon.exe. Packet capture on an endpoint can be used to sniff credentials.",
            "attack": [("T1040", "Network Sniffing", "TA0006")],
            "host": {"name": "WORKSTATION5.theshire.local", "ip": ["172.18.39.5"]},
            "user": {"name": "SYSTEM", "domain": "NT AUTHORITY", "sid": "S-1-5-18"},
            "process": {"executable": r"C:\Packages\Plugins\Microsoft.Azure.NetworkWatcher.NetworkWatcherAgentWindows\1.4.1587.1\NetworkWatcherAgent\NetworkWatcherAgent.exe",
                        "pid": 3472, "entity_id": "{297bc33e-5c36-5f2b-5200-000000000400}"},
            "evidence_data": {"registry": [
                {"key": "HKU\\.DEFAULT\\System\\CurrentControlSet\\Control\\NetTrace\\Session\\CaptureEnabled", "value": "DWORD (0x00000000)"},
                {"key": "HKLM\\System\\CurrentControlSet\\Services\\NdisCap\\Parameters\\RefCount", "value": "DWORD (0x00000000)"}]},
            "resources": [{"type": "Windows Service", "name": "NdisCap", "uid": "NdisCap",
                           "data": {"display_name": "Microsoft NDIS Capture", "start_type": "demand start"}}],
            "source_event": sysmon(13, 299536),
            "data_sources": [SYSMON, "System"],
        },
        "records": [
            ("WORKSTATION5", SYSMON, 299535, 13, {"TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\NdisCap\\Parameters\\RefCount"}),
            ("WORKSTATION5", SYSMON, 299536, 13, {"TargetObject": "HKU\\.DEFAULT\\System\\CurrentControlSet\\Control\\NetTrace\\Session\\CaptureEnabled"}),
            ("WORKSTATION5", SYSMON, 299663, 13, {"TargetObject": "HKLM\\System\\CurrentControlSet\\Services\\NdisCap\\Start", "Image": r"C:\windows\system32\services.exe"}),
            ("WORKSTATION5", "System", 548, 7040, {"param4": "NdisCap"}),
            ("WORKSTATION5", SYSMON, 299667, 23, {}),
        ],
        "expect": {
            "verdict": "benign_positive", "severity": "low",
            "entities": [W5], "source": [W5],
            "must_not_cite": [PG, W6],
        },
        "why": "The writer is the Azure Network Watcher VM extension (C:\\Packages\\Plugins\\Microsoft.Azure.NetworkWatcher."
               "NetworkWatcherAgentWindows\\1.4.1587.1\\NetworkWatcherAgent.exe, SYSTEM): it set NdisCap RefCount and "
               "NetTrace CaptureEnabled to 0 (Sysmon 13 rec 299535/299536) and deleted its capture file (Sysmon 23 "
               "rec 299667); services.exe set NdisCap Start=3 (rec 299663), the NIC paused/restarted and SCM logged "
               "NdisCap system start -> demand start (System 7040 rec 548). The lab's packet capture (the network "
               "half of this dataset) being stopped by the cloud agent -- the same happens on every host at the end "
               "of these captures; pgustavo's Grunt runs in user context and has no part in it.",
    },
    # ================================================================ false positives
    {
        "id": "otrf-dcsync-wec",
        "title": "Possible DCSync by WEC$ against MORDORDC (covenant_sharpsc_create_dcerpc_smb_svcctl)",
        "capture": "covenant_sharpsc_create_dcerpc_smb_svcctl", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-08-06T06:28:43.250Z", "severity": "critical",
            "rule": "Directory replication requested by a non-DC account (DCSync)",
            "title": "Possible DCSync: Replicating Directory Changes All by WEC$ from 172.18.38.6",
            "description": "Account WEC$, which is not a domain controller, requested directory replication "
                           "(DS-Replication-Get-Changes / DS-Replication-Get-Changes-All, GUIDs "
                           "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2 and 1131f6ad-9c07-11d1-f79f-00c04fc2dcd2) on the "
                           "domain naming context DC=theshire,DC=local.",
            "attack": [("T1003.006", "DCSync", "TA0006")],
            "host": {"name": "MORDORDC.theshire.local", "type_id": 1, "type": "Server"},
            "user": {"name": "WEC$", "domain": "THESHIRE", "sid": "S-1-5-21-1363495622-3806888128-621328882-1111",
                     "logon_id": "0xb33702"},
            "source": {"ip": "172.18.38.6"},
            "evidence_data": {"object": "DC=theshire,DC=local",
                              "properties": ["1131f6aa-9c07-11d1-f79f-00c04fc2dcd2", "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2"],
                              "access_mask": "0x100"},
            "source_event": security(4662, None, action="An operation was performed on an object",
                                     category=["iam"], type_=["access"], type_uid=300401,
                                     type_name="Entity Management: Read",
                                     event_data={"ObjectName": "DC=theshire,DC=local", "SubjectUserName": "WEC$",
                                                 "SubjectLogonId": "0xb33702"}),
            "data_sources": ["Security"],
        },
        "records": [
            ("MORDORDC", "Security", 311985, 4624, {"TargetLogonId": "0xb33702"}),
            ("MORDORDC", "Security", 311988, 5145, {"RelativeTargetName": "samr", "SubjectUserName": "WEC$"}),
            ("MORDORDC", "Security", 311989, 4661, {"ObjectType": "SAM_DOMAIN", "ObjectName": "DC=theshire,DC=local", "SubjectUserName": "WEC$"}),
            ("MORDORDC", "Security", 311995, 4661, {"ObjectType": "SAM_GROUP", "SubjectUserName": "WEC$"}),
            ("MORDORDC", "Security", 311998, 5145, {"RelativeTargetName": "lsarpc", "SubjectUserName": "WEC$"}),
        ],
        "absent": [("MORDORDC", "Security", 4662, {})],
        "expect": {
            "verdict": "false_positive",
            "entities": [DC, WEC], "source": [WEC],
            "must_not_cite": [PG, W6],
        },
        "why": "WEC$ (the event collector, 172.18.38.6) logged on to MORDORDC (4624 rec 311985, LogonId 0xb33702) and "
               "used only IPC$\\samr and \\lsarpc (5145 rec 311988/311998): SAM-R handles on the domain object "
               "DC=theshire,DC=local with access 0x20094 and on the Domain Admins group (4661 SAM_DOMAIN rec 311989, "
               "SAM_GROUP rec 311995). The capture has no 4662 at all -- no DS-Replication-Get-Changes(-All) right "
               "used, no DRSUAPI -- so the replication the alert claims did not happen: a SAM read labelled DCSync.",
    },
    {
        "id": "otrf-admin-share-dc",
        "title": "ADMIN$ share access on MORDORDC by WORKSTATION5$ (empire_wmic_add_user_backdoor)",
        "capture": "empire_wmic_add_user_backdoor", "lab": THESHIRE_LAB, "format": "ecs",
        "alert": {
            "time": "2020-09-14T12:06:08.108Z", "severity": "high", "rule_type": "eql",
            "rule": "Remote Administrative Share Access on a Domain Controller",
            "description": "Identifies a network logon that maps the ADMIN$ or C$ administrative share of a domain "
                           "controller from a workstation, a precursor of remote service or file-copy lateral "
                           "movement.",
            "reason": "file share \\\\*\\ADMIN$ accessed by WORKSTATION5$ from 172.18.39.5 on MORDORDC.theshire.local "
                      "created high alert Remote Administrative Share Access on a Domain Controller.",
            "attack": [("T1021.002", "SMB/Windows Admin Shares", "TA0008")],
            "parent_names": {"T1021": "Remote Services"},
            "host": {"name": "MORDORDC.theshire.local"},
            "user": {"name": "WORKSTATION5$", "domain": "THESHIRE", "sid": "S-1-5-21-4020993649-1037605423-417876593-1113"},
            "source": {"ip": "172.18.39.5", "port": 60075},
            "source_event": security(5140, 228427, action="A network share object was accessed",
                                     category=["network", "file"], type_=["access"],
                                     event_data={"ShareName": "\\\\*\\ADMIN$", "ShareLocalPath": "\\??\\C:\\Windows",
                                                 "SubjectUserName": "WORKSTATION5$", "SubjectLogonId": "0x576976",
                                                 "IpAddress": "172.18.39.5"}),
            "index": "winlogbeat-7.9.0-2020.09.14",
        },
        "records": [
            ("WORKSTATION5", SYSMON, 423450, 1, {"Image": r"C:\Windows\System32\gpupdate.exe"}),
            ("MORDORDC", "Security", 228425, 4624, {"TargetUserName": "WORKSTATION5$", "IpAddress": "172.18.39.5", "TargetLogonId": "0x576976"}),
            ("MORDORDC", "Security", 228427, 5140, {"ShareName": "\\\\*\\SYSVOL", "ShareLocalPath": "\\??\\C:\\SYSVOL\\sysvol", "SubjectLogonId": "0x576976"}),
            ("MORDORDC", "Security", 228439, 5145, {"ShareName": "\\\\*\\SYSVOL"}),
            ("WORKSTATION5", "System", 572, 1502, {}),
        ],
        "absent": [("MORDORDC", "Security", 5140, {"ShareName": "\\\\*\\ADMIN$"}),
                   ("MORDORDC", "Security", 5140, {"ShareName": "\\\\*\\C$"})],
        "expect": {
            "verdict": "false_positive",
            "entities": [DC, W5], "source": [W5],
            "must_not_cite": [PG, WD, W6],
        },
        "why": "Record 228427 -- the one the alert points at -- is a 5140 for \\\\*\\SYSVOL (local path C:\\SYSVOL\\sysvol), "
               "not ADMIN$: WORKSTATION5$ logged on from 172.18.39.5 (4624 rec 228425, LogonId 0x576976) and read "
               "the Default Domain Policy's gpt.ini, Machine folder and GptTmpl.inf (5145 rec 228428-228442), "
               "because gpupdate /target:computer had just been started by the GroupPolicy task (Sysmon 1 rec "
               "423450; System 1502 rec 572 \"new settings applied\"). The DC logged no 5140 for ADMIN$ or C$ in "
               "the capture; the share in the alert is wrong.",
    },
    {
        "id": "otrf-rdp-wec-dc",
        "title": "RDP logon to MORDORDC by WEC$ (empire_shell_rubeus_asktgt_ptt)",
        "capture": "empire_shell_rubeus_asktgt_ptt", "lab": THESHIRE_LAB, "format": "ocsf",
        "alert": {
            "time": "2020-09-22T02:39:39.954Z", "severity": "high",
            "rule": "Interactive RDP logon to a domain controller by a computer account",
            "title": "RemoteInteractive (type 10) logon to MORDORDC by WEC$ from 172.18.38.6",
            "description": "A RemoteInteractive logon (LogonType 10, Terminal Services) to a domain controller by a "
                           "machine account. Computer accounts never log on interactively; such a logon suggests "
                           "a stolen machine credential used over RDP.",
            "attack": [("T1021.001", "Remote Desktop Protocol", "TA0008"),
                       ("T1078.002", "Domain Accounts", "TA0005")],
            "host": {"name": "MORDORDC.theshire.local", "type_id": 1, "type": "Server"},
            "user": {"name": "WEC$", "domain": "THESHIRE", "sid": "S-1-5-21-4228717743-1032521047-1810997296-1111",
                     "logon_id": "0x6c7090a"},
            "source": {"ip": "172.18.38.6"},
            "destination": {"port": 3389, "service": "RDP"},
            "evidence_data": {"logon_type": 10, "logon_type_name": "RemoteInteractive",
                              "logon_process": "User32", "auth_package": "Negotiate"},
            "source_event": security(4624, 1950137, action="An account was successfully logged on",
                                     category=["authentication"], type_=["start"], type_uid=300201,
                                     type_name="Authentication: Logon",
                                     event_data={"LogonType": "10", "TargetUserName": "WEC$",
                                                 "IpAddress": "172.18.38.6", "TargetLogonId": "0x6c7090a"}),
            "data_sources": ["Security"],
        },
        "records": [
            ("MORDORDC", "Security", 1950137, 4624, {"LogonType": "3", "TargetUserName": "WEC$", "IpAddress": "172.18.38.6", "AuthenticationPackageName": "Kerberos", "TargetLogonId": "0x6c7090a"}),
            ("MORDORDC", "Security", 1950139, 5140, {"ShareName": "\\\\*\\IPC$", "SubjectLogonId": "0x6c7090a"}),
            ("MORDORDC", "Security", 1950149, 4634, {"TargetLogonId": "0x6c7090a"}),
        ],
        "absent": [("MORDORDC", "Security", 4778, {}), ("MORDORDC", "Security", 4624, {"LogonType": "10"}),
                   ("WORKSTATION", SYSMON, 3, {"DestinationPort": "3389"})],
        "expect": {
            "verdict": "false_positive",
            "entities": [DC, WEC], "source": [WEC],
            "must_not_cite": [WD, PG, W6],
        },
        "why": "The cited 4624 (rec 1950137) is LogonType 3, Kerberos, LogonProcess Kerberos, from 172.18.38.6 -- a "
               "network logon -- followed only by an IPC$ connect (5140 rec 1950139) and logoff 10 s later (4634 rec "
               "1950149, type 3). No type-10 logon, no 4778/TermService activity and no 3389 traffic exist in the "
               "capture: the event collector's routine SMB/RPC session, not RDP. The Rubeus activity by wardog on "
               "WORKSTATION6 at the same minute is unrelated to this alert.",
    },
]
