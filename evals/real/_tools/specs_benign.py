"""The benign- and false-positive real-telemetry scenarios: alerts on activity that is no attack or
that did not happen as the alert says, one dict each (the dict's shape is described in specs.py)."""

from specs_common import (
    DC,
    DC01,
    PADMIN,
    PANDALAB_LAB,
    PG,
    SYSMON,
    THESHIRE_LAB,
    W5,
    W6,
    WD,
    WEC,
    security,
    sysmon,
)

NOT_ATTACKS = [
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
